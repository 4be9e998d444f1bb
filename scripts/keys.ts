/**
 * Operator CLI for the key registry, straight on the table (the admin API and
 * `k2p-web admin keys` do the same over HTTP, audited): creates a key (printed
 * once, stored only as its hash; it counts against the Programs usage plan, no
 * API Gateway step needed), registers an existing value read from stdin
 * (migration of API Gateway keys: principal id = the old key id, and
 * --api-gateway-key-id keeps the key in its own usage plan), links a key to an
 * API Gateway key of another plan, and disables or enables a key by its hash.
 * The table is the stack output KeyTableName (--table or K2P_KEY_TABLE); AWS
 * credentials and region come from the usual AWS SDK environment.
 *
 *   npm run keys -- create --name ci-bot --role user
 *   npm run keys -- register --name alice --principal-id <api key id> --api-gateway-key-id <api key id> < value.txt
 *   npm run keys -- link --hash <sha256 hex> --api-gateway-key-id <api key id>
 *   npm run keys -- disable --hash <sha256 hex>
 *   npm run keys -- person --principal-id 'oidc:<issuer>#<sub>' --disable | --enable | --role admin | --role token
 */
import { randomUUID } from 'node:crypto';
import { text } from 'node:stream/consumers';
import { parseArgs } from 'node:util';
import { generateApiKey, hashApiKey } from '../core/node/api-key';
import { PRINCIPAL_KINDS, ROLES, type PrincipalKind, type PrincipalRole } from '../core/principal';
import { createDocumentClient } from '../lambdas/storage/dynamodb-client';
import { KeyRegistry } from '../lambdas/storage/key-registry';

const USAGE = `usage: npm run keys -- <create|register|link|disable|enable|person> [options]
  create    --name N [--role user|admin] [--kind program|person] [--principal-id ID]   prints the new key once
  register  --name N --principal-id ID [--role] [--kind] [--api-gateway-key-id K]      reads the key value from stdin
  link      --hash H --api-gateway-key-id K|none   the value is also API Gateway key K (its own usage plan); none: the Programs plan
  disable   --hash H        enable --hash H
  person    --principal-id ID [--disable|--enable] [--role user|admin|token]   a signed-in person's standing
              (overrides their token within 60 s; --role token goes back to the role their groups give)
  common    --table T (default: $K2P_KEY_TABLE, the stack output KeyTableName)`;

async function main(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      name: { type: 'string' },
      role: { type: 'string', default: 'user' },
      kind: { type: 'string', default: 'program' },
      'principal-id': { type: 'string' },
      hash: { type: 'string' },
      'api-gateway-key-id': { type: 'string' },
      disable: { type: 'boolean' },
      enable: { type: 'boolean' },
      table: { type: 'string' },
    },
  });
  const command = positionals[0];
  const table = values.table ?? process.env.K2P_KEY_TABLE;
  if (!command || !table) {
    console.error(USAGE);
    return 2;
  }
  const registry = new KeyRegistry(createDocumentClient(), table);

  if (command === 'disable' || command === 'enable') {
    if (!values.hash) throw new Error('--hash is required');
    if (!(await registry.setEnabled(values.hash, command === 'enable'))) throw new Error('No key with that hash is registered.');
    console.error(`${command}d; the authorizer's cache lets it work for at most another 60 s.`);
    return 0;
  }
  if (command === 'link') {
    const gatewayKey = values['api-gateway-key-id'];
    if (!values.hash || !gatewayKey) throw new Error('link needs --hash and --api-gateway-key-id (or none)');
    if (!(await registry.setApiGatewayKeyId(values.hash, gatewayKey === 'none' ? null : gatewayKey))) {
      throw new Error('No key with that hash is registered.');
    }
    console.error(`linked; the authorizer's cache applies it within 60 s.`);
    return 0;
  }
  if (command === 'person') {
    const principalId = values['principal-id'];
    if (!principalId) throw new Error('person needs --principal-id (GET /me shows it; people: oidc:<issuer>#<sub>)');
    if (values.disable && values.enable) throw new Error('--disable or --enable, not both');
    // --role defaults to 'user' for keys; for a person only an explicit --role changes anything.
    const roleGiven = argv.some((arg) => arg === '--role' || arg.startsWith('--role='));
    if (roleGiven && values.role !== 'token' && !ROLES.includes(values.role as PrincipalRole)) {
      throw new Error(`--role must be one of ${ROLES.join(', ')}, token`);
    }
    const enabled = values.disable ? false : values.enable ? true : undefined;
    const role = !roleGiven ? undefined : values.role === 'token' ? null : (values.role as PrincipalRole);
    if (enabled === undefined && role === undefined) throw new Error('person needs --disable, --enable or --role');
    await registry.setStanding(
      principalId,
      { ...(enabled !== undefined ? { enabled } : {}), ...(role !== undefined ? { role } : {}) },
      new Date().toISOString(),
    );
    const standing = await registry.standingOf(principalId);
    console.error(
      `${principalId}: ${standing?.enabled ? 'enabled' : 'disabled'}, role ${standing?.role ?? 'from their token'}; the authorizer's cache applies it within 60 s.`,
    );
    return 0;
  }
  if (command !== 'create' && command !== 'register') {
    console.error(USAGE);
    return 2;
  }
  if (!values.name) throw new Error('--name is required');
  if (!ROLES.includes(values.role as PrincipalRole)) throw new Error(`--role must be one of ${ROLES.join(', ')}`);
  if (!PRINCIPAL_KINDS.includes(values.kind as PrincipalKind)) throw new Error(`--kind must be one of ${PRINCIPAL_KINDS.join(', ')}`);
  if (command === 'register' && !values['principal-id']) throw new Error('register needs --principal-id (for an API Gateway key: its id)');
  const value = command === 'create' ? generateApiKey() : (await text(process.stdin)).trim();
  if (!value) throw new Error('No key value on stdin.');
  const principalId = values['principal-id'] ?? randomUUID();
  const entry = {
    principalId,
    name: values.name,
    kind: values.kind as PrincipalKind,
    role: values.role as PrincipalRole,
    enabled: true,
    createdAt: new Date().toISOString(),
    ...(values['api-gateway-key-id'] ? { apiGatewayKeyId: values['api-gateway-key-id'] } : {}),
  };
  if (!(await registry.register(value, entry))) throw new Error('That key value is registered already.');
  console.error(`registered: principal ${principalId} (${entry.name}, ${entry.kind}, ${entry.role}), key hash ${hashApiKey(value)}`);
  // The value goes to stdout alone, once, so it can be piped into a secret store.
  if (command === 'create') console.log(value);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: Error) => {
    console.error(`keys: ${error.message}`);
    process.exit(1);
  },
);
