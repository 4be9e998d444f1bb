import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkXml, type XmlResult, type XmlScanOptions } from '../../core/xml';
import { wasmXmlFastPath } from '../../core/node/fast-path/xml-wasm';
import { XML_SCANNER_WASM } from '../../core/node/fast-path/xml-wasm/scanner-binary';
import { compileXmlScanner } from '../../scripts/build-xml-wasm';
import { bundleFiles, SAMPLES_DIR } from '../support/samples';

const enc = new TextEncoder();

/** checkXml with the fast path, plus what the fast path itself answered (undefined: not asked). */
function withFastPath(bytes: Uint8Array, options: XmlScanOptions = {}): { fast: boolean | undefined; verdict: XmlResult } {
  let fast: boolean | undefined;
  const verdict = checkXml(bytes, {
    ...options,
    fastPath: { accepts: (...args) => (fast = wasmXmlFastPath.accepts(...args)) },
  });
  return { fast, verdict };
}

/** The fast path may only accept what the JavaScript scanner accepts, and never changes a verdict or its message. */
function expectSound(bytes: Uint8Array, options: XmlScanOptions = {}): boolean | undefined {
  const { fast, verdict } = withFastPath(bytes, options);
  const reference = checkXml(bytes, options);
  const text = JSON.stringify(new TextDecoder().decode(bytes));
  if (fast) expect(reference, `fast path accepted ${text}`).toEqual({ ok: true });
  expect(verdict, text).toEqual(reference);
  return fast;
}

