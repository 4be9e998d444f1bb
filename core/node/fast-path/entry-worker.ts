/**
 * Worker thread for large bundles: checks batches of entries of a ZIP shared
 * read-only through a SharedArrayBuffer, with the same fast-path pieces as
 * the thread that started it. See entry-pool.ts.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { checkBatch, type EntryTask } from '../entry-check';
import { entryEngine } from './engine';
import type { EntryWorkerData } from './entry-pool';

const { zip, maxXmlDepth, pieces } = workerData as EntryWorkerData;
const bytes = new Uint8Array(zip);
const engine = entryEngine(pieces);

parentPort!.on('message', (batch: EntryTask[]) => {
  parentPort!.postMessage(checkBatch(bytes, batch, maxXmlDepth, engine));
});
// The pool hands out batches only from now on (until then the main thread may take them).
parentPort!.postMessage('ready');
