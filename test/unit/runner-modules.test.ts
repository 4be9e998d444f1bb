import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unzipSync } from 'fflate';
import { afterAll, describe, expect, it } from 'vitest';
import type { ComponentSummary, ConversionReport } from '../../core/types';
import { DEFAULT_VERSION_COMMAND, splitCommand } from '../../core/runner-contract';
import { ConfigError, readConfig, safeWorkflowName } from '../../runner/config';
import { converterArgv, converterEnv, type ConverterRun } from '../../runner/convert';
import { boundLog, headTailCollector, omissionMarker, renderJobLog, scrubSecrets } from '../../runner/job-log';
import { redactUrl } from '../../runner/log';
import { renderReadme, requiredPackages } from '../../runner/readme';
import { archivedReport, summarize } from '../../runner/report';
import { buildZip } from '../../runner/result-zip';
import { scratchRewriter } from '../../runner/rewrite';
import { converterError } from '../../runner/runner';
import { parseSummary } from '../../runner/summary';
import { createWorkspace, writeBundleFiles, type Workspace } from '../../runner/workspace';

const scratch = mkdtempSync(join(tmpdir(), 'k2p-runner-unit-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const baseEnv = {
  JOB_ID: 'job-0001',
  INPUT_URL: 'https://bucket.s3.amazonaws.com/bundles/job-0001/bundle.zip?X-Amz-Signature=abc',
  INPUT_SHA256: 'a'.repeat(64),
  RESULT_URL: 'https://bucket.s3.amazonaws.com/results/job-0001/result.zip?X-Amz-Signature=def',
  REPORT_URL: 'https://bucket.s3.amazonaws.com/results/job-0001/report.json?X-Amz-Signature=ghi',
  LOG_URL: 'https://bucket.s3.amazonaws.com/results/job-0001/log.txt?X-Amz-Signature=jkl',
  WORKFLOW_NAME: 'My Flow',
};

describe('splitCommand', () => {
  it('splits like a shell without expanding anything', () => {
    expect(splitCommand('k2p')).toEqual(['k2p']);
    expect(splitCommand(`  node  "/path with space/k2p.mjs" --x='a b' \\$HOME `)).toEqual([
      'node',
      '/path with space/k2p.mjs',
      '--x=a b',
      '$HOME',
    ]);
    expect(splitCommand(DEFAULT_VERSION_COMMAND)).toEqual([
      'python3',
      '-c',
      "import importlib.metadata as m; print(m.version('knime2py'))",
    ]);
    expect(splitCommand(`a "" b`)).toEqual(['a', '', 'b']);
  });

  it('rejects an unterminated quote', () => {
    expect(() => splitCommand('k2p "oops')).toThrow(/Unterminated/);
  });
});

describe('safeWorkflowName', () => {
  it('keeps ordinary KNIME names', () => {
    expect(safeWorkflowName('KNIME_PP_2022_LR')).toBe('KNIME_PP_2022_LR');
    expect(safeWorkflowName('_synthetic_nested')).toBe('_synthetic_nested');
    expect(safeWorkflowName('Über Flow (v2)')).toBe('Über Flow (v2)');
  });

  it('turns separators, traversal and control characters into a single safe segment', () => {
    expect(safeWorkflowName('../../etc/passwd')).toBe('_.._etc_passwd');
    expect(safeWorkflowName('a/b\\c\u0000d')).toBe('a_b_c_d');
    expect(safeWorkflowName('--out')).toBe('out');
    expect(safeWorkflowName('..')).toBe('workflow');
    expect(safeWorkflowName(undefined)).toBe('workflow');
    expect(Buffer.byteLength(safeWorkflowName('é'.repeat(200)))).toBeLessThanOrEqual(120);
  });
});

describe('readConfig', () => {
  it('reads the environment with the documented defaults', () => {
    const config = readConfig(baseEnv);
    expect(config).toMatchObject({
      jobId: 'job-0001',
      workflowName: 'My Flow',
      options: { workbook: 'both', graph: 'both' },
      command: ['k2p'],
      scratchDir: '/scratch',
      converterImage: null,
      killGraceMs: 5000,
    });
    expect(config.serviceLimits.converterTimeoutSeconds).toBe(300);
    expect(config.bundleLimits.maxUploadBytes).toBe(50 * 1024 * 1024);
  });

  it('lists every problem at once', () => {
    try {
      readConfig({
        ...baseEnv,
        INPUT_URL: 'file:///etc/passwd',
        INPUT_SHA256: 'xyz',
        K2P_GRAPH: 'png',
        LIMIT_CONVERTER_TIMEOUT_SECONDS: '-1',
        JOB_ID: '',
      });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).problems).toHaveLength(5);
    }
  });
});

