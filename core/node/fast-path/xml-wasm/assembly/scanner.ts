/**
 * AssemblyScript source of the validator's fast XML path, compiled to
 * WebAssembly by `npm run build:wasm` (scripts/build-xml-wasm.ts) into
 * ../scanner-binary.ts, which is committed (a unit test rebuilds it and
 * fails if it differs).
 *
 * It answers one question: is this element tree (from `from` to the end of
 * the document) certainly well-formed? 0 means yes. 1 means "not sure": the
 * JavaScript scanner in core/xml.ts then checks the whole document and gives
 * the verdict and its message. So this path only ever ACCEPTS, and only what
 * core/xml.ts accepts (a differential test holds it to that); anything rare
 * or wrong — comments, PIs, CDATA, unknown entities, control characters,
 * errors of any kind — is handed back.
 *
 * Why: every settings.xml of a bundle is scanned, and the JavaScript scanner
 * touches each byte in a loop; here runs of text and attribute values are
 * skipped 16 bytes at a time with SIMD compares.
 */

const LT: u8 = 0x3c;
const GT: u8 = 0x3e;
const AMP: u8 = 0x26;
const SLASH: u8 = 0x2f;
const QMARK: u8 = 0x3f;
const BANG: u8 = 0x21;
const EQ: u8 = 0x3d;
const QUOT: u8 = 0x22;
const APOS: u8 = 0x27;
const RSQB: u8 = 0x5d;
const SEMI: u8 = 0x3b;
const HASH: u8 = 0x23;

