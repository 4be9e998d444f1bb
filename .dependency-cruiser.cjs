/**
 * The layer graph of the repository, enforced by `npm run lint` (npm run deps:check)
 * and drawn by `npm run deps:graph` (docs/layers.mmd). Paths are relative to the
 * repository root; type-only imports count (tsPreCompilationDeps), so a cycle
 * through `import type` is a cycle too. test/unit/layers.test.ts proves every
 * rule fires on a violation and that the repository has none.
 */
const LAYERS = ['bin', 'lib', 'lambdas', 'runner', 'web', 'cli', 'local', 'bench', 'scripts', 'test'];
/** Every top-level folder but core/ and `allowed`. */
const layersBut = (...allowed) => `^(${LAYERS.filter((layer) => !allowed.includes(layer)).join('|')})/`;

/** No dependency from modules matching `from` to modules matching `to`. */
const forbid = (name, comment, from, to) => ({ name, comment, severity: 'error', from, to });

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    forbid(
      'no-circular',
      'No import cycles anywhere: every module can be read (and loaded) after what it imports.',
      {},
      { circular: true },
    ),

    // Between layers: every layer meets the others only through core/.
    forbid('core-imports-no-other-layer', 'core/ holds the contracts everything else shares.', { path: '^core/' }, { path: layersBut() }),
    forbid(
      'core-outside-node-is-browser-safe',
      'core/ is browser-safe except core/node/, so the rest of core/ never imports core/node/.',
      { path: '^core/', pathNot: '^core/node/' },
      { path: '^core/node/' },
    ),
    forbid(
      'lib-imports-core-only',
      'The CDK constructs know the handlers by their entry paths (core/service-env.ts), never by import.',
      { path: '^lib/' },
      { path: layersBut('lib') },
    ),
    forbid(
      'lambdas-import-core-only',
      'Handlers share contracts, not code, with the rest.',
      { path: '^lambdas/' },
      { path: layersBut('lambdas') },
    ),
    forbid(
      'runner-imports-core-only',
      'The Fargate image holds runner/ and core/ only.',
      { path: '^runner/' },
      { path: layersBut('runner') },
    ),
    forbid('web-imports-core-only', 'The page is built from web/ and core/ only.', { path: '^web/' }, { path: layersBut('web') }),
    forbid(
      'cli-imports-core-and-local-start-only',
      'The CLI reaches local mode only through its public start entry (local/host/start.ts).',
      { path: '^cli/' },
      { path: layersBut('cli'), pathNot: '^local/host/start\\.ts$' },
    ),
    forbid(
      'local-imports-core-and-web-build-only',
      'Local mode runs what cdk.out describes; it needs core/ and, for the page, web/build.ts.',
      { path: '^local/' },
      { path: layersBut('local', 'runner'), pathNot: '^web/build\\.ts$' },
    ),
    forbid(
      'local-never-imports-runner',
      'Local mode starts the runner as a process, like the Fargate task; they share only core/ contracts.',
      { path: '^local/' },
      { path: '^runner/' },
    ),

    // Inside lambdas/: entry points → runtime, use-cases (and storage, decisions); use-cases → storage,
    // decisions, runtime/observability; storage → decisions; decisions → core only.
    forbid(
      'entry-points-are-imported-by-nothing',
      'A handler file is deployed on its own; the step input schemas beside the step handlers are their shared contract.',
      {},
      { path: '^lambdas/(api|s3-events|schedule|steps|events|auth)/', pathNot: '^lambdas/steps/step-schemas\\.ts$' },
    ),
    forbid(
      'decisions-import-core-only',
      'Pure decisions: testable without storage, clients or plumbing.',
      { path: '^lambdas/decisions/' },
      { path: '^lambdas/', pathNot: '^lambdas/decisions/' },
    ),
    forbid(
      'decisions-import-no-aws-sdk',
      'Pure decisions call no AWS service.',
      { path: '^lambdas/decisions/' },
      { path: '(^|/node_modules/)@aws-(sdk|lambda-powertools)/' },
    ),
    forbid(
      'storage-imports-decisions-only',
      'Storage serves the use-cases; it may use pure helpers from decisions/, nothing above it.',
      { path: '^lambdas/storage/' },
      { path: '^lambdas/', pathNot: '^lambdas/(storage|decisions)/' },
    ),
    forbid(
      'use-cases-import-storage-decisions-observability',
      'What the service does, told in terms of storage and decisions; of the plumbing only logs and metrics.',
      { path: '^lambdas/use-cases/' },
      { path: '^lambdas/', pathNot: '^lambdas/(use-cases|storage|decisions)/|^lambdas/runtime/observability\\.ts$' },
    ),
    forbid(
      'runtime-is-plumbing',
      'The HTTP envelope, event handler, observability and config know nothing of the service.',
      { path: '^lambdas/runtime/', pathNot: '^lambdas/runtime/services\\.ts$' },
      { path: '^lambdas/', pathNot: '^lambdas/runtime/' },
    ),
    forbid(
      'services-build-storage-only',
      'lambdas/runtime/services.ts builds clients and stores from config; it runs no use-case.',
      { path: '^lambdas/runtime/services\\.ts$' },
      { path: '^lambdas/', pathNot: '^lambdas/(runtime|storage)/' },
    ),
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: {
      path: '^(node_modules|dist|cdk\\.out|coverage|\\.tmp|\\.k2p-local)/|^(web|runner)/dist/|^core/node/fast-path/xml-wasm/assembly/',
    },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.mts', '.d.ts', '.js', '.mjs', '.cjs', '.json'],
    },
    reporterOptions: { mermaid: { minify: false } },
  },
};