describe('converter argv and environment', () => {
  const ws = {
    root: '/s/run-1',
    realRoot: '/s/run-1',
    inputDir: '/s/run-1/in',
    workflowDir: '/s/run-1/in/Flow',
    outDir: '/s/run-1/out',
    tmpDir: '/s/run-1/tmp',
    homeDir: '/s/run-1/home',
  };

  it('passes the workflow folder and --out, and a flag only for a single format', () => {
    expect(converterArgv(['k2p'], ws, { workbook: 'both', graph: 'both' })).toEqual(['k2p', '/s/run-1/in/Flow', '--out', '/s/run-1/out']);
    expect(converterArgv(['node', 'k.mjs'], ws, { workbook: 'py', graph: 'off' })).toEqual([
      'node',
      'k.mjs',
      '/s/run-1/in/Flow',
      '--out',
      '/s/run-1/out',
      '--workbook',
      'py',
      '--graph',
      'off',
    ]);
  });

  it('never hands the presigned URLs, limits or AWS variables to the converter', () => {
    const env = converterEnv(
      {
        ...baseEnv,
        PATH: '/usr/bin',
        LIMIT_MAX_OUTPUT_BYTES: '1',
        AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: '/x',
        TMPDIR: '/tmp',
        PYTHONPATH: '/app',
      },
      ws,
    );
    expect(env).toEqual({
      PATH: '/usr/bin',
      PYTHONPATH: '/app',
      TMPDIR: '/s/run-1/tmp',
      HOME: '/s/run-1/home',
      PYTHONDONTWRITEBYTECODE: '1',
    });
  });
});

describe('converterError', () => {
  const config = readConfig({ ...baseEnv, LIMIT_CONVERTER_TIMEOUT_SECONDS: '7', LIMIT_MAX_OUTPUT_BYTES: '1000' });
  const run = (over: Partial<ConverterRun>): ConverterRun => ({
    argv: [],
    exitCode: 0,
    signal: null,
    stdout: '',
    stdoutBytes: 0,
    stderrTail: '',
    stderrBytes: 0,
    durationMs: 1,
    ...over,
  });

  it.each([
    [2, 'CONVERTER_INPUT_ERROR'],
    [3, 'CONVERTER_PARSE_ERROR'],
    [4, 'CONVERTER_NO_NODES'],
    [1, 'CONVERTER_FAILED'],
    [137, 'CONVERTER_FAILED'],
  ])('maps exit code %i to %s', (exitCode, code) => {
    expect(converterError(run({ exitCode }), config)?.code).toBe(code);
  });

  it('maps the runner stopping the converter', () => {
    expect(converterError(run({ exitCode: null, signal: 'SIGKILL', stopped: 'timeout' }), config)?.toInfo()).toMatchObject({
      code: 'CONVERTER_TIMEOUT',
      details: { timeoutSeconds: 7 },
    });
    expect(converterError(run({ stopped: 'stdout-limit' }), config)?.code).toBe('CONVERTER_FAILED');
    expect(converterError(run({ stopped: 'output-limit' }), config)?.message).toContain('1000 bytes');
    expect(converterError(run({ exitCode: null, signal: 'SIGSEGV' }), config)?.message).toContain('SIGSEGV');
    expect(converterError(run({ exitCode: null, spawnError: 'ENOENT' }), config)?.code).toBe('RUNNER_FAILED');
    expect(converterError(run({ exitCode: 0 }), config)).toBeUndefined();
  });
});

describe('workspace', () => {
  it('writes accepted files under the workflow folder and refuses escaping paths', async () => {
    const ws = await createWorkspace(scratch, 'Flow');
    await writeBundleFiles(
      ws.workflowDir,
      new Map([
        ['workflow.knime', Buffer.from('<x/>')],
        ['A (#1)/settings.xml', Buffer.from('<y/>')],
      ]),
    );
    for (const bad of ['../x/settings.xml', '/abs/settings.xml', 'a\\..\\settings.xml']) {
      await expect(writeBundleFiles(ws.workflowDir, new Map([[bad, Buffer.from('')]]))).rejects.toThrow(/Refusing/);
    }
    // O_EXCL: an existing file (or planted symlink) is never overwritten.
    await expect(writeBundleFiles(ws.workflowDir, new Map([['workflow.knime', Buffer.from('')]]))).rejects.toThrow(/EEXIST/);
  });
});

