/**
 * Worker thread for large bundles: checks batches of entries of a ZIP shared
 * read-only through a SharedArrayBuffer. See entry-pool.ts.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { checkBatch, type EntryTask } from './entry-check';

const { zip, maxXmlDepth } = workerData as { zip: SharedArrayBuffer; maxXmlDepth: number };
const bytes = new Uint8Array(zip);

parentPort!.on('message', (batch: EntryTask[]) => {
  parentPort!.postMessage(checkBatch(bytes, batch, maxXmlDepth));
});
// The pool hands out batches only from now on (until then the main thread may take them).
parentPort!.postMessage('ready');
