/**
 * `k2p-web admin keys …|people|person|usage`: program keys, people's standing and usage per principal. A key's value
 * is printed only by create and rotate, alone on stdout (so it can be piped into a secret store); what goes with it
 * goes to stderr.
 */
import type { AdminKeySecretResponse } from '../../core/api-schemas';
import { keyLines, keysTable, peopleTable, personLine, usageTable } from '../admin-display';
import { EXIT, UsageError, type CliIO } from '../command';
import {
  ADMIN_FLAGS,
  confirmed,
  everyPage,
  noPositionals,
  onePositional,
  optional,
  parseFlags,
  parseKeyId,
  parsePersonRole,
  parseRole,
  rangeSubcommand,
  withAdmin,
  writeJson,
  writeList,
  YES_FLAG,
  type AdminSubcommand,
} from './admin-common';

const CACHE_NOTE = "the authorizer's cache applies it within 60 s";

/** The value alone on stdout (or the whole answer with --json); what it is, on stderr. */
function writeSecret(io: CliIO, answer: AdminKeySecretResponse, json: boolean, what: string): void {
  io.stderr.write(`${what}\n${keyLines(answer.key).join('\n')}\n  The value is shown this once (only its hash is kept): store it now.\n`);
  if (json) writeJson(io, answer);
  else io.stdout.write(`${answer.value}\n`);
}

const keysList: AdminSubcommand = {
  name: 'keys list',
  usage: 'keys list [--principal P]',
  summary: 'registered keys: name, role, state, last use, jobs in flight and today',
  details: `Lists the registered keys, newest first (never a value): key id, name, role, enabled or disabled, created,
last used, the principal's jobs in flight and conversions today, and the principal id.

  --principal <P>   only this principal's keys

--json prints {keys: [...]} (every page).`,
  async run(args, io, deps) {
    const { values, positionals } = parseFlags(args, { ...ADMIN_FLAGS, principal: { type: 'string' } });
    noPositionals(positionals);
    return withAdmin(values, io, deps, async ({ client, clock, signal }) => {
      const keys = await everyPage(
        (nextToken) =>
          client.adminListKeys({ ...optional('principalId', values.principal), ...optional('nextToken', nextToken) }, { signal }),
        (page) => page.keys,
      );
      writeList(io, values.json, 'keys', keys, (all) => keysTable(all, clock.now()), 'No keys registered.');
      return EXIT.ok;
    });
  },
};

const keysCreate: AdminSubcommand = {
  name: 'keys create',
  usage: 'keys create --name N [--role user|admin] [--principal P]',
  summary: 'a new program key: its value printed once, alone on stdout',
  details: `Creates a program key and prints its value once, alone on stdout (pipe it into a secret store or
\`k2p-web login --api <url> --profile <name>\`); its id, principal and role go to stderr. It works at once.

  --name <N>        who the key is for, e.g. ci-bot (listings, the audit trail, \`k2p-web whoami\`)
  --role <R>        user (default) or admin
  --principal <P>   give an existing program principal another key (its jobs stay its own); default: a new one

--json prints the API's {key, value} on stdout instead of the value alone.`,
  async run(args, io, deps) {
    const { values, positionals } = parseFlags(args, {
      ...ADMIN_FLAGS,
      name: { type: 'string' },
      role: { type: 'string' },
      principal: { type: 'string' },
    });
    noPositionals(positionals);
    if (values.name === undefined || values.name.trim() === '')
      throw new UsageError('--name is required: who the key is for, e.g. --name ci-bot');
    const request = { name: values.name, ...optional('role', parseRole(values.role)), ...optional('principalId', values.principal) };
    return withAdmin(values, io, deps, async ({ client, signal }) => {
      writeSecret(io, await client.adminCreateKey(request, { signal }), values.json ?? false, 'Created a key:');
      return EXIT.ok;
    });
  },
};

function keyToggle(enabled: boolean): AdminSubcommand {
  const verb = enabled ? 'enable' : 'disable';
  return {
    name: `keys ${verb}`,
    usage: `keys ${verb} <key-id>`,
    summary: enabled ? 'accept a disabled key again' : 'refuse a key (within 60 s)',
    details: `${enabled ? 'Accepts a disabled key again' : "Refuses a key: requests with it get 401 UNAUTHORIZED; its principal's jobs stay"};
${CACHE_NOTE}. Audited. The key id is the KEY ID column of \`k2p-web admin keys list\`.

--json prints the API's {key}.`,
    async run(args, io, deps) {
      const { values, positionals } = parseFlags(args, ADMIN_FLAGS);
      const keyId = parseKeyId(positionals);
      return withAdmin(values, io, deps, async ({ client, signal }) => {
        const answer = await client.adminSetKeyEnabled(keyId, enabled, { signal });
        if (values.json) writeJson(io, answer);
        else io.stdout.write(`✔ ${answer.key.name}: key ${keyId} ${verb}d; ${CACHE_NOTE}.\n`);
        return EXIT.ok;
      });
    },
  };
}