describe('scratchRewriter', () => {
  const ws: Workspace = {
    root: '/scratch/run-Ab12Cd',
    realRoot: '/private/scratch/run-Ab12Cd',
    inputDir: '',
    workflowDir: '',
    outDir: '',
    tmpDir: '',
    homeDir: '',
  };
  const rewriter = scratchRewriter(ws);

  it('rewrites the run directory to the workflow folder name and --out to nothing', () => {
    expect(rewriter.text('# Source:   /scratch/run-Ab12Cd/in/Flow/workflow.knime')).toBe('# Source:   Flow/workflow.knime');
    expect(rewriter.text('"json": "/private/scratch/run-Ab12Cd/out/Flow__g01.json"')).toBe('"json": "Flow__g01.json"');
    expect(rewriter.text('cwd /scratch/run-Ab12Cd; tmp /scratch/run-Ab12Cd/tmp/x')).toBe('cwd .; tmp tmp/x');
    expect(rewriter.leaks(rewriter.text('/scratch/run-Ab12Cd/in/Flow'))).toBe(false);
  });

  it('leaves user paths alone, even under /scratch or /tmp', () => {
    const text = 'Path(r"/scratch/data.csv") Path(r"/tmp/x.csv") /Users/vitaly/a.csv';
    expect(rewriter.text(text)).toBe(text);
  });

  it('detects a spelling it could not rewrite', () => {
    expect(rewriter.leaks('file:///scratch%2Frun-Ab12Cd')).toBe(true);
  });
});

describe('parseSummary', () => {
  const where = { cwd: '/s/run-1', outDirs: ['/s/run-1/out'] };
  const component = {
    workflow_id: 'F__g01',
    json: '/s/run-1/out/F__g01.json',
    dot: null,
    workbook_py: '/s/run-1/out/F__g01_workbook.py',
    workbook_ipynb: '/s/run-1/out/F__g01_workbook.ipynb',
    nodes: 2,
    edges: 1,
    idle: 0,
    not_implemented_count: 1,
    not_implemented_names: ['Line Plot (x)'],
  };
  const written = new Set(['F__g01.json', 'F__g01_workbook.py', 'F__g01_workbook.ipynb']);
  const stdout = (c: object) => JSON.stringify({ workflow: '/s/run-1/in/F/workflow.knime', total_components: 1, components: [c] });

  it('makes paths relative to --out and skips formats that were not written', () => {
    expect(parseSummary(stdout(component), where, written)).toEqual([
      {
        workflowId: 'F__g01',
        nodes: 2,
        edges: 1,
        idle: 0,
        notImplementedCount: 1,
        notImplementedNames: ['Line Plot (x)'],
        files: { json: 'F__g01.json', workbookPy: 'F__g01_workbook.py', workbookIpynb: 'F__g01_workbook.ipynb' },
      },
    ]);
  });

  it('rejects output that is not a summary, or that points outside --out or at missing files', () => {
    expect(() => parseSummary('Traceback (most recent call last)', where, written)).toThrow(/no JSON summary/);
    expect(() => parseSummary(JSON.stringify({ workflow: 'x' }), where, written)).toThrow(/shape/);
    expect(() => parseSummary(stdout({ ...component, json: '/etc/passwd' }), where, written)).toThrow(/outside/);
    expect(() => parseSummary(stdout({ ...component, json: '/s/run-1/out/../in/F/workflow.knime' }), where, written)).toThrow(/outside/);
    expect(() => parseSummary(stdout({ ...component, dot: '/s/run-1/out/F__g01.dot' }), where, written)).toThrow(/did not write/);
  });
});

