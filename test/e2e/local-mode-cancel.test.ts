/**
 * Cancel end to end against local mode, with the knime2py CONTRACT DOUBLE as
 * the converter (it can sleep, or hang ignoring SIGTERM, on demand; the real
 * knime2py cannot): a job cancelled while QUEUED never starts its task; one
 * cancelled (or deleted) while RUNNING stays CANCELLING, holding its capacity
 * slot, until the runner and converter processes are gone (frozen, they last
 * until ECS's SIGKILL after the stop timeout), then ends CANCELLED (DELETED)
 * and frees the slot; a cancel racing the natural end leaves exactly one
 * terminal state; `k2p-web cancel` prints the state.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCancelCommand } from '../../cli/commands/cancel';
import { ApiError } from '../../core/api-client';
import type { JobView } from '../../core/api-schemas';
import { uploadToPresignedPost } from '../../core/node/upload';
import { descendants, isAlive, processesWithEnv } from '../../local/host/processes';
import { TASK_MARKER_ENV } from '../../local/stand-ins/ecs-task/task-runner';
import { captureIO } from '../support/cli-io';
import { bundleWithMode, E2E_SERVICE_LIMITS, startE2e, type E2e } from './support';

let e2e: E2e;

/** SIGTERM → SIGKILL of a stopped task: long enough to watch the slot held while a task that ignores SIGTERM still runs. */
const STOP_TIMEOUT_SECONDS = 8;

beforeAll(async () => {
  e2e = await startE2e(undefined, { taskStopTimeoutSeconds: STOP_TIMEOUT_SECONDS });
}, 600_000);

