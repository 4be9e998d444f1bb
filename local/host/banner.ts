/** The start-up banner of `npm start`: where everything is, which converter runs, what the task sandbox enforces here. */
import { relative } from 'node:path';
import type { LocalStack } from './local-stack';

export function banner(stack: LocalStack, cwd = process.cwd()): string {
  const c = stack.converter;
  const version = c.version ? `knime2py ${c.version}` : 'version unknown (not read from a Python knime2py install)';
  const shown = (path: string) => {
    const near = relative(cwd, path);
    return near === '' ? '.' : near.startsWith('..') ? path : near;
  };
  const dataDir = shown(stack.dataDir);
  const found =
    c.source === 'K2P_COMMAND'
      ? `${c.display} (K2P_COMMAND)`
      : c.source === 'PATH'
        ? `${c.display} (from PATH)`
        : c.provisioned
          ? `k2p ${c.provisioned.reused ? 'provisioned earlier' : 'provisioned'} into ${shown(c.provisioned.dir)} from ${c.provisioned.from}`
          : c.display;
  const rows: [string, string][] = [
    ['Web page', stack.urls.web],
    ['Admin page', `${new URL('admin.html', stack.urls.web).href}   (sign in as admin)`],
    ['API', stack.urls.api],
    ['CLI API key', `${stack.keys.cli.value}   (principal local-user, role user; k2p-web convert finds it by itself)`],
    ['Admin API key', `${stack.keys.admin.value}   (principal local-admin, role admin)`],
    stack.keys.web
      ? ['Anonymous', `on: the page works without sign-in through its public key ${stack.keys.web.value} (in config.json)`]
      : ['Anonymous', 'off: the page asks to sign in (npm start -- --anonymous turns it on)'],
    ['Sign-in', `${stack.identity.issuer}   (local OpenID provider, client ${stack.identity.clientId})`],
    // Local-only passwords, made at first start and kept in the data dir: printed so the page can be tried at once.
    ...stack.identity.accounts.map((account, index): [string, string] => [
      index === 0 ? 'People' : '',
      `${account.login} / ${account.password}   (${account.groups.includes(stack.identity.adminGroup) ? 'role admin' : 'role user'}, ${account.email})`,
    ]),
    ['Data dir', `${dataDir}   (jobs, uploads, results, keys kept across restarts; --fresh starts clean)`],
    ['Logs', `${dataDir}/logs/   (one file per function, runner.log, api-access.log)`],
    ['Converter', `${version} — ${found}`],
  ];
  const sandbox = [
    ...stack.sandbox.enforced.map((line) => `enforced: ${line}`),
    ...stack.sandbox.notEnforced.map((line) => `NOT enforced: ${line}`),
  ];
  sandbox.forEach((line, index) => rows.push([index === 0 ? 'Sandbox' : '', line]));
  const width = Math.max(...rows.map(([k]) => k.length));
  return [
    '',
    `k2p-web local mode is running (stack ${stack.model.stackName}, from ${relative(cwd, stack.model.cdkOut) || stack.model.cdkOut})`,
    '',
    ...rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`),
    '',
    'Try it:  npx k2p-web convert test/fixtures/samples/KNIME_single_csv',
    'Stop with Ctrl-C.',
    '',
  ].join('\n');
}
