/**
 * `npm run bench`: benchmarks that print ratios against baselines measured in
 * the same run. Not tests: nothing here fails on timing.
 *   npm run bench              all benchmarks
 *   npm run bench -- validator only the validator (also: handlers, local-mode, web, workspace, stages)
 */
import { runHandlersBench } from './handlers';
import { runLocalModeBench } from './local-mode';
import { runStagesBench } from './stages';
import { runValidatorBench } from './validator';
import { runWebBench } from './web';
import { runWorkspaceBench } from './workspace';

const only = process.argv.slice(2);
const want = (name: string) => only.length === 0 || only.includes(name);

if (want('validator')) await runValidatorBench(Number(process.env.BENCH_ROUNDS ?? 5));
if (want('handlers')) await runHandlersBench();
if (want('local-mode')) await runLocalModeBench();
if (want('web')) await runWebBench();
if (want('workspace')) await runWorkspaceBench();
if (want('stages')) await runStagesBench();
