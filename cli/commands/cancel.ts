import { parseArgs } from 'node:util';
import { JOB_ID_PATTERN, type JobView } from '../../core/api-schemas';
import { statusLabel } from '../../core/format';
import { EXIT, UsageError, type Command } from '../command';
import { connect, failureCode, failureLines, REMOTE_FLAGS, type RemoteDeps } from '../remote';

const HELP = `Usage: k2p-web cancel <job-id> [--profile NAME] [--api URL] [--json]

Cancels one of your jobs. A job whose conversion has not started ends
CANCELLED at once; a running one is CANCELLING while its task is stopped, and
CANCELLED once it has (follow it with \`k2p-web status <job-id> --wait\`).

Options:
  --profile <name>  a profile saved by \`k2p-web login\` (default: $K2P_WEB_PROFILE, else "default")
  --api <url>       the API's base URL (default: $K2P_API_URL, else the profile's, else the running local stack)
  --key <key>       the API key; prefer \`k2p-web login\` (default: $K2P_API_KEY, else the profile's, else the local stack's)
  --json            print one JSON object {ok, job} or {ok: false, error}
  -h, --help        show this help

Exit status: 0 the job is CANCELLED or CANCELLING, 1 no such job, the job had
already ended otherwise (JOB_ALREADY_ENDED) or the service could not be used,
2 usage error.`;

export function createCancelCommand(deps: RemoteDeps = {}): Command {
  return {
    name: 'cancel',
    summary: 'cancel a job (its task is stopped; the job ends CANCELLED)',
    help: HELP,
    async run(args, io) {
      const { values, positionals } = parseArgs({ args, options: REMOTE_FLAGS, allowPositionals: true, strict: true });
      if (positionals.length !== 1) throw new UsageError('give exactly one job id');
      const jobId = positionals[0]!;
      if (!JOB_ID_PATTERN.test(jobId)) throw new UsageError(`"${jobId}" is not a job id (8–64 letters, digits, _ or -)`);
      const connection = await connect(values, io, deps);
      try {
        const job = await connection.client.cancelJob(jobId);
        io.stdout.write(values.json ? `${JSON.stringify({ ok: true, job })}\n` : `${cancelLine(job)}\n`);
        return EXIT.ok;
      } catch (error) {
        if (values.json)
          io.stdout.write(
            `${JSON.stringify({ ok: false, jobId, error: { code: failureCode(error), message: (error as Error).message } })}\n`,
          );
        else io.stderr.write(`${failureLines(error, connection.target).join('\n')}\n`);
        return EXIT.failed;
      }
    },
  };
}

export const cancelCommand = createCancelCommand();

/** One line: the job's new state in words. */
export function cancelLine(job: JobView): string {
  if (job.status === 'CANCELLING')
    return `… ${job.jobId}: CANCELLING — ${statusLabel(job.status)}: its task is being stopped; it ends CANCELLED once it has.`;
  return `✔ ${job.jobId}: ${job.status} — ${statusLabel(job.status)}.`;
}
