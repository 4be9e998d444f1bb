/**
 * A strict, non-resolving XML 1.0 well-formedness checker over UTF-8 bytes.
 *
 * Why not a general parser: the validator checks every XML file of a bundle
 * (up to 200 MiB) and must stay within 1.25x of `unzip -t`; saxes runs at
 * ~60 MB/s here, this scanner at several hundred. It never resolves entities
 * and rejects any DOCTYPE/ENTITY declaration, so there is nothing to expand.
 * It is cross-checked against saxes by a differential fuzz test.
 *
 * It runs unchanged in browsers (the bundler reads workflow.knime with it).
 */

export type XmlProblem = 'XML_INVALID' | 'XML_FORBIDDEN_DTD';

export interface XmlError {
  ok: false;
  code: XmlProblem;
  reason: string;
  /** 1-based line of the problem. */
  line: number;
}

export type XmlResult = { ok: true } | XmlError;

export interface XmlElement {
  name: string;
  attributes: Record<string, string>;
}

export interface XmlScanOptions {
  /** Deepest element nesting accepted. */
  maxDepth?: number;
  /** Most attributes on one element. */
  maxAttributes?: number;
  /** Called for every start tag (with decoded attributes); makes scanning slower, so only pass it when needed. */
  onOpen?: (element: XmlElement) => void;
  /** Called for every end tag (also for self-closing elements). */
  onClose?: (name: string) => void;
  /** UTF-8 check; defaults to a fatal TextDecoder. Node callers pass buffer.isUtf8 (much faster). */
  isUtf8?: (bytes: Uint8Array) => boolean;
  /** A faster checker tried first when no events are wanted (the validator's fast path passes core/node/fast-path/xml-wasm's). */
  fastPath?: XmlFastPath;
}

/**
 * A faster checker for the common case. It may only accept documents this
 * module accepts; for everything else it answers false and checkXml scans the
 * document itself (so verdicts and messages always come from here).
 */
export interface XmlFastPath {
  /** Whether the document's element tree, from `from` (after the prolog) to its end, is certainly well-formed. */
  accepts(bytes: Uint8Array, from: number, maxDepth: number, maxAttributes: number): boolean;
}

const DEFAULT_MAX_DEPTH = 256;
const DEFAULT_MAX_ATTRIBUTES = 256;
const NO_RANGES = new Int32Array(0);

const LT = 0x3c; // <
const GT = 0x3e; // >
const AMP = 0x26; // &
const SLASH = 0x2f; // /
const QMARK = 0x3f; // ?
const BANG = 0x21; // !
const EQ = 0x3d; // =
const QUOT = 0x22; // "
const APOS = 0x27; // '
const RSQB = 0x5d; // ]
const SEMI = 0x3b; // ;
const HASH = 0x23; // #

const ENC = new TextEncoder();
const CDATA_OPEN = ENC.encode('<![CDATA[');
const COMMENT_OPEN = ENC.encode('<!--');
const DECLARATION_KEYWORDS = ['DOCTYPE', 'ENTITY', 'ELEMENT', 'ATTLIST', 'NOTATION'];
/** XML 1.0 §2.8 XMLDecl after `<?xml`: version, optional encoding and standalone, in that order. */
const XML_DECLARATION =
  /^\s+version\s*=\s*(?:"1\.[0-9]+"|'1\.[0-9]+')(?:\s+encoding\s*=\s*(?:"([A-Za-z][A-Za-z0-9._-]*)"|'([A-Za-z][A-Za-z0-9._-]*)'))?(?:\s+standalone\s*=\s*(?:"(?:yes|no)"|'(?:yes|no)'))?\s*$/;
const PREDEFINED_ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', apos: "'", quot: '"' };

let fatalDecoder: TextDecoder | undefined;
function defaultIsUtf8(bytes: Uint8Array): boolean {
  fatalDecoder ??= new TextDecoder('utf-8', { fatal: true });
  try {
    fatalDecoder.decode(bytes);
    return true;
  } catch {
    return false;
  }
}

const utf8 = new TextDecoder('utf-8');