afterAll(async () => {
  await e2e?.close();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function uploaded(mode: string, name: string): Promise<string> {
  const { job, upload } = await e2e.client.createJob({ filename: name });
  await uploadToPresignedPost(upload!, bundleWithMode(mode));
  return job.jobId;
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 30_000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** The job's task, once the contract double runs in it: the task's pid, every process of its tree, its marker. */
async function runningConverter(jobId: string): Promise<{ pids: number[]; taskId: string }> {
  return waitFor(`the converter of ${jobId}`, () => {
    const task = e2e.stack.tasks().find((t) => t.jobId === jobId);
    if (!task) return undefined;
    const tree = [task.pid, ...descendants(task.pid)];
    const converter = tree.some((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('k2p-double.mjs');
      } catch {
        return false;
      }
    });
    return converter ? { pids: tree, taskId: task.taskArn.split('/').pop()! } : undefined;
  });
}

/**
 * Freezes every process of the task (SIGSTOP): it cannot react to SIGTERM, like a task stuck in I/O, so only ECS's
 * SIGKILL after the stop timeout ends it. That makes the time the cancelled task still runs long and certain.
 */
function freeze(task: { pids: number[] }): void {
  for (const pid of task.pids) process.kill(pid, 'SIGSTOP');
}

const processesLeft = (task: { pids: number[]; taskId: string }) => [
  ...task.pids.filter(isAlive),
  ...processesWithEnv(TASK_MARKER_ENV, task.taskId).filter(isAlive),
];

/** The limit that binds first for one key, and the code that refuses beyond it. */
const binding =
  E2E_SERVICE_LIMITS.perPrincipalInFlight <= E2E_SERVICE_LIMITS.globalInFlight
    ? { limit: E2E_SERVICE_LIMITS.perPrincipalInFlight, code: 'RATE_LIMITED', status: 429 }
    : { limit: E2E_SERVICE_LIMITS.globalInFlight, code: 'SERVER_BUSY', status: 503 };

/** POST /jobs once, without the client's capacity retries: the job id, or the refusal. */
async function tryCreate(): Promise<{ jobId?: string; refused?: ApiError }> {
  try {
    return { jobId: (await e2e.client.createJob({ filename: 'filler.zip' })).job.jobId };
  } catch (error) {
    if (error instanceof ApiError) return { refused: error };
    throw error;
  }
}

/** Takes every free slot with jobs awaiting their upload; returns them (to delete afterwards). */
async function fillCapacity(): Promise<string[]> {
  const fillers: string[] = [];
  for (let i = 0; i <= binding.limit; i++) {
    const { jobId, refused } = await tryCreate();
    if (refused) {
      expect([refused.status, refused.code]).toEqual([binding.status, binding.code]);
      return fillers;
    }
    fillers.push(jobId!);
  }
  throw new Error(`admitted more than ${binding.limit} jobs`);
}

/**
 * While any process of the task is alive, the job stays CANCELLING and a new POST /jobs is refused: the slot is
 * not free. Once they are gone, the job ends `finalStatus` and POST /jobs succeeds. Returns how often the held
 * slot was seen.
 */
async function expectSlotHeldUntilGone(
  jobId: string,
  task: { pids: number[]; taskId: string },
  finalStatus: string,
  fillers: string[],
  cancelledAt: number,
) {
  let heldWhileAlive = 0;
  let admittedInLoop = false;
  while (processesLeft(task).length > 0) {
    const { jobId: admitted, refused } = await tryCreate();
    const alive = processesLeft(task).length > 0;
    if (admitted) {
      fillers.push(admitted);
      // Admission may only succeed once every process is gone.
      expect(alive, 'a new job was admitted while the cancelled task still ran').toBe(false);
      admittedInLoop = true;
      break;
    }
    expect(refused!.code).toBe(binding.code);
    const job = await e2e.client.getJob(jobId);
    if (processesLeft(task).length > 0) {
      expect(job.status).toBe('CANCELLING');
      heldWhileAlive++;
    }
  }
  expect(heldWhileAlive, 'the processes were never seen alive after the cancel').toBeGreaterThan(0);
  // They lived until ECS's SIGKILL (the stop timeout), the slot held all the while.
  expect(Date.now() - cancelledAt).toBeGreaterThan((STOP_TIMEOUT_SECONDS - 1) * 1000);
  // The slot frees when the task-stopped function has run: on a loaded machine its first (asynchronous) attempt may
  // time out, and Lambda's retry comes a minute later — as in AWS.
  // The freed slot may already have gone to the loop's last attempt; otherwise wait for it.
  if (!admittedInLoop) {
    let last = '';
    const admitted = await waitFor(
      'a free slot',
      async () => {
        const { jobId: id, refused } = await tryCreate();
        if (refused) last = `${refused.code} (${refused.message}); job ${(await e2e.client.getJob(jobId)).status}`;
        return id;
      },
      SLOT_FREED_WITHIN_MS,
      250,
    ).catch((error: Error) => {
      throw new Error(`${error.message}; last refusal: ${last}`);
    });
    fillers.push(admitted);
  }
  // The stand-in reports the task stopped (and drops it) only after cleaning up, which may trail the processes' end.
  expect(e2e.stack.tasks().find((t) => t.jobId === jobId)).toBeUndefined();
  const job = await e2e.client.getJob(jobId);
  expect([job.status, job.terminal]).toEqual([finalStatus, true]);
  return heldWhileAlive;
}

async function deleteAll(ids: string[]): Promise<void> {
  await Promise.all(ids.splice(0).map((id) => e2e.client.deleteJob(id)));
}

/** The job once terminal; a CANCELLING job ends when task-stopped has run, which may take Lambda's retry a minute later. */
async function terminal(jobId: string, timeoutMs = SLOT_FREED_WITHIN_MS): Promise<JobView> {
  return waitFor(
    `${jobId} to end`,
    async () => {
      const job = await e2e.client.getJob(jobId);
      return job.terminal ? job : undefined;
    },
    timeoutMs,
  );
}

/** How long the slot may take to free once the task's processes are gone: one asynchronous retry of task-stopped. */
const SLOT_FREED_WITHIN_MS = 100_000;

/** QUEUED lasts from validation to PrepareRun (tens of milliseconds once warm): a job is caught there within a few tries. */
const MAX_QUEUED_ATTEMPTS = 20;

describe('cancel (contract double)', () => {
  // First in the file: PrepareRun's first invocation is a cold start, which keeps a job QUEUED long enough to meet.
  it('cancelled while QUEUED: CANCELLED at once, and its task never starts (contract double sleeping)', async () => {
    let hit: JobView | undefined;
    let attempts = 0;
    let stoppedBeforeTask = 0;
    for (let attempt = 0; attempt < MAX_QUEUED_ATTEMPTS && !hit; attempt++) {
      attempts++;
      const jobId = await uploaded('sleep-5000', `queued-${attempt}.zip`);
      const queued = await waitFor(
        'the job to leave validation',
        async () => {
          const job = await e2e.client.getJob(jobId);
          return job.status === 'AWAITING_UPLOAD' || job.status === 'VALIDATING' ? undefined : job;
        },
        30_000,
        1,
      );
      const answer = await e2e.client.cancelJob(jobId);
      const done = await terminal(jobId);
      expect(done.status).toBe('CANCELLED');
      if (answer.status === 'CANCELLING') {
        // PrepareRun got there first and the task was requested: the cancel met RUNNING and stopped the task.
        continue;
      }
      expect(answer.status).toBe('CANCELLED');
      if (done.startedAt === undefined) {
        // Never RUNNING: PrepareRun lost the race, so no task could start.
        expect(queued.status).toBe('QUEUED');
        expect(done.queuedAt).toBeDefined();
        hit = done;
      } else {
        // RUNNING, but the execution was stopped before it asked for the task: none exists, so CANCELLED at once.
        stoppedBeforeTask++;
      }
    }
    expect(hit, `never caught a job QUEUED in ${MAX_QUEUED_ATTEMPTS} attempts`).toBeDefined();
    console.log(
      `cancel while QUEUED (contract double): caught QUEUED after ${attempts} attempt(s); ${stoppedBeforeTask} met RUNNING before the task was requested`,
    );
    await sleep(500);
    expect(e2e.stack.tasks().find((t) => t.jobId === hit!.jobId)).toBeUndefined();
    expect((await e2e.client.getJob(hit!.jobId)).status).toBe('CANCELLED');
  }, 400_000);

  it('cancelled while RUNNING: CANCELLING until the runner and converter are gone (SIGKILL after the stop timeout), then CANCELLED; the slot is freed only then (contract double hanging)', async () => {
    const jobId = await uploaded('hang', 'running.zip');
    const task = await runningConverter(jobId);
    const fillers = await fillCapacity();
    try {
      freeze(task);
      const cancelledAt = Date.now();
      const answer = await e2e.client.cancelJob(jobId);
      expect([answer.status, answer.terminal]).toEqual(['CANCELLING', false]);
      expect((await e2e.client.cancelJob(jobId)).status).toBe('CANCELLING');
      await expectSlotHeldUntilGone(jobId, task, 'CANCELLED', fillers, cancelledAt);
      expect(processesLeft(task)).toEqual([]);
      expect((await e2e.client.cancelJob(jobId)).status).toBe('CANCELLED');
    } finally {
      await deleteAll(fillers);
    }
  }, 240_000);

  it('DELETE of a RUNNING job: 202 CANCELLING, DELETED once the task has stopped, the slot not freed early (contract double hanging)', async () => {
    const jobId = await uploaded('hang', 'deleted-running.zip');
    const task = await runningConverter(jobId);
    const fillers = await fillCapacity();
    try {
      freeze(task);
      const cancelledAt = Date.now();
      const answer = await e2e.client.deleteJob(jobId);
      expect(answer.status).toBe('CANCELLING');
      await expectSlotHeldUntilGone(jobId, task, 'DELETED', fillers, cancelledAt);
    } finally {
      await deleteAll(fillers);
    }
  }, 240_000);

  it('a cancel racing the natural end leaves exactly one terminal state (contract double sleeping, repeated)', async () => {
    const outcomes: string[] = [];
    // From well before the converter's end to well after it, through the moments it finishes and is recorded.
    for (const delayMs of [300, 900, 1200, 1500, 1800, 2200, 2800, 8000]) {
      const jobId = await uploaded('sleep-700', `race-${delayMs}.zip`);
      await runningConverter(jobId);
      await sleep(delayMs);
      let answer: string;
      try {
        answer = (await e2e.client.cancelJob(jobId)).status;
      } catch (error) {
        if (!(error instanceof ApiError) || error.code !== 'JOB_ALREADY_ENDED') throw error;
        answer = `409 ${String(error.details?.status)}`;
      }
      let done = await waitFor(
        `${jobId} to end`,
        async () => {
          const job = await e2e.client.getJob(jobId);
          return job.terminal ? job : undefined;
        },
        15_000,
      ).catch(() => undefined);
      if (!done) {
        // The cancel landed after the task stopped but before RecordOutcome: the reaper finishes it past the cancel deadline.
        const later = 10 * 60_000;
        e2e.stack.clock.advance(later);
        try {
          await e2e.stack.triggerReaper();
        } finally {
          e2e.stack.clock.advance(-later);
        }
        done = await terminal(jobId);
      }
      expect(['SUCCEEDED', 'CANCELLED']).toContain(done.status);
      if (answer.startsWith('409')) expect([answer, done.status]).toEqual(['409 SUCCEEDED', 'SUCCEEDED']);
      else expect(done.status).toBe('CANCELLED');
      await sleep(300);
      // Exactly one terminal state: it never changes afterwards.
      expect((await e2e.client.getJob(jobId)).status).toBe(done.status);
      expect(e2e.stack.tasks().find((t) => t.jobId === jobId)).toBeUndefined();
      outcomes.push(`${delayMs} ms: ${answer} → ${done.status}`);
    }
    console.log(`cancel racing the natural end (contract double): ${outcomes.join('; ')}`);
    // Both sides of the race were really met: cancelled while running, and too late after the end.
    expect(outcomes.some((o) => o.endsWith('→ CANCELLED'))).toBe(true);
    expect(outcomes.some((o) => o.endsWith('→ SUCCEEDED'))).toBe(true);
    // Every slot is free again: as many jobs as the binding limit can be admitted.
    const fillers = await fillCapacity();
    expect(fillers).toHaveLength(binding.limit);
    await deleteAll(fillers);
  }, 300_000);
});

describe('k2p-web cancel (contract double)', () => {
  /** Runs the real command against the local stack; its exit code and what it printed. */
  async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    const c = captureIO();
    const code = await createCancelCommand().run([...args, '--api', e2e.stack.urls.api, '--key', e2e.stack.keys.cli.value], c.io);
    return { code, stdout: c.stdout(), stderr: c.stderr() };
  }

  it('prints the state and exits 0 on CANCELLED or CANCELLING, non-zero with the message on 404 and 409', async () => {
    const { job } = await e2e.client.createJob({ filename: 'cli.zip' });
    const first = await cli([job.jobId]);
    expect([first.code, first.stdout]).toEqual([0, `✔ ${job.jobId}: CANCELLED — Cancelled.\n`]);
    expect((await cli([job.jobId])).code).toBe(0);

    const running = await uploaded('hang', 'cli-running.zip');
    await runningConverter(running);
    const stopping = await cli([running, '--json']);
    expect(stopping.code).toBe(0);
    expect(JSON.parse(stopping.stdout)).toMatchObject({ ok: true, job: { jobId: running, status: 'CANCELLING' } });
    expect((await terminal(running)).status).toBe('CANCELLED');

    const missing = await cli(['nosuchjob12345']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('NOT_FOUND');

    const done = await uploaded('sleep-0', 'cli-done.zip');
    expect((await terminal(done)).status).toBe('SUCCEEDED');
    const ended = await cli([done]);
    expect(ended.code).toBe(1);
    expect(ended.stderr).toContain('JOB_ALREADY_ENDED');
    expect(ended.stderr).toContain('SUCCEEDED');
  }, 120_000);
});