describe('WebAssembly XML fast path', () => {
  it('is built from its AssemblyScript source (run `npm run build:wasm` after editing it)', async () => {
    const binary = await compileXmlScanner();
    expect(Buffer.from(binary).toString('base64')).toBe(XML_SCANNER_WASM);
  }, 60_000);

  it('accepts every XML file of the samples itself (the validator never falls back on them)', () => {
    const files = bundleFiles(SAMPLES_DIR);
    expect(files.size).toBeGreaterThan(50);
    for (const [file, bytes] of files) expect(expectSound(bytes), file).toBe(true);
  });

  it.each([
    ['<a/>'],
    ['\uFEFF<?xml version="1.0" encoding="UTF-8"?>\n<config key="x">\n  <entry key="k" type="xstring" value="v"/>\n</config>\n'],
    ["<a b='1' c=\"2\" d = '3'>t&amp;x&#65;&#x42;&lt;&gt;&quot;&apos;</a>"],
    ['<a b="x&#10;y&#x9;\tz\r\n"/>'],
    ['<cönfig kéy="wért €"><e v="😀"/></cönfig>'],
    ['<a>]]</a>'],
    ['<a:b-c.d_e xmlns:a="u"><a:c/></a:b-c.d_e >'],
    [`<r>${'x'.repeat(1000)}<v w="${'y'.repeat(1000)}"/></r>`],
  ])('accepts %j itself', (xml) => {
    expect(expectSound(enc.encode(xml))).toBe(true);
  });

  it.each([
    ['<a><!-- c --></a>'],
    ['<a><![CDATA[x]]></a>'],
    ['<a><?pi x?></a>'],
    ['<!-- c --><a/>'],
    ['<a/><!-- c -->'],
    ['<a>&#0;</a>'],
    ['<a>&nope;</a>'],
    ['<a>&valueOf;</a>'],
    ['<a>]]></a>'],
    ['<a>\u0001</a>'],
    ['<a b="1" b="2"/>'],
    ['<a></b>'],
    ['<a/><b/>'],
    ['<a/>x'],
    ['<a>'],
    ['<!DOCTYPE a><a/>'],
  ])('hands %j back to the JavaScript scanner', (xml) => {
    expect(expectSound(enc.encode(xml))).toBe(false);
  });

  it('never accepts what the JavaScript scanner rejects: every byte in every position of a template', () => {
    const templates = [
      '<a>X</a>',
      '<a b="X"/>',
      "<a b='X'/>",
      '<aX/>',
      '<a X="1"/>',
      '<a bX="1"/>',
      '<a b="1"X/>',
      '<a bX/>',
      '<a>&X;</a>',
      '<a>&lX;</a>',
      '<a>&#X;</a>',
      '<a>&#xX;</a>',
      '<a>]X></a>',
      '<a>]]X</a>',
      '<a></aX>',
      '<a></a X>',
      '<a/>X',
      'X<a/>',
      '<a/X',
      '<a b=X"1"/>',
      '<a b X="1"/>',
      '<X/>',
      '<a><X/></a>',
      '<a></X>',
    ];
    let accepted = 0;
    let acceptable = 0;
    for (const template of templates) {
      const [before, after] = template.split('X').map((part) => enc.encode(part)) as [Uint8Array, Uint8Array];
      for (let byte = 0; byte < 256; byte++) {
        const bytes = new Uint8Array([...before, byte, ...after]);
        if (expectSound(bytes)) accepted++;
        if (checkXml(bytes).ok) acceptable++;
      }
    }
    // And it does its job: everything well-formed here is plain element content, which it accepts itself.
    expect(acceptable).toBeGreaterThan(500);
    expect(accepted).toBe(acceptable);
  });

  it('agrees with the JavaScript scanner on random token soup (property)', () => {
    const tokens = [
      '<',
      '>',
      '/',
      '</',
      '/>',
      'a',
      'b',
      '=',
      '"',
      "'",
      '&',
      ';',
      '#',
      'x',
      '1',
      '31',
      'amp',
      'lt',
      ' ',
      '\n',
      '\t',
      ']',
      ']]>',
      'é',
      '\u0001',
      '?',
      '!',
      '-',
      '<a>',
      '</a>',
      '<b c="d">',
      '</b>',
    ];
    let accepted = 0;
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...tokens), { maxLength: 24 }), fc.boolean(), (parts, wrap) => {
        const body = parts.join('');
        if (expectSound(enc.encode(wrap ? `<r>${body}</r>` : body))) accepted++;
      }),
      { numRuns: Number(process.env.FUZZ_RUNS ?? 20_000), seed: Number(process.env.FUZZ_SEED ?? 20261122) },
    );
    expect(accepted).toBeGreaterThan(0);
  });

  it('keeps the depth and attribute limits', () => {
    const nested = (depth: number) => enc.encode(`${'<a>'.repeat(depth)}${'</a>'.repeat(depth)}`);
    expect(withFastPath(nested(64), { maxDepth: 64 })).toEqual({ fast: true, verdict: { ok: true } });
    expect(withFastPath(nested(65), { maxDepth: 64 })).toMatchObject({ fast: false, verdict: { ok: false } });
    expect(withFastPath(nested(2000), { maxDepth: 5000 })).toMatchObject({ fast: false, verdict: { ok: true } });
    const attributes = (count: number) => enc.encode(`<a ${Array.from({ length: count }, (_, i) => `a${i}="${i}"`).join(' ')}/>`);
    expect(withFastPath(attributes(3), { maxAttributes: 3 })).toEqual({ fast: true, verdict: { ok: true } });
    expect(withFastPath(attributes(4), { maxAttributes: 3 })).toMatchObject({ fast: false, verdict: { ok: false } });
  });

  it('sees exactly the document: any length, after larger ones, with stale bytes beyond its end', () => {
    expect(expectSound(enc.encode(`<a>${'<b c="d"/>'.repeat(500_000)}</a>`))).toBe(true);
    for (let length = 0; length < 80; length++) {
      const text = 'x'.repeat(length);
      expect(expectSound(enc.encode(`<a>${text}</a>`))).toBe(true);
      // The previous document's closing tag is still in memory right after this one's end.
      expect(expectSound(enc.encode(`<a>${text}`))).toBe(false);
      expect(expectSound(enc.encode(`<a b="${text}`))).toBe(false);
      expect(expectSound(enc.encode(`<a${text}`))).toBe(false);
    }
  });
});
