/**
 * A small Python tokenizer for the code preview. It only classifies text
 * (comment, string, keyword, …); the view puts each token into a text node,
 * so nothing from the result is ever parsed as HTML. Joining the tokens
 * gives back the input exactly.
 */

export type TokenType = 'plain' | 'comment' | 'string' | 'keyword' | 'builtin' | 'number' | 'decorator' | 'definition';

export interface Token {
  type: TokenType;
  text: string;
}

const KEYWORDS = new Set(
  'False None True and as assert async await break case class continue def del elif else except finally for from global if import in is lambda match nonlocal not or pass raise return try type while with yield'.split(
    ' ',
  ),
);
/** `match`, `case` and `type` are keywords only at the start of a statement. */
const SOFT_KEYWORDS = new Set(['match', 'case', 'type']);
const BUILTINS = new Set(
  'abs all any bool bytes callable dict dir enumerate Exception filter float format getattr hasattr int isinstance iter len list map max min next object open print range repr reversed round self set setattr sorted str sum super tuple zip KeyError ValueError TypeError RuntimeError __name__'.split(
    ' ',
  ),
);

const STRING_START = /(?:[rRbBuUfF]{1,2})?('''|"""|'|")/y;
const IDENTIFIER = /[\p{L}_][\p{L}\p{N}_]*/uy;
const NUMBER = /(?:0[xX][\da-fA-F_]+|0[bB][01_]+|0[oO][0-7_]+|(?:\d[\d_]*(?:\.[\d_]*)?|\.\d[\d_]*)(?:[eE][+-]?\d+)?[jJ]?)/y;
const DECORATOR = /@[\p{L}_][\p{L}\p{N}_.]*/uy;

function matchAt(pattern: RegExp, text: string, at: number): string | undefined {
  pattern.lastIndex = at;
  return pattern.exec(text)?.[0];
}

/** End of a string literal whose opening quote ends at `from`; unterminated one-line strings stop at the newline. */
function stringEnd(text: string, from: number, quote: string): number {
  let i = from;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '\\') {
      i += 2;
      continue;
    }
    if (quote.length === 1 && c === '\n') return i;
    if (text.startsWith(quote, i)) return i + quote.length;
    i++;
  }
  return text.length;
}

export function tokenizePython(text: string): Token[] {
  const tokens: Token[] = [];
  const push = (type: TokenType, value: string) => {
    const last = tokens[tokens.length - 1];
    if (last && last.type === type && type === 'plain') last.text += value;
    else tokens.push({ type, text: value });
  };
  let i = 0;
  let expectName = false;
  let lineStart = true;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '#') {
      const end = text.indexOf('\n', i);
      const stop = end < 0 ? text.length : end;
      push('comment', text.slice(i, stop));
      i = stop;
      continue;
    }
    const string = matchAt(STRING_START, text, i);
    if (string !== undefined) {
      const quote = /('''|"""|'|")$/.exec(string)![1]!;
      const end = stringEnd(text, i + string.length, quote);
      push('string', text.slice(i, end));
      i = end;
      lineStart = false;
      continue;
    }
    if (c === '@' && lineStart) {
      const decorator = matchAt(DECORATOR, text, i);
      if (decorator !== undefined) {
        push('decorator', decorator);
        i += decorator.length;
        lineStart = false;
        continue;
      }
    }
    const word = matchAt(IDENTIFIER, text, i);
    if (word !== undefined) {
      let type: TokenType = 'plain';
      if (expectName) type = 'definition';
      else if (KEYWORDS.has(word) && (!SOFT_KEYWORDS.has(word) || lineStart)) type = 'keyword';
      else if (BUILTINS.has(word)) type = 'builtin';
      expectName = type === 'keyword' && (word === 'def' || word === 'class');
      push(type, word);
      i += word.length;
      lineStart = false;
      continue;
    }
    if (/[\d.]/.test(c)) {
      const number = matchAt(NUMBER, text, i);
      if (number !== undefined && number !== '.') {
        push('number', number);
        i += number.length;
        lineStart = false;
        continue;
      }
    }
    if (c === '\n') lineStart = true;
    else if (c !== ' ' && c !== '\t' && c !== '\r') {
      lineStart = false;
      expectName = false;
    }
    push('plain', c);
    i++;
  }
  return tokens;
}
