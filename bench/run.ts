/**
 * `npm run bench`: benchmarks that print ratios against baselines measured in
 * the same run. Not tests: nothing here fails on timing.
 *   npm run bench              all benchmarks
 *   npm run bench -- validator only the validator (also: handlers)
 */
import { runHandlersBench } from './handlers';
import { runValidatorBench } from './validator';

const only = process.argv.slice(2);
const want = (name: string) => only.length === 0 || only.includes(name);

if (want("validator")) runValidatorBench(Number(process.env.BENCH_ROUNDS ?? 5));
if (want('handlers')) await runHandlersBench();
