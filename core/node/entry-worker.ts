/**
 * Worker thread for large bundles: checks batches of entries of a ZIP shared
 * read-only through a SharedArrayBuffer. See entry-pool.ts.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { checkEntryData, type EntryTask } from './entry-check';

const { zip, maxXmlDepth } = workerData as { zip: SharedArrayBuffer; maxXmlDepth: number };
const bytes = new Uint8Array(zip);

parentPort!.on('message', (batch: EntryTask[]) => {
  const outcomes = [];
  for (const task of batch) {
    const outcome = checkEntryData(bytes, task, maxXmlDepth, false);
    outcomes.push(outcome);
    if (!outcome.ok) break;
  }
  parentPort!.postMessage(outcomes);
});
