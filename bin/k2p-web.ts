#!/usr/bin/env node
/**
 * CDK app entry: reads the configuration from context, prepares the two build
 * outputs the stack packages (the bundled runner and the built web page),
 * creates the stack and runs cdk-nag on it. `npx cdk synth` / `cdk deploy`.
 */
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { configFromContext } from '../lib/config';
import { K2pWebStack } from '../lib/k2p-web-stack';
import { buildRunner } from '../runner/build';
import { buildWeb } from '../web/build';

const app = new App();
const config = configFromContext((key) => app.node.tryGetContext(key));
const stackName = String(app.node.tryGetContext('stackName') ?? 'K2pWeb');

// runner/Dockerfile copies runner/dist/runner.mjs: bundle it before the image asset is fingerprinted.
await buildRunner();
// The website construct deploys web/dist: build the page first (fast and a no-op when current).
await buildWeb();

new K2pWebStack(app, stackName, {
  config,
  description: 'k2p-web: KNIME workflows to Python (API, validation, sandboxed Fargate converter, web page)',
});

// Any finding not acknowledged by the construct that causes it (lib/nag.ts) fails the synthesis.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
