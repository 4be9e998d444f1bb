/**
 * Writes docs/openapi.yaml from the contracts in core/ (npm run build:openapi).
 * `--check` writes nothing and exits 1 when the committed file is stale.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { relative } from 'node:path';
import { OPENAPI_FILE, renderOpenApiYaml } from './openapi-document';

const yaml = renderOpenApiYaml();
const name = relative(process.cwd(), OPENAPI_FILE);
if (process.argv.includes('--check')) {
  const current = readFileSync(OPENAPI_FILE, 'utf8');
  if (current !== yaml) {
    console.error(`${name} is stale: run npm run build:openapi`);
    process.exit(1);
  }
  console.log(`${name} is up to date`);
} else {
  writeFileSync(OPENAPI_FILE, yaml);
  console.log(`Wrote ${name}`);
}