/** Byte classes as lookup tables: the scanner's hot loops are one table load per byte. */
const NAME_START = new Uint8Array(256);
const NAME_CHAR = new Uint8Array(256);
/** Bytes that end a run of plain text: < & ] and forbidden controls. */
const TEXT_STOP = new Uint8Array(256);
/** Bytes that end a run inside an attribute value: quotes, < & and forbidden controls. */
const VALUE_STOP = new Uint8Array(256);
for (let c = 0; c < 256; c++) {
  const start = (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || c === 0x5f || c === 0x3a || c >= 0x80;
  NAME_START[c] = start ? 1 : 0;
  NAME_CHAR[c] = start || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x2e ? 1 : 0;
  const control = c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d;
  TEXT_STOP[c] = control || c === 0x3c || c === 0x26 || c === 0x5d ? 1 : 0;
  VALUE_STOP[c] = control || c === 0x3c || c === 0x26 || c === 0x22 || c === 0x27 ? 1 : 0;
}

function isWhitespace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x09 || c === 0x0d;
}

function isNameStart(c: number): boolean {
  return NAME_START[c] === 1;
}

function isNameChar(c: number): boolean {
  return NAME_CHAR[c] === 1;
}

/** Control characters XML 1.0 forbids everywhere (all C0 but tab, LF, CR). */
function isForbiddenControl(c: number): boolean {
  return c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d;
}

class XmlFailure {
  constructor(
    readonly code: XmlProblem,
    readonly reason: string,
    readonly offset: number,
  ) {}
}

/**
 * Checks that `bytes` is one well-formed UTF-8 XML document without DTD.
 * Never throws for bad input; returns the first problem found.
 */
export function checkXml(bytes: Uint8Array, options: XmlScanOptions = {}): XmlResult {
  if (!(options.isUtf8 ?? defaultIsUtf8)(bytes)) {
    return { ok: false, code: 'XML_INVALID', reason: 'the file is not valid UTF-8', line: 1 };
  }
  const { fastPath } = options;
  if (fastPath && !options.onOpen && !options.onClose) {
    const from = prologEnd(bytes);
    const maxDepth = options.maxDepth ?? DEFAULT_MAX_DEPTH;
    if (from >= 0 && fastPath.accepts(bytes, from, maxDepth, options.maxAttributes ?? DEFAULT_MAX_ATTRIBUTES)) return { ok: true };
  }
  try {
    new Scanner(bytes, options).document();
    return { ok: true };
  } catch (error) {
    if (error instanceof XmlFailure) {
      return { ok: false, code: error.code, reason: error.reason, line: lineAt(bytes, error.offset) };
    }
    if (error instanceof RangeError) {
      return { ok: false, code: 'XML_INVALID', reason: 'the document is nested too deeply', line: 1 };
    }
    throw error;
  }
}

/** Where the BOM and XML declaration end (-1 if the declaration is malformed: the full scan reports it). */
function prologEnd(bytes: Uint8Array): number {
  // The declaration KNIME writes (a valid one, by inspection) saves a scanner, a decode and a regex per file.
  if (startsWithAt(bytes, 0, KNIME_DECLARATION)) return KNIME_DECLARATION.length;
  try {
    return new Scanner(bytes, {}).prolog();
  } catch (error) {
    if (error instanceof XmlFailure) return -1;
    throw error;
  }
}

const KNIME_DECLARATION = ENC.encode('<?xml version="1.0" encoding="UTF-8"?>');

function startsWithAt(bytes: Uint8Array, at: number, sequence: Uint8Array): boolean {
  if (at + sequence.length > bytes.length) return false;
  for (let i = 0; i < sequence.length; i++) if (bytes[at + i] !== sequence[i]) return false;
  return true;
}

function lineAt(bytes: Uint8Array, offset: number): number {
  let line = 1;
  const end = Math.min(offset, bytes.length);
  for (let i = 0; i < end; i++) if (bytes[i] === 0x0a) line++;
  return line;
}

class Scanner {
  private pos = 0;
  /** Open elements as [start, end) byte ranges of their names. */
  private readonly stack: number[] = [];
  private readonly maxDepth: number;
  private readonly maxAttributes: number;
  private readonly wantEvents: boolean;
  /** Attribute names of the current start tag as [start, end) pairs; allocated by element() (the prolog alone needs none). */
  private attrRanges = NO_RANGES;
  /** The whole document as a string when it is ASCII, '' when not; decoded on first use (events only). */
  private text: string | undefined;

