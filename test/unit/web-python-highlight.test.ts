/** The code preview's tokenizer: it only classifies, so joining the tokens always gives the input back. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { tokenizePython, type TokenType } from '../../web/src/python-highlight';
import { REFERENCE_DIR } from '../support/samples';

const typesOf = (code: string) =>
  tokenizePython(code)
    .filter((t) => t.type !== 'plain')
    .map((t) => [t.type, t.text] as [TokenType, string]);

describe('tokenizePython', () => {
  it('classifies comments, strings, keywords, builtins, numbers, decorators and definitions', () => {
    expect(typesOf('@cache\ndef load(path):  # read\n    return len(open(path, "rb").read()) + 0x1F * 2.5e3\n')).toEqual([
      ['decorator', '@cache'],
      ['keyword', 'def'],
      ['definition', 'load'],
      ['comment', '# read'],
      ['keyword', 'return'],
      ['builtin', 'len'],
      ['builtin', 'open'],
      ['string', '"rb"'],
      ['number', '0x1F'],
      ['number', '2.5e3'],
    ]);
  });

  it('keeps prefixed and triple-quoted strings whole, across lines and escaped quotes', () => {
    const code = 'x = rb"a\\"b" + f\'{y}\' + """doc\n# not a comment\n"""\n';
    expect(typesOf(code)).toEqual([
      ['string', 'rb"a\\"b"'],
      ['string', "f'{y}'"],
      ['string', '"""doc\n# not a comment\n"""'],
    ]);
  });

  it('ends an unterminated one-line string at the end of its line', () => {
    expect(typesOf('s = "open\nx = 1\n')).toEqual([
      ['string', '"open'],
      ['number', '1'],
    ]);
  });

  it('treats match/case/type as keywords only where a statement starts', () => {
    expect(
      typesOf('match x:\n    case 1: pass\ntype = 3\n')
        .filter(([t]) => t === 'keyword')
        .map(([, v]) => v),
    ).toEqual(['match', 'case', 'pass', 'type']);
    expect(typesOf('df.type(match)').filter(([t]) => t === 'keyword')).toEqual([]);
  });

  it('does not read names containing digits or keywords as numbers or keywords', () => {
    expect(typesOf('df2 = x_1 + ifx + classify')).toEqual([]);
  });

  it('round-trips every generated script of the reference outputs', () => {
    for (const sample of readdirSync(REFERENCE_DIR)) {
      let files: string[];
      try {
        files = readdirSync(join(REFERENCE_DIR, sample, 'out')).filter((f) => f.endsWith('.py'));
      } catch {
        continue;
      }
      for (const file of files) {
        const code = readFileSync(join(REFERENCE_DIR, sample, 'out', file), 'utf8');
        const tokens = tokenizePython(code);
        expect(tokens.map((t) => t.text).join('')).toBe(code);
        expect(tokens.some((t) => t.type === 'keyword')).toBe(true);
      }
    }
  });

  it('round-trips any text, including hostile markup', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (text) => {
        expect(
          tokenizePython(text)
            .map((t) => t.text)
            .join(''),
        ).toBe(text);
      }),
      { numRuns: 200 },
    );
    const hostile = '"<script>alert(1)</script>" # <img src=x onerror=alert(1)>';
    expect(
      tokenizePython(hostile)
        .map((t) => t.text)
        .join(''),
    ).toBe(hostile);
  });
});
