/**
 * The layer graph of the repository, enforced by `npm run lint` (npm run deps:check)
 * and drawn by `npm run deps:graph` (docs/layers.mmd). Paths are relative to the
 * repository root; type-only imports count (tsPreCompilationDeps), so a cycle
 * through `import type` is a cycle too. test/unit/layers.test.ts proves every
 * rule fires on a violation and that the repository has none.
 */
const ENTRY_POINTS = '^lambdas/(api|s3-events|schedule|steps)/';
const layersBut = (...allowed) =>
  `^(${['bin', 'lib', 'lambdas', 'runner', 'web', 'cli', 'local', 'bench', 'scripts', 'test'].filter((l) => !allowed.includes(l)).join('|')})/`;

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'No import cycles anywhere: every module can be understood (and loaded) after what it imports.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },

    // Between layers: every layer meets the others only through core/.
    {
      name: 'core-imports-no-other-layer',
      comment: 'core/ holds the contracts everything else shares; it depends on none of them.',
      severity: 'error',
      from: { path: '^core/' },
      to: { path: layersBut() },
    },
    {
      name: 'core-outside-node-is-browser-safe',
      comment: 'core/ is browser-safe except core/node/, so nothing else in core/ may import core/node/.',
      severity: 'error',
      from: { path: '^core/', pathNot: '^core/node/' },
      to: { path: '^core/node/' },
    },
    {
      name: 'lib-imports-core-only',
      comment: 'The CDK constructs know the handlers by their entry paths (core/service-env.ts), never by import.',
      severity: 'error',
      from: { path: '^lib/' },
      to: { path: layersBut('lib') },
    },
    {
      name: 'lambdas-import-core-only',
      severity: 'error',
      from: { path: '^lambdas/' },
      to: { path: layersBut('lambdas') },
    },
    {
      name: 'runner-imports-core-only',
      severity: 'error',
      from: { path: '^runner/' },
      to: { path: layersBut('runner') },
    },
    {
      name: 'web-imports-core-only',
      severity: 'error',
      from: { path: '^web/' },
      to: { path: layersBut('web') },
    },
    {
      name: 'cli-imports-core-and-local-start-only',
      comment: 'The CLI reaches local mode only through its public start entry.',
      severity: 'error',
      from: { path: '^cli/' },
      to: { path: layersBut('cli'), pathNot: '^local/start\\.ts$' },
    },
    {
      name: 'local-imports-core-and-web-build-only',
      comment: 'Local mode runs what cdk.out describes; it needs core/ and, for the page, web/build.ts.',
      severity: 'error',
      from: { path: '^local/' },
      to: { path: layersBut('local', 'runner'), pathNot: '^web/build\\.ts$' },
    },
    // Enabled when local/ stops importing runner/ (the Fargate-task stand-in still reads runner/'s argv and config).
    // {
    //   name: 'local-never-imports-runner',
    //   comment: 'Local mode runs the runner as a process, like the Fargate task; it shares only core/ contracts with it.',
    //   severity: 'error',
    //   from: { path: '^local/' },
    //   to: { path: '^runner/' },
    // },

    // Inside lambdas/: entry points → runtime, use-cases (and storage, decisions); use-cases → storage,
    // decisions, runtime/observability; storage → decisions; decisions → core only.
    {
      name: 'entry-points-are-imported-by-nothing',
      comment: 'A handler file is deployed on its own; the step input schemas beside the step handlers are their shared contract.',
      severity: 'error',
      from: {},
      to: { path: ENTRY_POINTS, pathNot: '^lambdas/steps/step-schemas\\.ts$' },
    },
    {
      name: 'decisions-import-core-only',
      comment: 'Pure decisions: testable without storage, clients or plumbing.',
      severity: 'error',
      from: { path: '^lambdas/decisions/' },
      to: { path: '^lambdas/', pathNot: '^lambdas/decisions/' },
    },
    {
      name: 'decisions-import-no-aws-sdk',
      severity: 'error',
      from: { path: '^lambdas/decisions/' },
      to: { path: '(^|/node_modules/)@aws-(sdk|lambda-powertools)/' },
    },
    {
      name: 'storage-imports-decisions-only',
      comment: 'Storage serves the use-cases; it may use pure helpers from decisions/, nothing above it.',
      severity: 'error',
      from: { path: '^lambdas/storage/' },
      to: { path: '^lambdas/', pathNot: '^lambdas/(storage|decisions)/' },
    },
    {
      name: 'use-cases-import-storage-decisions-observability',
      severity: 'error',
      from: { path: '^lambdas/use-cases/' },
      to: { path: '^lambdas/', pathNot: '^lambdas/(use-cases|storage|decisions)/|^lambdas/runtime/observability\\.ts$' },
    },
    {
      name: 'runtime-is-plumbing',
      comment: 'The HTTP envelope, event handler, observability and config know nothing of the service.',
      severity: 'error',
      from: { path: '^lambdas/runtime/', pathNot: '^lambdas/runtime/services\\.ts$' },
      to: { path: '^lambdas/', pathNot: '^lambdas/runtime/' },
    },
    {
      name: 'services-build-storage-only',
      comment: 'runtime/services.ts builds clients and stores from config; it runs no use-case.',
      severity: 'error',
      from: { path: '^lambdas/runtime/services\\.ts$' },
      to: { path: '^lambdas/', pathNot: '^lambdas/(runtime|storage)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|dist|cdk\\.out|coverage|\\.tmp|\\.k2p-local)/|^(web|runner)/dist/|^core/xml-wasm/assembly/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.mts', '.d.ts', '.js', '.mjs', '.cjs', '.json'],
    },
    reporterOptions: {
      mermaid: { minify: false },
    },
  },
};