  constructor(
    private readonly b: Uint8Array,
    private readonly options: XmlScanOptions,
  ) {
    this.maxDepth = options.maxDepth ?? DEFAULT_MAX_DEPTH;
    this.maxAttributes = options.maxAttributes ?? DEFAULT_MAX_ATTRIBUTES;
    this.wantEvents = Boolean(options.onOpen || options.onClose);
  }

  private fail(reason: string, offset = this.pos, code: XmlProblem = 'XML_INVALID'): never {
    throw new XmlFailure(code, reason, offset);
  }

  /** Reads the byte-order mark and XML declaration, if any; returns where they end. */
  prolog(): number {
    const b = this.b;
    const n = b.length;
    if (n >= 3 && b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf) this.pos = 3;
    if (this.startsWith('<?xml') && (this.pos + 5 >= n || isWhitespace(b[this.pos + 5]!) || b[this.pos + 5] === QMARK)) {
      this.xmlDeclaration();
    }
    return this.pos;
  }

  document(): void {
    const b = this.b;
    const n = b.length;
    this.prolog();
    let rootSeen = false;
    while (this.pos < n) {
      const c = b[this.pos]!;
      if (c === LT) {
        const next = b[this.pos + 1];
        if (next === QMARK) this.processingInstruction();
        else if (next === BANG) this.bang(false);
        else if (next === SLASH) this.fail('an end tag appears outside the root element');
        else {
          if (rootSeen) this.fail('the document has more than one root element');
          rootSeen = true;
          this.element();
        }
      } else if (isWhitespace(c)) {
        this.pos++;
      } else {
        this.fail('text appears outside the root element');
      }
    }
    if (!rootSeen) this.fail('the document has no root element');
  }

  private startsWith(literal: string): boolean {
    const b = this.b;
    if (this.pos + literal.length > b.length) return false;
    for (let i = 0; i < literal.length; i++) if (b[this.pos + i] !== literal.charCodeAt(i)) return false;
    return true;
  }

  private startsWithBytes(seq: Uint8Array): boolean {
    return startsWithAt(this.b, this.pos, seq);
  }

  /** Finds `terminator` from pos, checking every byte before it for forbidden controls. */
  private scanUntil(terminator: string, what: string): number {
    const b = this.b;
    const n = b.length;
    const first = terminator.charCodeAt(0);
    for (let i = this.pos; i < n; i++) {
      const c = b[i]!;
      if (c === first) {
        let match = i + terminator.length <= n;
        for (let k = 1; match && k < terminator.length; k++) if (b[i + k] !== terminator.charCodeAt(k)) match = false;
        if (match) return i;
      } else if (isForbiddenControl(c)) {
        this.fail(`a control character appears in ${what}`, i);
      }
    }
    return this.fail(`${what} is not closed`);
  }

  private xmlDeclaration(): void {
    const start = this.pos;
    const end = this.scanUntil('?>', 'the XML declaration');
    const text = utf8.decode(this.b.subarray(start + 5, end));
    const declaration = XML_DECLARATION.exec(text);
    if (!declaration) this.fail('the XML declaration is malformed', start);
    const encoding = declaration[1] ?? declaration[2];
    if (encoding !== undefined && !/^utf-?8$/i.test(encoding)) {
      this.fail(`the XML declaration says encoding "${encoding}"; only UTF-8 is accepted`, start);
    }
    this.pos = end + 2;
  }

  private processingInstruction(): void {
    const start = this.pos;
    this.pos += 2;
    const nameStart = this.pos;
    this.name('processing instruction target');
    const target = utf8.decode(this.b.subarray(nameStart, this.pos));
    if (target.toLowerCase() === 'xml') this.fail('an XML declaration appears after the start of the document', start);
    const end = this.scanUntil('?>', 'a processing instruction');
    if (end > this.pos && !isWhitespace(this.b[this.pos]!)) this.fail('a processing instruction target is malformed');
    this.pos = end + 2;
  }

