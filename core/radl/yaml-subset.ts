// A fast, conservative YAML well-formedness check for the YAML that recipes are written in.
//
// Parsing every recipe with the `yaml` package dominated `check` (under 2 MB/s). Real recipes
// use a small part of YAML: block mappings and sequences laid out by indentation, one-line
// scalars (plain, single- or double-quoted), one-line flow collections, `|`/`>` block scalars,
// comments and a leading `---`. `isCertainlyValidYaml` reads that subset in one pass and answers
// true only when the text is certainly one well-formed document (or none) for the `yaml` package
// as `readRecipes` (check.ts) sets it up; anything outside the subset or doubtful answers false,
// and the caller then asks the `yaml` package, which also words the error.
// test/unit/radl/yaml-subset.test.ts checks the two agree.

const SPACE = 32, HASH = 35, DASH = 45, COLON = 58, COMMA = 44;
const SINGLE_QUOTE = 39, DOUBLE_QUOTE = 34, BACKSLASH = 92, DOT = 46, PERCENT = 37;
const LBRACKET = 91, RBRACKET = 93, LBRACE = 123, RBRACE = 125, PIPE = 124, GREATER = 62;
const PLUS = 43;

/** Nesting of compact sequences (`- - x`) and flow collections this reader follows; deeper is left to the `yaml` package. */
const MAX_INLINE_DEPTH = 32;

/** The `yaml` package refuses implicit block mapping keys (quoted ones too) of more than 1024 characters; stay well below. */
const MAX_KEY_LENGTH = 1000;

// What the readers that otherwise return a position in the text return instead.
/** Outside the subset (or not valid YAML). */
const FAILED = -1;
/** A complete value that ends the line: a scalar, a flow collection or a block scalar header. */
const VALUE = -2;

/** Characters outside the subset: tabs, carriage returns, byte order marks, C1 controls, Unicode line separators, surrogates. */
const UNUSUAL_CHARACTER = /[^\n\x20-\x7e\u00a0-\u2027\u202a-\ud7ff\ue000-\ufefe]/;

/** Characters after `\` in a double-quoted scalar that the `yaml` package accepts on their own. */
const SIMPLE_ESCAPES: ReadonlySet<number> = new Set([..."0abtnvfre \"/\\N_LP"].map((c) => c.charCodeAt(0)));

/**
 * True when `text` is certainly a single well-formed YAML document (or an empty stream) for the
 * `yaml` package; false when it is not, or when it uses YAML beyond the subset read here.
 */
export function isCertainlyValidYaml(text: string): boolean {
  return !UNUSUAL_CHARACTER.test(text) && new SubsetReader(text).read();
}

/**
 * Reads the text line by line, keeping the open block collections on a stack. A line may start
 * a node where one is expected (after `key:` or `-` with nothing else on their line, or at the
 * document's top), or continue the collection whose indentation it has. Keys are not compared:
 * `readRecipes` (check.ts) has the package take a key given twice, as PyYAML does.
 */
class SubsetReader {
  /** The open block collections, innermost last: the column of a sequence's `-` or of a mapping's keys. */
  private readonly indents: number[] = [];
  /** Per open block collection: whether it is a mapping (else a sequence). */
  private readonly isMapping: boolean[] = [];
  private lineStart = 0;
  private lineEnd = 0;
  /**
   * Where a line may start a node: the indentation it must exceed, i.e. that of the collection
   * whose `key:` or `-` left its value open (-1 for the document's top node); null when no node
   * is expected.
   */
  private openValueIndent: number | null = -1;
  /** The open value follows `key:`, so a sequence may start at the key's own column. */
  private openValueAfterKey = false;
  private documentStarted = false;
  /** While inside a block scalar: the indentation its content must exceed, else null. */
  private blockParentIndent: number | null = null;
  /** The block scalar's content indentation, null until its first non-blank line. */
  private blockIndent: number | null = null;
  /** The longest blank line before the block scalar's first non-blank line. */
  private blockLeadingBlank = 0;

  constructor(private readonly text: string) {}

  read(): boolean {
    const { text } = this;
    while (this.lineStart < text.length) {
      const newline = text.indexOf("\n", this.lineStart);
      this.lineEnd = newline === -1 ? text.length : newline;
      if (!this.line()) return false;
      this.lineStart = this.lineEnd + 1;
    }
    return this.blockParentIndent === null || this.endBlockScalar();
  }