const keysRotate: AdminSubcommand = {
  name: 'keys rotate',
  usage: 'keys rotate <key-id>',
  summary: 'a new value for the same principal; the old one is refused',
  details: `Replaces a key's value: the new one is printed once, alone on stdout; the old value is refused from the next
request the authorizer has not cached. Same principal, role and jobs; the new key has a new id. Audited.

--json prints the API's {key, value} on stdout instead of the value alone.`,
  async run(args, io, deps) {
    const { values, positionals } = parseFlags(args, ADMIN_FLAGS);
    const keyId = parseKeyId(positionals);
    return withAdmin(values, io, deps, async ({ client, signal }) => {
      writeSecret(io, await client.adminRotateKey(keyId, { signal }), values.json ?? false, `Rotated key ${keyId}; its new key:`);
      return EXIT.ok;
    });
  },
};

const keysDelete: AdminSubcommand = {
  name: 'keys delete',
  usage: 'keys delete <key-id> [--yes]',
  summary: 'remove a key from the registry (asks first on a terminal)',
  details: `Removes a key from the registry: it is refused from then on (${CACHE_NOTE}); its principal's jobs stay.
Audited. On a terminal it asks first; disabling (\`keys disable\`) can be undone, deleting cannot.

  --yes             do not ask

--json prints the API's {key} as it was.`,
  async run(args, io, deps) {
    const { values, positionals } = parseFlags(args, { ...ADMIN_FLAGS, ...YES_FLAG });
    const keyId = parseKeyId(positionals);
    if (!(await confirmed(`Delete key ${keyId}? It cannot be enabled again.`, values.yes, io, deps))) return EXIT.failed;
    return withAdmin(values, io, deps, async ({ client, signal }) => {
      const answer = await client.adminDeleteKey(keyId, { signal });
      if (values.json) writeJson(io, answer);
      else io.stdout.write(`✔ ${answer.key.name}: key ${keyId} deleted; ${CACHE_NOTE}.\n`);
      return EXIT.ok;
    });
  },
};

const people: AdminSubcommand = {
  name: 'people list',
  usage: 'people [list]',
  summary: 'people whose standing an administrator has set',
  details: `Lists the people (signed-in principals) an administrator has disabled or given a role: principal id,
enabled or disabled, the role (or "from their token"), and when it was set.

--json prints {people: [...]} (every page).`,
  async run(args, io, deps) {
    const { values, positionals } = parseFlags(args, ADMIN_FLAGS);
    noPositionals(positionals);
    return withAdmin(values, io, deps, async ({ client, clock, signal }) => {
      const all = await everyPage(
        (nextToken) => client.adminListPeople(optional('nextToken', nextToken), { signal }),
        (page) => page.people,
      );
      writeList(io, values.json, 'people', all, (list) => peopleTable(list, clock.now()), 'No person has a standing set.');
      return EXIT.ok;
    });
  },
};

const person: AdminSubcommand = {
  name: 'person',
  usage: 'person <principal> [--disable|--enable] [--role user|admin|token]',
  summary: "disable or enable a person, or override their token's role",
  details: `Sets a signed-in person's standing (${CACHE_NOTE}). Audited. The principal id is what \`k2p-web whoami\`
and the OWNER column show for them (oidc:<issuer>#<sub>).

  --disable         refuse them (401) however valid their token
  --enable          accept them again
  --role <R>        user or admin: overrides the role their token's groups give; token: their token decides again

--json prints the API's {person}.`,
  async run(args, io, deps) {
    const { values, positionals } = parseFlags(args, {
      ...ADMIN_FLAGS,
      disable: { type: 'boolean' },
      enable: { type: 'boolean' },
      role: { type: 'string' },
    });
    const principalId = onePositional(positionals, 'principal id');
    if (values.disable && values.enable) throw new UsageError('--disable or --enable, not both');
    const role = parsePersonRole(values.role);
    const enabled = values.disable ? false : values.enable ? true : undefined;
    if (enabled === undefined && role === undefined) throw new UsageError('give --disable, --enable or --role user|admin|token');
    return withAdmin(values, io, deps, async ({ client, signal }) => {
      const answer = await client.adminPutPerson(principalId, { ...optional('enabled', enabled), ...optional('role', role) }, { signal });
      if (values.json) writeJson(io, { person: answer });
      else io.stdout.write(`✔ ${personLine(answer)}; ${CACHE_NOTE}.\n`);
      return EXIT.ok;
    });
  },
};

const usage = rangeSubcommand({
  name: 'usage',
  summary: 'jobs per principal over a range, with a bar each',
  details: `Shows the jobs each principal created in the range, most first: how many, succeeded, failed (or timed out),
rejected and cancelled, with a bar against the busiest principal.
--json prints the API's {since, until, principals: [{principalId, name?, kind?, jobs, …, days}]}.`,
  fetch: ({ client, signal }, range) => client.adminUsage(range, { signal }),
  text(answer, io) {
    io.stdout.write(answer.principals.length > 0 ? usageTable(answer.principals) : 'No jobs in the range.\n');
    io.stderr.write(`Jobs created ${answer.since} – ${answer.until}.\n`);
  },
});

export const ADMIN_KEY_COMMANDS: readonly AdminSubcommand[] = [
  keysList,
  keysCreate,
  keyToggle(false),
  keyToggle(true),
  keysRotate,
  keysDelete,
  people,
  person,
  usage,
];