  /** `<!`: comment, CDATA (only inside the root) or a forbidden declaration. */
  private bang(inContent: boolean): void {
    if (this.startsWithBytes(COMMENT_OPEN)) {
      const start = this.pos;
      this.pos += 4;
      const end = this.scanUntil('--', 'a comment');
      if (this.b[end + 2] !== GT) this.fail('a comment contains "--"', end);
      if (end < start + 4) this.fail('a comment is malformed', start);
      this.pos = end + 3;
      return;
    }
    if (this.startsWithBytes(CDATA_OPEN)) {
      if (!inContent) this.fail('a CDATA section appears outside the root element');
      this.pos += CDATA_OPEN.length;
      const end = this.scanUntil(']]>', 'a CDATA section');
      this.pos = end + 3;
      return;
    }
    for (const keyword of DECLARATION_KEYWORDS) {
      if (this.startsWith(`<!${keyword}`)) {
        this.fail(`the document contains a <!${keyword}> declaration`, this.pos, 'XML_FORBIDDEN_DTD');
      }
    }
    this.fail('markup starting with "<!" is malformed');
  }

  private name(what: string): void {
    const b = this.b;
    const n = b.length;
    let pos = this.pos;
    if (pos >= n || !isNameStart(b[pos]!)) this.fail(`a ${what} is missing or malformed`);
    pos++;
    while (pos < n && NAME_CHAR[b[pos]!] === 1) pos++;
    this.pos = pos;
  }

  private sameBytes(aStart: number, aEnd: number, bStart: number, bEnd: number): boolean {
    if (aEnd - aStart !== bEnd - bStart) return false;
    for (let i = 0; i < aEnd - aStart; i++) if (this.b[aStart + i] !== this.b[bStart + i]) return false;
    return true;
  }

  /*
   * The hot path. Element content is most of every document, so the loops
   * below keep the position in a local, guard every load with `pos < n` (V8
   * then drops its own bounds checks) and leave everything rare — references,
   * `]`, comments, CDATA, PIs, errors — to separate methods.
   */

  /** Parses the root element: start tags, content and end tags, iteratively (the stack holds open elements). */
  private element(): void {
    this.attrRanges = new Int32Array(this.maxAttributes * 2);
    const b = this.b;
    const n = b.length;
    const stack = this.stack;
    let pos = this.startTag(this.pos);
    while (stack.length > 0) {
      while (pos < n && TEXT_STOP[b[pos]!] === 0) pos++;
      if (pos >= n) {
        this.pos = pos;
        this.fail(`the element <${utf8.decode(b.subarray(stack[stack.length - 2]!, stack[stack.length - 1]!))}> is not closed`);
      }
      if (b[pos] !== LT) {
        pos = this.textSpecial(pos);
        continue;
      }
      const next = pos + 1 < n ? b[pos + 1]! : 0;
      if (next === SLASH) {
        pos = this.endTag(pos);
      } else if (next === BANG || next === QMARK) {
        this.pos = pos;
        if (next === BANG) this.bang(true);
        else this.processingInstruction();
        pos = this.pos;
      } else {
        pos = this.startTag(pos);
      }
    }
    this.pos = pos;
  }

  /** One `&`, `]` or control character in text at `pos`; returns the position after what it accepted. */
  private textSpecial(pos: number): number {
    const b = this.b;
    const c = b[pos]!;
    if (c === AMP) {
      this.pos = pos;
      this.reference();
      return this.pos;
    }
    if (c === RSQB) {
      if (pos + 2 < b.length && b[pos + 1] === RSQB && b[pos + 2] === GT) this.fail('text contains "]]>"', pos);
      return pos + 1;
    }
    return this.fail('text contains a control character', pos);
  }

