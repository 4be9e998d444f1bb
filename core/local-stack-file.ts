/**
 * The state file of a running local stack (`.k2p-local/stack.json` unless
 * started with another --data-dir): `npm start` writes it, the `k2p-web` CLI
 * reads it to find the local API and its key. Both parse it with this one
 * schema; every field but the informational localSandbox is required.
 * Browser-safe: no node: imports.
 */
import * as z from 'zod/mini';

/** Local mode's data directory, below the checkout (npm start) or the folder the CLI searches from. */
export const LOCAL_DATA_DIR = '.k2p-local';

/** The state file's name inside the data directory. */
export const LOCAL_STACK_FILE = 'stack.json';

export const LocalStackFileSchema = z.object({
  apiUrl: z.string(),
  webUrl: z.string(),
  cliApiKey: z.string(),
  /** The page's public key: only when the stack runs with anonymous access. */
  webApiKey: z.optional(z.string()),
  /** The key of local mode's administrator principal (role admin). */
  adminApiKey: z.optional(z.string()),
  /** The process running the stack: a file whose process is gone is stale. */
  pid: z.int(),
  /** What the runner's sandbox enforces on this machine, and what it does not (local mode only). */
  localSandbox: z.optional(z.object({ enforced: z.array(z.string()), notEnforced: z.array(z.string()) })),
});
export type LocalStackFile = z.infer<typeof LocalStackFileSchema>;