describe('buildZip', () => {
  const entries = [
    { name: 'README.md', data: Buffer.from('# hi\n') },
    { name: 'report.json', data: Buffer.from('{}\n') },
    { name: 'F__g01.json', data: Buffer.from('{"a":1}') },
  ];

  it('is byte-identical for the same entries, in the given order, with the DOS-epoch timestamp', () => {
    const zip = buildZip(entries);
    expect(Buffer.from(buildZip(entries)).equals(Buffer.from(zip))).toBe(true);
    expect(Object.keys(unzipSync(zip))).toEqual(['README.md', 'report.json', 'F__g01.json']);
    // Local header of the first entry: time at offset 10, date at offset 12 (1980-01-01 00:00:00).
    const view = new DataView(zip.buffer, zip.byteOffset);
    expect(view.getUint32(0, true)).toBe(0x04034b50);
    expect(view.getUint16(10, true)).toBe(0);
    expect(view.getUint16(12, true)).toBe((1 << 5) | 1);
  });

  it('refuses duplicate names', () => {
    expect(() => buildZip([entries[0]!, entries[0]!])).toThrow(/Duplicate/);
  });
});

describe('README and report', () => {
  const component: ComponentSummary = {
    workflowId: 'F__g01',
    nodes: 3,
    edges: 2,
    idle: 1,
    notImplementedCount: 1,
    notImplementedNames: ['Line Plot (org.knime.base.views.node.lineplot.LinePlotNodeFactory)'],
    files: { workbookPy: 'F__g01_workbook.py', workbookIpynb: 'F__g01_workbook.ipynb', json: 'F__g01.json' },
  };

  it('lists the pip packages the generated code imports', () => {
    const py = Buffer.from(
      'from pathlib import Path\nimport pandas as pd\nfrom sklearn.metrics import auc\nimport matplotlib.pyplot as plt\n# import nothing\n',
    );
    const nb = Buffer.from(
      JSON.stringify({
        cells: [
          { cell_type: 'code', source: ['from imblearn.over_sampling import SMOTE\n'] },
          { cell_type: 'markdown', source: 'import fake' },
        ],
      }),
    );
    expect(
      requiredPackages([
        { name: 'a.py', data: py },
        { name: 'a.ipynb', data: nb },
        { name: 'a.json', data: py },
      ]),
    ).toEqual(['imbalanced-learn', 'matplotlib', 'pandas', 'scikit-learn']);
  });

  it('tells how to run the code and which nodes were not converted', () => {
    const readme = renderReadme({
      workflow: 'F',
      converterVersion: '0.1.11',
      components: [component],
      packages: ['pandas', 'scikit-learn'],
    });
    expect(readme).toContain('knime2py 0.1.11');
    expect(readme).toContain('Python 3.11');
    expect(readme).toContain('pip install pandas scikit-learn');
    expect(readme).toContain('python F__g01_workbook.py');
    expect(readme).toContain('- Line Plot (org.knime.base.views.node.lineplot.LinePlotNodeFactory)');
    expect(readme).toContain('1 node was IDLE');
  });

  it('keeps run-specific fields out of the archived report', () => {
    const report: ConversionReport = {
      schemaVersion: 1,
      jobId: 'job-1',
      workflow: 'F',
      inputSha256: 'a'.repeat(64),
      outcome: 'SUCCEEDED',
      exitCode: 0,
      converter: { command: 'k2p', version: '0.1.11', image: 'img' },
      options: { workbook: 'both', graph: 'both' },
      components: [component],
      summary: summarize([component], ['README.md'], 1234),
      stderrTail: 'warning at 12:00:01',
      durationsMs: { download: 1, validate: 2, convert: 3, package: 4, total: 10 },
      startedAt: '2026-01-01T00:00:00.000Z',
      finishedAt: '2026-01-01T00:00:01.000Z',
    };
    const archived = archivedReport(report);
    expect(Object.keys(archived)).not.toEqual(expect.arrayContaining(['jobId']));
    for (const key of ['jobId', 'startedAt', 'finishedAt', 'durationsMs', 'stderrTail']) expect(archived).not.toHaveProperty(key);
    expect(archived.summary).not.toHaveProperty('resultBytes');
    expect(archived.summary).toMatchObject({ components: 1, nodes: 3, notImplemented: 1 });
  });
});

describe('redactUrl', () => {
  it('drops the query that carries the signature', () => {
    expect(redactUrl(baseEnv.INPUT_URL)).toBe('https://bucket.s3.amazonaws.com/bundles/job-0001/bundle.zip');
    expect(redactUrl('not a url')).toBe('<invalid url>');
  });
});

