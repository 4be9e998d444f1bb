import { rm, stat, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { buildBundle, type BundleResult, type BundlerError } from '../../core/bundler';
import { formatBytes } from '../../core/format';
import { ERRORS, isErrorCode } from '../../core/errors';
import { bundleLimitsFromEnv, type BundleLimits } from '../../core/limits';
import { openBundleSource, type OpenedSource } from '../../core/node/bundle-source';
import { validateBundleFile } from '../../core/node/validate-bundle';
import type { BundleStats, Manifest, ManifestWarning } from '../../core/types';
import { ZipReadError } from '../../core/zip-read';
import { EXIT, UsageError, type CliIO, type Command } from '../command';

const PRIVACY_NOTE =
  'Privacy: settings.xml files can hold local file paths, server names and secrets. ' +
  'Check the manifest (--manifest) before you upload the bundle; data files are never included.';

export const bundleCommand: Command = {
  name: 'bundle',
  summary: 'build a clean bundle ZIP (workflow.knime + settings.xml files) from a workflow folder or .knwf export',
  help: `Usage: k2p-web bundle <folder|.knwf|.zip> -o <bundle.zip> [--manifest <manifest.json>] [--root <path>] [--json]

Finds the workflow (the top-most workflow.knime) in a workflow folder, a parent
folder, or a .knwf/.zip export, follows every node's settings reference
(metanodes and components too) and writes a bundle holding only workflow.knime
and the settings.xml files it needs: no data, no tables. The bundle is checked
with the service's own validator before the command succeeds. The same input
always gives a byte-identical bundle.

Options:
  -o, --output <file>    where to write the bundle ZIP (required)
  --manifest <file>      also write the manifest as JSON (also when bundling fails)
  --root <path>          the workflow folder to bundle, relative to the input,
                         when the input holds several workflows
  --json                 print one JSON object {ok, input, output?, manifest,
                         errors?, bundle?} instead of the summary
  -h, --help             show this help

Warnings name files, nodes and settings keys, never settings values.
Limits are the service defaults; override them with the service's environment
variables (e.g. LIMIT_MAX_ENTRIES, LIMIT_MAX_UPLOAD_BYTES).

Exit status: 0 bundle written, 1 the workflow cannot be bundled (the reason is
on stderr), 2 usage error.`,

  async run(args, io) {
    const options = parseOptions(args);
    const limits = bundleLimitsFromEnv(io.env);
    const input = resolve(io.cwd, options.input);
    const output = resolve(io.cwd, options.output);
    if (input === output) throw new UsageError('the output would overwrite the input; choose another -o file');
    const result = await bundleInput(options.input, input, options.root, limits, io);
    if (!result) return EXIT.failed;
    if (options.manifest !== undefined) await writeJson(resolve(io.cwd, options.manifest), result.manifest);
    if (!result.ok) {
      report(io, options, { ok: false, input: options.input, manifest: result.manifest, errors: result.errors });
      printErrors(io, options.input, result.errors, options.root === undefined);
      return EXIT.failed;
    }
    await writeFile(output, result.zip);
    const verdict = await validateBundleFile(output, limits);
    if (!verdict.ok) {
      // The bundler and the validator share their rules: a rejected bundle is a bug, never the user's fault.
      await rm(output, { force: true });
      io.stderr.write(
        `k2p-web bundle: BUG: the bundle built from ${options.input} fails validation (${verdict.code}: ${verdict.message}). ` +
          'It was not kept; please report this with the workflow.\n',
      );
      return EXIT.failed;
    }
    report(io, options, { ok: true, input: options.input, output: options.output, manifest: result.manifest, bundle: verdict.stats });
    return EXIT.ok;
  },
};

interface BundleOptions {
  input: string;
  output: string;
  manifest?: string;
  root?: string;
  json: boolean;
}

function parseOptions(args: string[]): BundleOptions {
  const { values, positionals } = parseArgs({
    args,
    options: {
      output: { type: 'string', short: 'o' },
      manifest: { type: 'string' },
      root: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
    allowPositionals: true,
    strict: true,
  });
  if (positionals.length !== 1) throw new UsageError('give exactly one workflow folder, .knwf or .zip to bundle');
  if (values.output === undefined || values.output === '') throw new UsageError('say where to write the bundle with -o <bundle.zip>');
  return {
    input: positionals[0]!,
    output: values.output,
    ...(values.manifest !== undefined ? { manifest: values.manifest } : {}),
    ...(values.root !== undefined ? { root: values.root } : {}),
    json: values.json ?? false,
  };
}

/** Opens the input and runs the bundler; undefined (after printing why) when the archive itself cannot be read. */
async function bundleInput(
  given: string,
  input: string,
  root: string | undefined,
  limits: BundleLimits,
  io: CliIO,
): Promise<BundleResult | undefined> {
  let source: OpenedSource;
  try {
    await stat(input);
  } catch {
    throw new UsageError(`cannot find ${given}`);
  }
  try {
    source = await openBundleSource(input, { limits });
  } catch (error) {
    if (!(error instanceof ZipReadError)) throw error;
    printErrors(io, given, [{ code: error.code, message: error.message }], true);
    return undefined;
  }
  try {
    return await buildBundle(source.files, { limits, sourceName: source.name, ...(root !== undefined ? { root } : {}) });
  } finally {
    await source.close();
  }
}

async function writeJson(path: string, value: unknown): Promise<void> {
  await writeFile(path, `${JSON.stringify(value, null, 2)}\n`);
}

interface Report {
  ok: boolean;
  input: string;
  output?: string;
  manifest: Manifest;
  errors?: BundlerError[];
  bundle?: BundleStats;
}

function report(io: CliIO, options: BundleOptions, result: Report): void {
  if (options.json) io.stdout.write(`${JSON.stringify({ ...result, privacyNote: PRIVACY_NOTE })}\n`);
  else io.stdout.write(summary(result));
}

function summary(result: Report): string {
  const { manifest } = result;
  const lines = [`Source    ${result.input}`];
  if (manifest.roots) lines.push(`Workflows ${manifest.roots.map((r) => (r === '' ? '.' : r)).join(', ')}`);
  // Before a root is chosen there is nothing to count.
  if (manifest.files.length > 0) lines.push(...totalsLines(manifest));
  if (manifest.warnings.length > 0) {
    lines.push('', `Warnings (${manifest.warnings.length})`);
    for (const warning of manifest.warnings) lines.push(`  ! ${describeWarning(warning)}`);
  }
  lines.push('', PRIVACY_NOTE);
  if (result.ok && result.bundle) {
    const b = result.bundle;
    lines.push(
      '',
      `✔ Wrote ${result.output} — ${b.files} files, ${formatBytes(b.zipBytes)}, sha256 ${b.sha256}; it passes \`k2p-web validate\`.`,
    );
  }
  return `${lines.join('\n')}\n`;
}

function totalsLines(manifest: Manifest): string[] {
  const t = manifest.totals;
  const workflows = manifest.files.filter((f) => f.present && f.path.endsWith('workflow.knime')).length;
  const nested = workflows > 1 ? `, ${workflows - 1} nested workflow${workflows > 2 ? 's' : ''}` : '';
  const lines = [
    `Workflow  ${manifest.workflowName}`,
    `Root      ${manifest.root === '' ? '(top of the source)' : manifest.root}`,
    `Files     ${t.present} to bundle (${formatBytes(t.bytes)})${nested}, ${t.missing} missing`,
    `Nodes     ${t.nodes}`,
    `Skipped   ${t.skipped} file${t.skipped === 1 ? '' : 's'} not needed in a bundle (data, tables, views, …)`,
  ];
  for (const file of manifest.files.filter((f) => !f.present)) lines.push(`Missing   ${file.path}`);
  return lines;
}

function describeWarning(warning: ManifestWarning): string {
  return `${warning.kind}: ${warning.message}`;
}

/** Errors go to stderr with what to do about them. */
function printErrors(io: CliIO, input: string, errors: BundlerError[], suggestRoot: boolean): void {
  io.stderr.write(`k2p-web bundle: cannot bundle ${input}:\n`);
  for (const error of errors) {
    io.stderr.write(`  ✖ ${error.code}: ${error.message}\n`);
    const hint = hintFor(error, suggestRoot);
    if (hint) io.stderr.write(`    what to do: ${hint}\n`);
  }
}

function hintFor(error: BundlerError, suggestRoot: boolean): string | undefined {
  if (error.code === 'SEVERAL_ROOTS' && suggestRoot) return 'pick one with --root <folder>, a path relative to the input.';
  if (error.code === 'SOURCE_UNREADABLE') return 'check that the file exists and that you may read it.';
  // The service's hints for these point at `k2p-web bundle` itself; here the workflow on disk is what needs fixing.
  if (error.code === 'SETTINGS_MISSING')
    return 'copy the node folder back from the original workflow, or export the workflow again from KNIME.';
  if (error.code === 'WORKFLOW_MISSING') return 'give the folder that holds workflow.knime (or a folder above it), or a .knwf export.';
  if (isErrorCode(error.code)) return ERRORS[error.code].hint;
  return undefined;
}