  /** A start tag at `tagStart`; returns the position after it. Opens the element unless it is self-closing. */
  private startTag(tagStart: number): number {
    const b = this.b;
    const n = b.length;
    const nameStart = tagStart + 1;
    let pos = nameStart;
    if (pos >= n || NAME_START[b[pos]!] !== 1) this.fail('an element name is missing or malformed', pos);
    pos++;
    while (pos < n && NAME_CHAR[b[pos]!] === 1) pos++;
    const nameEnd = pos;
    const attributes: Record<string, string> | undefined = this.wantEvents ? {} : undefined;
    let count = 0;
    let c = 0;
    for (;;) {
      const spaceStart = pos;
      while (pos < n && ((c = b[pos]!) === 0x20 || c === 0x0a || c === 0x09 || c === 0x0d)) pos++;
      if (pos >= n) this.fail('a start tag is not closed', tagStart);
      if (c === GT || c === SLASH) break;
      if (pos === spaceStart) this.fail('attributes must be separated by whitespace', pos);
      pos = this.attribute(pos, count, attributes);
      count++;
    }
    const selfClosing = c === SLASH;
    if (selfClosing) {
      if (pos + 1 >= n || b[pos + 1] !== GT) this.fail('a start tag is malformed', pos);
      pos += 2;
    } else {
      pos++;
    }
    if (attributes) {
      const name = this.decode(nameStart, nameEnd);
      this.options.onOpen?.({ name, attributes });
      if (selfClosing) this.options.onClose?.(name);
    }
    if (!selfClosing) {
      if (this.stack.length / 2 >= this.maxDepth) this.fail(`elements are nested deeper than ${this.maxDepth} levels`, tagStart);
      this.stack.push(nameStart, nameEnd);
    }
    return pos;
  }

  /**
   * The attribute at `start` (the element's `count`-th): name, `=`, quoted
   * value. Returns the position after the closing quote.
   */
  private attribute(start: number, count: number, attributes: Record<string, string> | undefined): number {
    const b = this.b;
    const n = b.length;
    let pos = start;
    if (NAME_START[b[pos]!] !== 1) this.fail('an attribute name is missing or malformed', pos);
    pos++;
    while (pos < n && NAME_CHAR[b[pos]!] === 1) pos++;
    const nameEnd = pos;
    this.checkDistinct(start, nameEnd, count);
    let c = 0;
    while (pos < n && ((c = b[pos]!) === 0x20 || c === 0x0a || c === 0x09 || c === 0x0d)) pos++;
    if (pos >= n || c !== EQ) this.fail('an attribute has no "="', pos);
    pos++;
    while (pos < n && ((c = b[pos]!) === 0x20 || c === 0x0a || c === 0x09 || c === 0x0d)) pos++;
    if (pos >= n || (c !== QUOT && c !== APOS)) this.fail('an attribute value is not quoted', pos);
    const quote = c;
    pos++;
    const valueStart = pos;
    let hasReference = false;
    for (;;) {
      while (pos < n && VALUE_STOP[(c = b[pos]!)] === 0) pos++;
      if (pos >= n) this.fail('an attribute value is not closed', valueStart);
      if (c === quote) break;
      if (c === QUOT || c === APOS) {
        pos++;
      } else if (c === AMP) {
        this.pos = pos;
        this.reference();
        pos = this.pos;
        hasReference = true;
      } else if (c === LT) {
        this.fail('an attribute value contains "<"', pos);
      } else {
        this.fail('an attribute value contains a control character', pos);
      }
    }
    if (attributes) attributes[this.decode(start, nameEnd)] = this.attributeValue(valueStart, pos, hasReference);
    return pos + 1;
  }

  /** Records the `count`-th attribute name of an element, rejecting a repeated one. */
  private checkDistinct(start: number, end: number, count: number): void {
    const b = this.b;
    const ranges = this.attrRanges;
    const length = end - start;
    for (let i = 0; i < count * 2; i += 2) {
      const other = ranges[i]!;
      // Length and first byte rule out nearly every pair without a call.
      if (ranges[i + 1]! - other === length && b[other] === b[start] && this.sameBytes(other, ranges[i + 1]!, start, end)) {
        this.fail(`the attribute "${utf8.decode(b.subarray(start, end))}" appears twice`, start);
      }
    }
    if (count >= this.maxAttributes) this.fail('an element has too many attributes', start);
    ranges[count * 2] = start;
    ranges[count * 2 + 1] = end;
  }

