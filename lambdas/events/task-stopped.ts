/** EventBridge "ECS Task State Change" (STOPPED, our cluster): finish a CANCELLING job now that its task has stopped. */
import { eventHandler } from '../runtime/event-handler';
import { capacity, jobObjects, jobStore } from '../runtime/services';
import { onTaskStopped, type FinishCancelDeps, type TaskStoppedOutput } from '../use-cases/job-cancellation';

const deps: FinishCancelDeps = { store: jobStore(), capacity: capacity(), objects: jobObjects() };

export const handler = eventHandler<unknown, TaskStoppedOutput>(async (event) => onTaskStopped(deps, event));