  private line(): boolean {
    const { text, lineStart, lineEnd } = this;
    let start = lineStart;
    while (start < lineEnd && text.charCodeAt(start) === SPACE) start++;
    const indent = start - lineStart;
    const first = text.charCodeAt(start);
    // Even inside a block scalar: a marker at the start of a line ends the document.
    if (indent === 0 && (first === DASH || first === DOT || first === PERCENT) && this.isMarkerOrDirective()) return this.documentStart();
    if (this.blockParentIndent !== null) {
      if (this.isBlockScalarLine(indent, start === lineEnd)) return this.blockIndent === null || this.blockLeadingBlank <= this.blockIndent;
      if (!this.endBlockScalar()) return false;
    }
    if (start === lineEnd || first === HASH) return true;
    this.documentStarted = true;
    if (this.openValueIndent !== null) {
      const parentIndent = this.openValueIndent;
      const sequenceAtKeyColumn = indent === parentIndent && this.openValueAfterKey && this.isSequenceEntry(start);
      this.openValueIndent = null;
      if (indent > parentIndent || sequenceAtKeyColumn) return this.node(start, parentIndent, 0);
    }
    return this.continueCollection(start, indent);
  }

  /** Whether a line belongs to the open block scalar; its first non-blank line sets the content indentation. */
  private isBlockScalarLine(indent: number, blank: boolean): boolean {
    if (this.blockIndent !== null) return blank || indent >= this.blockIndent;
    if (blank) {
      this.blockLeadingBlank = Math.max(this.blockLeadingBlank, indent);
      return true;
    }
    if (indent <= this.blockParentIndent!) return false;
    this.blockIndent = indent;
    return true;
  }

  /**
   * Closes the block scalar. Leading blank lines longer than the content indentation need an
   * explicit indentation indicator, which this reader does not accept.
   */
  private endBlockScalar(): boolean {
    const longestAllowed = this.blockIndent ?? Math.max(this.blockParentIndent!, 0);
    this.blockParentIndent = null;
    return this.blockLeadingBlank <= longestAllowed;
  }

  /** `---`, `...` or `%` at the start of a line: document markers and directives. */
  private isMarkerOrDirective(): boolean {
    const { text, lineStart } = this;
    const first = text.charCodeAt(lineStart);
    return first === PERCENT || (text.charCodeAt(lineStart + 1) === first && text.charCodeAt(lineStart + 2) === first);
  }

  /** Only one `---`, before any content, alone on its line or followed by a comment. */
  private documentStart(): boolean {
    if (this.documentStarted || this.text.charCodeAt(this.lineStart) !== DASH) return false;
    this.documentStarted = true;
    return this.endOfLine(this.lineStart + 3);
  }

  private isSequenceEntry(start: number): boolean {
    return this.text.charCodeAt(start) === DASH && this.isSpaceOrEnd(start + 1);
  }

  private isSpaceOrEnd(position: number): boolean {
    return position >= this.lineEnd || this.text.charCodeAt(position) === SPACE;
  }

  /** A line at the indentation of an open collection: its next entry. */
  private continueCollection(start: number, indent: number): boolean {
    const { indents } = this;
    while (indents.length > 0 && indents[indents.length - 1] > indent) this.closeCollection();
    if (indents.length === 0 || indents[indents.length - 1] !== indent) return false;
    if (!this.isMapping[indents.length - 1] && !this.isSequenceEntry(start)) {
      // A sequence written at its parent key's column ends where the mapping goes on.
      this.closeCollection();
      if (indents.length === 0 || indents[indents.length - 1] !== indent) return false;
    }
    if (!this.isMapping[indents.length - 1]) return this.sequenceEntry(start, indent, 0);
    const afterKey = this.keyOrValue(start, indent);
    return afterKey >= 0 && this.mappingValue(afterKey, indent);
  }

  private openCollection(indent: number, isMapping: boolean): void {
    this.indents.push(indent);
    this.isMapping.push(isMapping);
  }

  private closeCollection(): void {
    this.indents.pop();
    this.isMapping.pop();
  }

  /** A node starting at `start`, inside a collection indented `parentIndent`. */
  private node(start: number, parentIndent: number, depth: number): boolean {
    const column = start - this.lineStart;
    if (this.isSequenceEntry(start)) {
      this.openCollection(column, false);
      return this.sequenceEntry(start, column, depth);
    }
    const afterKey = this.keyOrValue(start, parentIndent);
    if (afterKey === VALUE) return true;
    if (afterKey === FAILED) return false;
    this.openCollection(column, true);
    return this.mappingValue(afterKey, column);
  }

