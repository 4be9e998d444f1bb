/** Scheduled: end every stuck job and make the capacity ledgers match the jobs in flight. */
import { eventHandler } from '../runtime/event-handler';
import { capacity, executions, jobObjects, jobStore, limits } from '../runtime/services';
import { reap, type ReaperDeps, type ReaperSummary } from '../use-cases/reaping';

const deps: ReaperDeps = { store: jobStore(), capacity: capacity(), objects: jobObjects(), executions: executions(), limits: limits() };

export const handler = eventHandler<unknown, ReaperSummary>(async () => reap(deps));
