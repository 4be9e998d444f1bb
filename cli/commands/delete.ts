import { parseArgs } from 'node:util';
import type { ApiClient } from '../../core/api-client';
import { JOB_ID_PATTERN, type JobView } from '../../core/api-schemas';
import { EXIT, UsageError, type CliIO, type Command } from '../command';
import { connect, EXIT_INTERRUPTED, failureCode, failureLines, REMOTE_FLAGS, withInterrupt, type RemoteDeps } from '../remote';

const HELP = `Usage: k2p-web delete <job-id>... [--profile NAME] [--api URL] [--json]

Deletes jobs of yours: the bundle, the result and the report are removed
and each job ends DELETED (deleting again is harmless). A running job is
cancelled first: it shows CANCELLING and is deleted once its task has
stopped. Prints each job's resulting state.

Options:
  --profile <name>  a profile saved by \`k2p-web login\` (default: $K2P_WEB_PROFILE, else "default")
  --api <url>       the API's base URL (default: $K2P_API_URL, else the profile's, else the running local stack)
  --key <key>       the API key; prefer \`k2p-web login\` (default: $K2P_API_KEY, else the profile's, else the local stack's)
  --json            print one JSON object per job {ok, jobId, job?, error?}, one per line
  -h, --help        show this help

Exit status: 0 every job was deleted, 1 one could not be (no such job, the
service could not be used), 2 usage error, 130 interrupted.`;

/** The command's action on one job: the job as the service answers afterwards. */
export type JobAction = (client: ApiClient, jobId: string, signal: AbortSignal) => Promise<JobView>;

/**
 * Runs `action` on each job id in turn and prints one line per job (or one
 * JSON object per line); the exit status is 1 when any of them failed.
 */
export async function eachJob(
  ids: readonly string[],
  flags: { api?: string; key?: string; profile?: string; json: boolean },
  io: CliIO,
  deps: RemoteDeps,
  action: JobAction,
): Promise<number> {
  for (const id of ids) if (!JOB_ID_PATTERN.test(id)) throw new UsageError(`"${id}" is not a job id (8–64 letters, digits, _ or -)`);
  const connection = await connect(flags, io, deps);
  return withInterrupt(deps, async (signal) => {
    let failed = false;
    for (const jobId of ids) {
      try {
        const job = await action(connection.client, jobId, signal);
        if (flags.json) io.stdout.write(`${JSON.stringify({ ok: true, jobId, job })}\n`);
        else io.stdout.write(`${jobId}  ${job.status}\n`);
      } catch (error) {
        if (signal.aborted) return EXIT_INTERRUPTED;
        failed = true;
        if (flags.json)
          io.stdout.write(
            `${JSON.stringify({ ok: false, jobId, error: { code: failureCode(error), message: (error as Error).message } })}\n`,
          );
        else io.stderr.write(`${jobId}: ${failureLines(error, connection.target).join('\n')}\n`);
      }
    }
    return failed ? EXIT.failed : EXIT.ok;
  });
}

export function createDeleteCommand(deps: RemoteDeps = {}): Command {
  return {
    name: 'delete',
    summary: 'delete jobs: their bundle, result and report are removed',
    help: HELP,
    async run(args, io) {
      const { values, positionals } = parseArgs({ args, options: { ...REMOTE_FLAGS }, allowPositionals: true, strict: true });
      if (positionals.length === 0) throw new UsageError('give the id of at least one job to delete');
      return eachJob(
        positionals,
        { api: values.api, key: values.key, profile: values.profile, json: values.json ?? false },
        io,
        deps,
        (client, jobId, signal) => client.deleteJob(jobId, { signal }),
      );
    },
  };
}

export const deleteCommand = createDeleteCommand();