/** Byte classes, the same as core/xml.ts's NAME_START and NAME_CHAR. */
const NAME_START: usize = memory.data(256);
const NAME_CHAR: usize = memory.data(256);
for (let c: i32 = 0; c < 256; c++) {
  const start = (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || c == 0x5f || c == 0x3a || c >= 0x80;
  store<u8>(NAME_START + c, start ? 1 : 0);
  store<u8>(NAME_CHAR + c, start || (c >= 0x30 && c <= 0x39) || c == 0x2d || c == 0x2e ? 1 : 0);
}

/** Open elements as (start, end) pointers of their names; deeper documents are handed back. */
const MAX_DEPTH: i32 = 1024;
const STACK: usize = memory.data(MAX_DEPTH * 8);
/** Attribute names of the current start tag as (start, end) pointers. */
const MAX_ATTRIBUTES: i32 = 256;
const ATTRIBUTES: usize = memory.data(MAX_ATTRIBUTES * 8);
/** Zero bytes after the document: a control character, so every SIMD skip stops at the end. */
const PADDING: usize = 16;
const BASE: usize = (__heap_base + 15) & ~(<usize>15);

let depth: i32 = 0;

/** Makes room for a document of `length` bytes and returns where to write it (0 if memory cannot grow). */
export function reserve(length: i32): usize {
  const needed = BASE + <usize>length + PADDING;
  const pages = <i32>((needed + 0xffff) >>> 16);
  const have = memory.size();
  if (pages > have && memory.grow(pages - have) < 0) return 0;
  return BASE;
}

/**
 * Checks the document written at reserve()'s address: `from` is where the
 * prolog (BOM, XML declaration) ends. Returns 0 if it is certainly
 * well-formed, 1 if core/xml.ts must decide.
 */
export function check(length: i32, from: i32, maxDepth: i32, maxAttributes: i32): i32 {
  const end = BASE + <usize>length;
  memory.fill(end, 0, PADDING);
  depth = 0;
  let pos = skipWhitespace(BASE + <usize>from, end);
  if (pos + 1 >= end || load<u8>(pos) != LT || load<u8>(NAME_START + load<u8>(pos + 1)) == 0) return 1;
  const limitDepth = min(maxDepth, MAX_DEPTH);
  const limitAttributes = min(maxAttributes, MAX_ATTRIBUTES);
  pos = startTag(pos, end, limitDepth, limitAttributes);
  while (depth > 0 && pos != 0) {
    pos = skipText(pos);
    if (pos >= end) return 1;
    const c = load<u8>(pos);
    if (c == LT) {
      const next = load<u8>(pos + 1);
      if (next == SLASH) pos = endTag(pos, end);
      else if (next == BANG || next == QMARK) return 1;
      else pos = startTag(pos, end, limitDepth, limitAttributes);
    } else if (c == AMP) {
      pos = reference(pos, end);
    } else if (c == RSQB) {
      if (pos + 2 < end && load<u8>(pos + 1) == RSQB && load<u8>(pos + 2) == GT) return 1;
      pos++;
    } else {
      return 1;
    }
  }
  if (pos == 0) return 1;
  return skipWhitespace(pos, end) == end ? 0 : 1;
}

// @ts-ignore: decorator
@inline function isWhitespace(c: u8): bool {
  return c == 0x20 || c == 0x0a || c == 0x09 || c == 0x0d;
}

function skipWhitespace(from: usize, end: usize): usize {
  let pos = from;
  while (pos < end && isWhitespace(load<u8>(pos))) pos++;
  return pos;
}

/** Lanes holding a control character XML forbids (all C0 but tab, LF, CR). */
// @ts-ignore: decorator
@inline function forbiddenControls(v: v128): v128 {
  const allowed = v128.or(v128.or(i8x16.eq(v, i8x16.splat(0x09)), i8x16.eq(v, i8x16.splat(0x0a))), i8x16.eq(v, i8x16.splat(0x0d)));
  return v128.andnot(i8x16.lt_u(v, i8x16.splat(0x20)), allowed);
}

/** The first byte from `from` that ends plain text: < & ] or a forbidden control (the padding is one). */
function skipText(from: usize): usize {
  let pos = from - 16;
  let bits: i32 = 0;
  do {
    pos += 16;
    const v = v128.load(pos);
    const stops = v128.or(
      forbiddenControls(v),
      v128.or(v128.or(i8x16.eq(v, i8x16.splat(LT)), i8x16.eq(v, i8x16.splat(AMP))), i8x16.eq(v, i8x16.splat(RSQB))),
    );
    bits = i8x16.bitmask(stops);
  } while (bits == 0);
  return pos + <usize>ctz(bits);
}

/** The first byte from `from` that ends an attribute value quoted with `quote`: the quote, < & or a forbidden control. */
function skipValue(from: usize, quote: u8): usize {
  let pos = from - 16;
  const q = i8x16.splat(quote);
  let bits: i32 = 0;
  do {
    pos += 16;
    const v = v128.load(pos);
    const stops = v128.or(
      forbiddenControls(v),
      v128.or(v128.or(i8x16.eq(v, q), i8x16.eq(v, i8x16.splat(LT))), i8x16.eq(v, i8x16.splat(AMP))),
    );
    bits = i8x16.bitmask(stops);
  } while (bits == 0);
  return pos + <usize>ctz(bits);
}

/**
 * Where the name starting at `from` ends: the first byte after it that is not
 * a name character (NAME_CHAR, computed 16 bytes at a time). Never past the
 * end: the padding is not a name character.
 */
function nameEnd(from: usize): usize {
  let pos = from + 1 - 16;
  let bits: i32 = 0;
  do {
    pos += 16;
    const v = v128.load(pos);
    const folded = v128.or(v, i8x16.splat(0x20));
    const letter = v128.and(i8x16.ge_u(folded, i8x16.splat(0x61)), i8x16.le_u(folded, i8x16.splat(0x7a)));
    // - . 0-9 : are 0x2d-0x3a except /
    const punctuationOrDigit = v128.andnot(
      v128.and(i8x16.ge_u(v, i8x16.splat(0x2d)), i8x16.le_u(v, i8x16.splat(0x3a))),
      i8x16.eq(v, i8x16.splat(0x2f)),
    );
    const other = v128.or(i8x16.eq(v, i8x16.splat(0x5f)), i8x16.ge_u(v, i8x16.splat(<i8>0x80)));
    bits = i8x16.bitmask(v128.not(v128.or(letter, v128.or(punctuationOrDigit, other))));
  } while (bits == 0);
  return pos + <usize>ctz(bits);
}

function sameBytes(a: usize, aEnd: usize, b: usize, bEnd: usize): bool {
  const length = aEnd - a;
  if (bEnd - b != length) return false;
  return memory.compare(a, b, length) == 0;
}

/** A start tag at `tagStart`; returns the position after it, 0 to hand back. */
function startTag(tagStart: usize, end: usize, maxDepth: i32, maxAttributes: i32): usize {
  const nameStart = tagStart + 1;
  if (nameStart >= end || load<u8>(NAME_START + load<u8>(nameStart)) == 0) return 0;
  let pos = nameEnd(nameStart);
  const tagNameEnd = pos;
  let count: i32 = 0;
  let c: u8 = 0;
  for (;;) {
    const spaceStart = pos;
    while (pos < end && isWhitespace((c = load<u8>(pos)))) pos++;
    if (pos >= end) return 0;
    if (c == GT || c == SLASH) break;
    if (pos == spaceStart || count >= maxAttributes) return 0;
    pos = attribute(pos, end, count);
    if (pos == 0) return 0;
    count++;
  }
  if (c == SLASH) {
    if (pos + 1 >= end || load<u8>(pos + 1) != GT) return 0;
    return pos + 2;
  }
  if (depth >= maxDepth) return 0;
  store<usize>(STACK + <usize>depth * 8, nameStart);
  store<usize>(STACK + <usize>depth * 8 + 4, tagNameEnd);
  depth++;
  return pos + 1;
}

/** The `count`-th attribute of a start tag, at `start`; returns the position after its closing quote, 0 to hand back. */
function attribute(start: usize, end: usize, count: i32): usize {
  if (load<u8>(NAME_START + load<u8>(start)) == 0) return 0;
  let pos = nameEnd(start);
  const attributeNameEnd = pos;
  for (let i: i32 = 0; i < count; i++) {
    const other = load<usize>(ATTRIBUTES + <usize>i * 8);
    if (sameBytes(other, load<usize>(ATTRIBUTES + <usize>i * 8 + 4), start, attributeNameEnd)) return 0;
  }
  store<usize>(ATTRIBUTES + <usize>count * 8, start);
  store<usize>(ATTRIBUTES + <usize>count * 8 + 4, attributeNameEnd);
  let c: u8 = 0;
  while (pos < end && isWhitespace((c = load<u8>(pos)))) pos++;
  if (pos >= end || c != EQ) return 0;
  pos++;
  while (pos < end && isWhitespace((c = load<u8>(pos)))) pos++;
  if (pos >= end || (c != QUOT && c != APOS)) return 0;
  const quote = c;
  pos++;
  while (pos != 0) {
    pos = skipValue(pos, quote);
    if (pos >= end) return 0;
    c = load<u8>(pos);
    if (c == quote) return pos + 1;
    if (c != AMP) return 0;
    pos = reference(pos, end);
  }
  return 0;
}

/** One `&...;` at `start`: a predefined entity or a legal character reference. Returns the position after it, 0 to hand back. */
function reference(start: usize, end: usize): usize {
  let pos = start + 1;
  if (pos < end && load<u8>(pos) == HASH) {
    pos++;
    let hex = false;
    if (pos < end && load<u8>(pos) == 0x78) {
      hex = true;
      pos++;
    }
    let value: u32 = 0;
    let digits: i32 = 0;
    while (pos < end && load<u8>(pos) != SEMI) {
      const c = <u32>load<u8>(pos);
      let d: u32;
      if (c >= 0x30 && c <= 0x39) d = c - 0x30;
      else if (hex && c >= 0x61 && c <= 0x66) d = c - 0x57;
      else if (hex && c >= 0x41 && c <= 0x46) d = c - 0x37;
      else return 0;
      value = value * (hex ? 16 : 10) + d;
      if (value > 0x10ffff) return 0;
      digits++;
      pos++;
    }
    if (digits == 0 || pos >= end) return 0;
    const legal =
      value == 0x9 || value == 0xa || value == 0xd || (value >= 0x20 && value <= 0xd7ff) ||
      (value >= 0xe000 && value <= 0xfffd) || (value >= 0x10000 && value <= 0x10ffff);
    return legal ? pos + 1 : 0;
  }
  const nameStart = pos;
  while (pos < end && pos - nameStart <= 8 && load<u8>(NAME_CHAR + load<u8>(pos)) != 0) pos++;
  if (pos >= end || load<u8>(pos) != SEMI) return 0;
  const length = pos - nameStart;
  const a = load<u8>(nameStart);
  const b = load<u8>(nameStart + 1);
  let known = false;
  if (length == 2) known = (a == 0x6c || a == 0x67) && b == 0x74; // lt, gt
  else if (length == 3) known = a == 0x61 && b == 0x6d && load<u8>(nameStart + 2) == 0x70; // amp
  else if (length == 4) {
    const c = load<u8>(nameStart + 2);
    const d = load<u8>(nameStart + 3);
    known = (a == 0x61 && b == 0x70 && c == 0x6f && d == 0x73) || (a == 0x71 && b == 0x75 && c == 0x6f && d == 0x74); // apos, quot
  }
  return known ? pos + 1 : 0;
}

/** An end tag at `start`, which must close the innermost open element; returns the position after it, 0 to hand back. */
function endTag(start: usize, end: usize): usize {
  const nameStart = start + 2;
  if (nameStart >= end || load<u8>(NAME_START + load<u8>(nameStart)) == 0) return 0;
  let pos = nameEnd(nameStart);
  const tagNameEnd = pos;
  let c: u8 = 0;
  while (pos < end && isWhitespace((c = load<u8>(pos)))) pos++;
  if (pos >= end || c != GT) return 0;
  depth--;
  const openStart = load<usize>(STACK + <usize>depth * 8);
  const openEnd = load<usize>(STACK + <usize>depth * 8 + 4);
  return sameBytes(openStart, openEnd, nameStart, tagNameEnd) ? pos + 1 : 0;
}