  /** After the `-` at `dash`: nothing (the value comes on the next lines) or a node. */
  private sequenceEntry(dash: number, indent: number, depth: number): boolean {
    const start = this.skipSpaces(dash + 1);
    if (start === this.lineEnd || this.text.charCodeAt(start) === HASH) return this.openValue(indent, false);
    return depth < MAX_INLINE_DEPTH && this.node(start, indent, depth + 1);
  }

  /** After `key:`: nothing (the value comes on the next lines) or a value on this line. */
  private mappingValue(afterColon: number, indent: number): boolean {
    const start = this.skipSpaces(afterColon);
    if (start === this.lineEnd || this.text.charCodeAt(start) === HASH) return this.openValue(indent, true);
    if (this.isSequenceEntry(start)) return false;
    return this.keyOrValue(start, indent) === VALUE;
  }

  private openValue(indent: number, afterKey: boolean): true {
    this.openValueIndent = indent;
    this.openValueAfterKey = afterKey;
    return true;
  }

  /**
   * Reads what starts at `start`: a key (returns the position after its `:`), or a value that
   * ends the line (returns VALUE), or something outside the subset (FAILED). A block scalar
   * header opens a block scalar whose content must be indented more than `parentIndent`.
   */
  private keyOrValue(start: number, parentIndent: number): number {
    const { text } = this;
    const first = text.charCodeAt(start);
    if (first === PIPE || first === GREATER) return this.blockScalarHeader(start + 1, parentIndent);
    if (first === LBRACKET || first === LBRACE) {
      const end = this.flowCollection(start, 0);
      return end !== FAILED && this.endOfLine(end) ? VALUE : FAILED;
    }
    let end: number;
    if (first === SINGLE_QUOTE || first === DOUBLE_QUOTE) {
      end = this.quoted(start);
      if (end === FAILED) return FAILED;
      const next = this.skipSpaces(end);
      if (text.charCodeAt(next) === COLON && next < this.lineEnd) return this.isSpaceOrEnd(next + 1) ? this.afterBlockKey(start, next) : FAILED;
      return this.endOfLine(end) ? VALUE : FAILED;
    }
    if (!this.isPlainStart(start)) return FAILED;
    // A plain scalar runs to the end of the line or to a comment; `: ` in it makes it a key.
    for (end = start + 1; end < this.lineEnd; end++) {
      const code = text.charCodeAt(end);
      if (code === COLON && this.isSpaceOrEnd(end + 1)) return this.afterBlockKey(start, end);
      if (code === HASH && text.charCodeAt(end - 1) === SPACE) return VALUE;
    }
    return VALUE;
  }

  /** `|` or `>`, an optional chomping indicator, then the end of the line. */
  private blockScalarHeader(afterIndicator: number, parentIndent: number): number {
    const code = this.text.charCodeAt(afterIndicator);
    const end = code === DASH || code === PLUS ? afterIndicator + 1 : afterIndicator;
    if (!this.endOfLine(end)) return FAILED;
    this.blockParentIndent = parentIndent;
    this.blockIndent = null;
    this.blockLeadingBlank = 0;
    return VALUE;
  }

  /** Spaces, then the end of the line or a comment after at least one space. */
  private endOfLine(position: number): boolean {
    const end = this.skipSpaces(position);
    return end === this.lineEnd || (end > position && this.text.charCodeAt(end) === HASH);
  }

  private skipSpaces(position: number): number {
    while (position < this.lineEnd && this.text.charCodeAt(position) === SPACE) position++;
    return position;
  }

  /** The position after the `:` at `colon` that ends the block mapping key written from `start`, or FAILED when the key is too long. */
  private afterBlockKey(start: number, colon: number): number {
    return colon - start > MAX_KEY_LENGTH ? FAILED : colon + 1;
  }

  /**
   * A plain scalar may start with any character but the indicators; `-` may start one when
   * something other than a space follows.
   */
  private isPlainStart(start: number): boolean {
    const code = this.text.charCodeAt(start);
    if (code === DASH) return start + 1 < this.lineEnd && !isIndicator(this.text.charCodeAt(start + 1)) && this.text.charCodeAt(start + 1) !== SPACE;
    return !isIndicator(code);
  }