  /** Checks one `&...;` reference at pos: the five predefined entities or a valid character reference. */
  private reference(): void {
    const b = this.b;
    const start = this.pos;
    this.pos++;
    if (b[this.pos] === HASH) {
      this.pos++;
      let hex = false;
      if (b[this.pos] === 0x78) {
        hex = true;
        this.pos++;
      }
      let value = 0;
      let digits = 0;
      while (this.pos < b.length && b[this.pos] !== SEMI) {
        const c = b[this.pos]!;
        let d: number;
        if (c >= 0x30 && c <= 0x39) d = c - 0x30;
        else if (hex && c >= 0x61 && c <= 0x66) d = c - 0x57;
        else if (hex && c >= 0x41 && c <= 0x46) d = c - 0x37;
        else this.fail('a character reference is malformed', start);
        value = value * (hex ? 16 : 10) + d;
        if (value > 0x10ffff) this.fail('a character reference is out of range', start);
        digits++;
        this.pos++;
      }
      if (digits === 0 || b[this.pos] !== SEMI) this.fail('a character reference is malformed', start);
      const legal =
        value === 0x9 ||
        value === 0xa ||
        value === 0xd ||
        (value >= 0x20 && value <= 0xd7ff) ||
        (value >= 0xe000 && value <= 0xfffd) ||
        (value >= 0x10000 && value <= 0x10ffff);
      if (!legal) this.fail('a character reference names a character XML does not allow', start);
      this.pos++;
      return;
    }
    const nameStart = this.pos;
    while (this.pos < b.length && this.pos - nameStart <= 8 && isNameChar(b[this.pos]!)) this.pos++;
    if (b[this.pos] !== SEMI || this.pos === nameStart) this.fail('an "&" is not part of a valid reference', start);
    const entity = utf8.decode(b.subarray(nameStart, this.pos));
    if (!Object.hasOwn(PREDEFINED_ENTITIES, entity)) {
      this.fail(`the entity "&${entity};" is not defined (only the five predefined entities are allowed)`, start);
    }
    this.pos++;
  }

  /** An end tag at `start`, which must close the innermost open element; returns the position after it. */
  private endTag(start: number): number {
    const b = this.b;
    const n = b.length;
    const nameStart = start + 2;
    let pos = nameStart;
    if (pos >= n || NAME_START[b[pos]!] !== 1) this.fail('an end tag name is missing or malformed', pos);
    pos++;
    while (pos < n && NAME_CHAR[b[pos]!] === 1) pos++;
    const nameEnd = pos;
    let c = 0;
    while (pos < n && ((c = b[pos]!) === 0x20 || c === 0x0a || c === 0x09 || c === 0x0d)) pos++;
    if (pos >= n || c !== GT) this.fail('an end tag is malformed', start);
    pos++;
    const stack = this.stack;
    const openEnd = stack.pop()!;
    const openStart = stack.pop()!;
    if (!this.sameBytes(openStart, openEnd, nameStart, nameEnd)) {
      this.fail(
        `the end tag </${utf8.decode(b.subarray(nameStart, nameEnd))}> does not match <${utf8.decode(b.subarray(openStart, openEnd))}>`,
        start,
      );
    }
    if (this.wantEvents) this.options.onClose?.(this.decode(nameStart, nameEnd));
    return pos;
  }

  /**
   * The text of a byte range, for events. The document is decoded once: when
   * it is ASCII (KNIME's files nearly always are), string indexes are byte
   * offsets and every name or value is a cheap slice of it.
   */
  private decode(start: number, end: number): string {
    if (this.text === undefined) {
      const text = utf8.decode(this.b);
      this.text = text.length === this.b.length ? text : '';
    }
    return this.text !== '' ? this.text.slice(start, end) : utf8.decode(this.b.subarray(start, end));
  }

  /** An attribute value as the application sees it: whitespace normalised (XML 1.0 §3.3.3), references resolved. */
  private attributeValue(start: number, end: number, hasReference: boolean): string {
    let value = this.decode(start, end);
    VALUE_WHITESPACE.lastIndex = 0;
    if (VALUE_WHITESPACE.test(value)) value = value.replace(VALUE_WHITESPACE, ' ');
    return hasReference ? decodeReferences(value) : value;
  }
}

/** Tab, LF and CR: attribute value normalisation turns each into a space (XML 1.0 §3.3.3). */
const VALUE_WHITESPACE = /[\t\n\r]/g;

function decodeReferences(value: string): string {
  return value.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-z]+);/g, (_, ref: string) => {
    if (ref.startsWith('#x')) return String.fromCodePoint(parseInt(ref.slice(2), 16));
    if (ref.startsWith('#')) return String.fromCodePoint(parseInt(ref.slice(1), 10));
    return PREDEFINED_ENTITIES[ref] ?? '';
  });
}
