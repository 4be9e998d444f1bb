#!/usr/bin/env node
/**
 * PROBE CONTRACT DOUBLE of knime2py's `k2p` CLI — FOR TESTS ONLY, never a converter.
 *
 * Run as K2P_COMMAND inside local mode's task sandbox, it reports what a
 * converter can see and do from inside (on stderr, as one `PROBE {json}` line,
 * then exits 1 so the runner keeps that line in report.json's stderrTail).
 * The real converter cannot be made to report its sandbox, hog memory or fill
 * its disk on demand. Mode from the env var PROBE_MODE:
 *   observe  user, capabilities, env names, writes outside/inside scratch, connections to PROBE_PORTS
 *   hog      allocate memory until killed (the task's memory limit)
 *   fill     write a file under --out until the disk is full (the task's ephemeral storage)
 *   hang     ignore SIGTERM and sleep (the task's stop semantics)
 */
import { closeSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';

const mode = process.env.PROBE_MODE ?? 'observe';
const out = process.argv[process.argv.indexOf('--out') + 1];

function report(observed) {
  process.stderr.write(`PROBE ${JSON.stringify(observed)}\n`);
  process.exit(1);
}

function tryWrite(file) {
  try {
    writeFileSync(file, 'x');
    return 'written';
  } catch (error) {
    return error.code ?? String(error);
  }
}

function tryConnect(port) {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port: Number(port) });
    const done = (result) => {
      socket.destroy();
      resolve(result);
    };
    socket.once('connect', () => done('connected'));
    socket.once('error', (error) => done(error.code ?? String(error)));
    setTimeout(() => done('timeout'), 3000);
  });
}

if (mode === 'hang') {
  process.on('SIGTERM', () => {});
  setInterval(() => {}, 1000);
} else if (mode === 'hog') {
  const held = [];
  for (let i = 0; i < 256; i++) held.push(Buffer.alloc(16 * 1024 * 1024, i));
  report({ hogged: held.length * 16 });
} else if (mode === 'fill') {
  const fd = openSync(join(out, 'fill.bin'), 'w');
  const chunk = Buffer.alloc(1024 * 1024, 7);
  let written = 0;
  try {
    for (let i = 0; i < 4096; i++) written += writeSync(fd, chunk);
    report({ filled: written });
  } catch (error) {
    process.stderr.write(`fill stopped after ${written} bytes: ${error.code}\n`);
    report({ filled: written, error: error.code });
  } finally {
    closeSync(fd);
  }
} else {
  const status = Object.fromEntries(
    readFileSync('/proc/self/status', 'utf8')
      .split('\n')
      .filter((line) => /^(Cap|NoNewPrivs)/.test(line))
      .map((line) => line.split(/:\s*/)),
  );
  const connections = {};
  for (const port of (process.env.PROBE_PORTS ?? '').split(',').filter(Boolean)) connections[port] = await tryConnect(port);
  report({
    uid: process.getuid(),
    gid: process.getgid(),
    status,
    envNames: Object.keys(process.env).sort(),
    homeWrite: tryWrite(join(process.env.HOME ?? '/', 'probe')),
    writes: {
      root: tryWrite('/probe'),
      tmp: tryWrite('/tmp/probe'),
      usr: tryWrite('/usr/probe'),
      self: tryWrite(process.argv[1]),
      out: tryWrite(join(out, 'probe')),
    },
    connections,
  });
}
