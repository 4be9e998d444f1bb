/**
 * The one Node.js major of everything that runs in AWS: the Lambda runtime,
 * the Node binary of the runner image, and the esbuild target of both bundles
 * (lib/defaults.ts, lib/conversion.ts, runner/build.ts, bench/handlers.ts).
 * CI runs the bundle, runner and validator suites under this major as well as
 * under the development floor (scripts/node-major.ts). What runs on users'
 * machines (the CLI, local mode) has its own floor: package.json `engines`.
 *
 * Node 24: both Lambda (nodejs24.x) and the official node image support it,
 * and its support lasts a year longer than Node 22's (April 2028 vs April 2027).
 */
export const SERVICE_NODE_MAJOR = 24;

/** esbuild target of the Lambda handler bundles and the runner bundle. */
export const SERVICE_ESBUILD_TARGET = `node${SERVICE_NODE_MAJOR}`;

/** The official image the runner image copies its Node binary from (runner/Dockerfile's NODE_IMAGE build arg). */
export const RUNNER_NODE_IMAGE = `node:${SERVICE_NODE_MAJOR}-bookworm-slim`;

/** The Lambda runtime name of {@link SERVICE_NODE_MAJOR}, as CloudFormation spells it. */
export const LAMBDA_RUNTIME_NAME = `nodejs${SERVICE_NODE_MAJOR}.x`;