describe('job log (log.txt)', () => {
  it('keeps a log that fits as it is, and cuts a longer one to exactly the bound, head and tail around a marker', () => {
    expect(boundLog('short\n', 100)).toBe('short\n');
    const long = `${'a'.repeat(5000)}${'b'.repeat(5000)}`;
    const bounded = boundLog(long, 1000);
    expect(Buffer.byteLength(bounded)).toBeLessThanOrEqual(1000);
    expect(Buffer.byteLength(bounded)).toBeGreaterThan(990);
    const [head, tail] = bounded.split(/\n… \[k2p-web: \d+ bytes of the log left out here\] …\n/);
    expect(head).toMatch(/^a+$/);
    expect(tail).toMatch(/^b+$/);
    const left = Number(/(\d+) bytes of the log left out/.exec(bounded)![1]);
    expect(head!.length + tail!.length + left).toBe(long.length);
  });

  it('never cuts a UTF-8 character in half', () => {
    const bounded = boundLog('é'.repeat(3000), 1001);
    expect(bounded).not.toContain('\uFFFD');
    expect(Buffer.byteLength(bounded)).toBeLessThanOrEqual(1001);
  });

  it('collects a stream’s head and tail and counts what it left out', () => {
    const collector = headTailCollector(10);
    for (const chunk of ['01234', '56789', 'abcde', 'fghij', 'KLMNO']) collector.push(chunk);
    expect(collector.total()).toBe(25);
    expect(collector.text()).toBe(`01234${omissionMarker(15)}KLMNO`);
    const small = headTailCollector(10);
    small.push('0123456');
    expect(small.text()).toBe('0123456');
  });

  it('scrubs presigned queries, X-Amz parameters, Authorization and x-api-key values and AWS keys, and nothing else', () => {
    const cases: [string, string][] = [
      [
        'GET https://b.s3.eu-central-1.amazonaws.com/results/j/log.txt?X-Amz-Signature=abc&x=1 200',
        'GET https://b.s3.eu-central-1.amazonaws.com/results/j/log.txt?<redacted> 200',
      ],
      [
        'field X-Amz-Security-Token=IQoJb3JpZ2luX2VjE and X-Amz-Credential: ASIA/20250506',
        'field X-Amz-Security-Token=<redacted> and X-Amz-Credential: <redacted>',
      ],
      ['Authorization: Bearer eyJhbGciOi.abc.def', 'Authorization: <redacted>'],
      ['{"x-api-key": "k2p-live-1234"}', '{"x-api-key": "<redacted>"}'],
      ['aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', 'aws_secret_access_key = <redacted>'],
      ['id AKIAIOSFODNN7EXAMPLE and ASIAY34FZKBOKMUTVV7A.', 'id <redacted AWS key id> and <redacted AWS key id>.'],
      ['Processed 12 nodes in /tmp, see https://knime.com/docs', 'Processed 12 nodes in /tmp, see https://knime.com/docs'],
    ];
    for (const [input, expected] of cases) expect(scrubSecrets(input)).toBe(expected);
  });

  it('renders the sections, rewrites scratch paths first and scrubs before bounding', () => {
    const log = Buffer.from(
      renderJobLog(
        {
          jobId: 'job-0001',
          workflowName: 'My Flow',
          argv: ['k2p', '/scratch/run-abc123/in/My Flow', '--out', '/scratch/run-abc123/out'],
          stderr: 'warning: AKIAIOSFODNN7EXAMPLE\n',
          stderrBytes: 30,
          stdout: '{"workflow": "/scratch/run-abc123/in/My Flow/workflow.knime"}',
          stdoutBytes: 60,
          ending: 'exited with code 0 after 12 ms',
          runner: '{"message":"job finished"}\n',
        },
        (text) => text.replaceAll('/scratch/run-abc123/in/', '').replaceAll('/scratch/run-abc123/out', '.'),
      ),
    ).toString('utf8');
    expect(log).toBe(
      [
        'k2p-web conversion log: job job-0001, workflow My Flow',
        "$ k2p 'My Flow' --out .",
        '== knime2py stderr (30 bytes) ==',
        'warning: <redacted AWS key id>',
        '== knime2py stdout (60 bytes) ==',
        '{"workflow": "My Flow/workflow.knime"}',
        '== knime2py exited with code 0 after 12 ms ==',
        '== runner ==',
        '{"message":"job finished"}',
        '',
      ].join('\n'),
    );
    const unrun = Buffer.from(renderJobLog({ jobId: 'j', workflowName: 'w', runner: 'x' })).toString('utf8');
    expect(unrun).toContain('== knime2py did not run ==');
  });
});
