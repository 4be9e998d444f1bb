/** `k2p-web whoami`: who the API key in use belongs to (GET /me): name, kind, role and principal id; never the key. */
import { parseArgs } from 'node:util';
import type { MeResponse } from '../../core/api-schemas';
import { EXIT, UsageError, type Command } from '../command';
import { connect, EXIT_INTERRUPTED, REMOTE_FLAGS, targetLine, withInterrupt, writeFailure, type RemoteDeps } from '../remote';

const HELP = `Usage: k2p-web whoami [--profile NAME] [--api URL] [--json]

Asks the service who the API key in use belongs to: the principal's name,
kind (program for a key, person for a sign-in), role (user or admin) and id.
The key itself is never printed, only its fingerprint.

Options:
  --profile <name>  a profile saved by \`k2p-web login\` (default: $K2P_WEB_PROFILE, else "default")
  --api <url>       the API's base URL (default: $K2P_API_URL, else the profile's, else the running local stack)
  --key <key>       the API key; prefer \`k2p-web login\` (default: $K2P_API_KEY, else the profile's, else the local stack's)
  --json            print one JSON object {ok, principal: {id, name, kind, role}, api}
  -h, --help        show this help

Exit status: 0 answered, 1 the key was refused or the service could not be used, 2 usage error.`;

/** "ci-bot (program, role user)": how a principal reads in one line. */
export function describePrincipal(me: MeResponse): string {
  return `${me.name} (${me.kind}, role ${me.role})`;
}

export function createWhoamiCommand(deps: RemoteDeps = {}): Command {
  return {
    name: 'whoami',
    summary: 'show who the API key in use belongs to, and its role',
    help: HELP,
    async run(args, io) {
      const { values, positionals } = parseArgs({ args, options: REMOTE_FLAGS, allowPositionals: true, strict: true });
      if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
      const connection = await connect({ api: values.api, key: values.key, profile: values.profile }, io, deps);
      return withInterrupt(deps, async (signal) => {
        let me: MeResponse;
        try {
          me = await connection.client.me({ signal });
        } catch (error) {
          if (signal.aborted) return EXIT_INTERRUPTED;
          writeFailure(io, error, connection.target, values.json);
          return EXIT.failed;
        }
        if (values.json) io.stdout.write(`${JSON.stringify({ ok: true, principal: me, api: connection.target.apiUrl })}\n`);
        else io.stdout.write(`${describePrincipal(me)}\n  id ${me.id}\n  ${targetLine(connection.target)}\n`);
        return EXIT.ok;
      });
    },
  };
}

export const whoamiCommand = createWhoamiCommand();