  /** A quoted scalar that closes on its line; returns the position after the closing quote. */
  private quoted(start: number): number {
    const { text, lineEnd } = this;
    const quote = text.charCodeAt(start);
    for (let i = start + 1; i < lineEnd; i++) {
      const code = text.charCodeAt(i);
      if (code === quote) {
        if (quote === DOUBLE_QUOTE || text.charCodeAt(i + 1) !== SINGLE_QUOTE || i + 1 >= lineEnd) return i + 1;
        i++; // '' stands for one quote
      } else if (code === BACKSLASH && quote === DOUBLE_QUOTE) {
        if (!SIMPLE_ESCAPES.has(text.charCodeAt(i + 1)) || i + 1 >= lineEnd) return FAILED;
        i++;
      }
    }
    return FAILED;
  }

  /**
   * A flow sequence or mapping closed on its line, without empty entries or a trailing comma;
   * entries are scalars or flow collections, mapping keys are one-line scalars. Returns the
   * position after the closing bracket.
   */
  private flowCollection(start: number, depth: number): number {
    const { text } = this;
    const isMapping = text.charCodeAt(start) === LBRACE;
    const close = isMapping ? RBRACE : RBRACKET;
    let position = this.skipSpaces(start + 1);
    if (text.charCodeAt(position) === close && position < this.lineEnd) return position + 1;
    for (;;) {
      if (isMapping) {
        const afterKey = this.flowKey(position);
        if (afterKey === FAILED) return FAILED;
        position = this.skipSpaces(afterKey);
      }
      position = this.flowEntry(position, depth);
      if (position === FAILED) return FAILED;
      position = this.skipSpaces(position);
      if (position >= this.lineEnd) return FAILED;
      const code = text.charCodeAt(position);
      if (code === close) return position + 1;
      if (code !== COMMA) return FAILED;
      position = this.skipSpaces(position + 1);
    }
  }

  /** A flow mapping key followed by `: `; returns the position after the `:`. */
  private flowKey(start: number): number {
    const { text } = this;
    let end: number;
    const first = text.charCodeAt(start);
    if (first === SINGLE_QUOTE || first === DOUBLE_QUOTE) {
      end = this.quoted(start);
      if (end === FAILED) return FAILED;
      end = this.skipSpaces(end);
    } else {
      if (!this.isPlainStart(start)) return FAILED;
      end = start + 1;
      while (end < this.lineEnd && !isFlowIndicator(text.charCodeAt(end))) end++;
    }
    return end < this.lineEnd && text.charCodeAt(end) === COLON && text.charCodeAt(end + 1) === SPACE ? end + 1 : FAILED;
  }

  /** A scalar or a nested flow collection inside a flow collection; returns the position after it. */
  private flowEntry(start: number, depth: number): number {
    const { text } = this;
    const first = text.charCodeAt(start);
    if (first === LBRACKET || first === LBRACE) return depth < MAX_INLINE_DEPTH ? this.flowCollection(start, depth + 1) : FAILED;
    if (first === SINGLE_QUOTE || first === DOUBLE_QUOTE) return this.quoted(start);
    if (start >= this.lineEnd || !this.isPlainStart(start)) return FAILED;
    let end = start + 1;
    while (end < this.lineEnd && !isFlowIndicator(text.charCodeAt(end))) end++;
    // `:` would make an implicit pair, ` #` a comment that leaves the collection open.
    return end < this.lineEnd && (text.charCodeAt(end) === COLON || text.charCodeAt(end) === HASH) ? FAILED : end;
  }
}

/** The characters that cannot start a plain scalar. */
function isIndicator(code: number): boolean {
  switch (code) {
    case DASH: case 63 /* ? */: case COLON: case COMMA: case LBRACKET: case RBRACKET: case LBRACE: case RBRACE: case HASH:
    case 38 /* & */: case 42 /* * */: case 33 /* ! */: case PIPE: case GREATER: case SINGLE_QUOTE: case DOUBLE_QUOTE:
    case PERCENT: case 64 /* @ */: case 96 /* ` */:
      return true;
    default:
      return false;
  }
}

/** Characters that end a plain scalar inside a flow collection (`#` and `:` are refused there). */
function isFlowIndicator(code: number): boolean {
  return code === COMMA || code === LBRACKET || code === RBRACKET || code === LBRACE || code === RBRACE || code === COLON || code === HASH;
}
