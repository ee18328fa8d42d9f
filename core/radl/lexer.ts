import { RadlError } from "./errors.ts";
import { pyFloatRepr, pyStrRepr } from "./python-repr.ts";

/** Token types carry the reference lexer's names, because they appear in IM's parse errors. */
export type TokenType =
  | "LPAREN" | "RPAREN" | "LBRACK" | "RBRACK" | "COMMA"
  | "EQ" | "LT" | "GT" | "LE" | "GE"
  | "NUMBER" | "STRING" | "VAR"
  | "DESCRIPTION" | "NETWORK" | "SYSTEM" | "ANSIBLE" | "CONFIGURE" | "CONTEXTUALIZE" | "DEPLOY"
  | "SOFT" | "AND" | "CONTAINS" | "OPTION" | "STEP" | "WITH"
  | "RECIPE_BEGIN" | "RECIPE_END" | "RECIPE"
  | "EOF";

/** The keywords by length, so that a word is compared with a few of them without being copied. */
const KEYWORDS_BY_LENGTH: readonly (readonly { word: string; type: TokenType }[])[] = (() => {
  const table: { word: string; type: TokenType }[][] = [];
  const keywords: [string, TokenType][] = [
    ["description", "DESCRIPTION"], ["network", "NETWORK"], ["system", "SYSTEM"],
    ["ansible", "ANSIBLE"], ["configure", "CONFIGURE"], ["contextualize", "CONTEXTUALIZE"],
    ["deploy", "DEPLOY"], ["soft", "SOFT"], ["and", "AND"], ["contains", "CONTAINS"],
    ["option", "OPTION"], ["step", "STEP"], ["with", "WITH"],
  ];
  for (const [word, type] of keywords) (table[word.length] ??= []).push({ word, type });
  return table;
})();

const NO_KEYWORDS: readonly { word: string; type: TokenType }[] = [];

/** How many distinct identifiers, and string values, a lexer interns. */
const MAX_INTERNED = 1024;

/** Longer string values are rarely repeated, and are not interned. */
const MAX_INTERNED_VALUE_LENGTH = 64;

/** Integers of up to this many digits are read digit by digit: exactly, as `Number` would. */
const MAX_EXACT_DIGITS = 15;

const NEWLINE = 10, CR = 13, SPACE = 32, TAB = 9, HASH = 35, BACKSLASH = 92;
const SINGLE_QUOTE = 39, DOUBLE_QUOTE = 34;

/** The rest of an identifier after its first character; only used past a non-ASCII character. */
const IDENT_REST = /[\p{L}\p{N}_.\-]*/uy;

/** `[A-Za-z_.]`: the characters that start an identifier. */
function isIdentStart(code: number): boolean {
  return (code >= 97 && code <= 122) || (code >= 65 && code <= 90) || code === 95 || code === 46;
}

/** The ASCII part of `[\p{L}\p{N}_.\-]`: letters, digits, `_`, `.`, `-`. */
function isAsciiIdentRest(code: number): boolean {
  return (code >= 97 && code <= 122) || (code >= 65 && code <= 90) || (code >= 48 && code <= 57) || code === 95 || code === 46 || code === 45;
}

function isDigit(code: number): boolean {
  return code >= 48 && code <= 57;
}

/**
 * One string for equal strings, so that the model keeps one for each name or value instead of
 * one per use (fewer objects for the garbage collector to copy). The table stays small (the
 * first strings met) so that it stays in the cache when a large document has thousands of
 * distinct ids.
 */
class Interner {
  private readonly table = new Map<string, string>();

  get(text: string): string {
    const known = this.table.get(text);
    if (known !== undefined) return known;
    if (this.table.size < MAX_INTERNED) this.table.set(text, text);
    return text;
  }
}

/**
 * Pull lexer over RADL text (spec §1). It has three modes: top level, inside parentheses
 * (body), and recipe capture between `@begin` and `@end`. Characters that start no token are
 * skipped, as the reference does.
 *
 * The current token (the parser's lookahead) lives in the lexer's own fields, and `advance`
 * replaces it with the next one: a document has millions of tokens, and allocating one object
 * for each cost more than reading them.
 */
export class Lexer {
  /** The current token's type. */
  type: TokenType = "EOF";
  /**
   * VAR: the identifier; STRING: the contents (verbatim); RECIPE: its lines; keywords and
   * punctuation: their text. Empty for NUMBER and EOF.
   */
  text = "";
  /** NUMBER: the value. */
  number = 0;
  /** NUMBER: whether it was written with a `.` (Python float) or not (int). */
  isFloat = false;
  /** The line where the current token starts; for a RECIPE, its last line (where an end of input after it is reported). */
  line = 1;
  /** The current token's UTF-16 offset in the input. */
  start = 0;

  private pos = 0;
  private cursorLine = 1;
  private depth = 0;
  private inRecipe = false;
  /** Where a failed scan of an unterminated string stopped, per quote kind (avoids O(n²)). */
  private readonly failedStringEnd = new Map<number, number>();
  /** Identifiers: property names and ids repeat throughout a document. */
  private readonly names = new Interner();
  /** Short string values: image names, user names, network names… repeat from system to system. */
  private readonly values = new Interner();

  /** Offset of the end of the input: one past the text when a final newline is implied. */
  private readonly end: number;

  /**
   * Reads the first token.
   * @param finalNewline lex `text` as if it ended with one more `\n` (what the parser reads,
   *   since the reference appends one), without copying the text to append it.
   */
  constructor(private readonly source: string, private readonly finalNewline = false) {
    this.end = finalNewline ? source.length + 1 : source.length;
    this.advance();
  }

  get inRecipeMode(): boolean {
    return this.inRecipe;
  }

  /** Moves to the next token. */
  advance(): void {
    if (this.inRecipe) this.scanRecipe();
    else this.scanCode();
  }

  private setToken(type: TokenType, text: string, start: number, line = this.cursorLine): void {
    this.type = type;
    this.text = text;
    this.start = start;
    this.line = line;
  }

  /**
   * Recipe mode: `@end` at the start of a line ends it; the lines before it (all of the rest of
   * the input when none does) are one RECIPE token.
   */
  private scanRecipe(): void {
    const { source } = this;
    const start = this.pos;
    if (start >= this.end) return this.setToken("EOF", "", start);
    if (source.startsWith("@end", start)) {
      this.pos += 4;
      this.inRecipe = false;
      return this.setToken("RECIPE_END", "@end", start);
    }
    const endMarker = source.indexOf("\n@end", start);
    const end = endMarker === -1 ? this.end : endMarker + 1;
    // Past the text, the implied final newline ends the last line.
    const recipe = end > source.length ? `${source.slice(start)}\n` : source.slice(start, end);
    let newlines = 0;
    for (let i = recipe.indexOf("\n"); i !== -1; i = recipe.indexOf("\n", i + 1)) newlines++;
    this.cursorLine += newlines;
    this.pos = end;
    this.setToken("RECIPE", recipe, start, recipe.endsWith("\n") ? this.cursorLine - 1 : this.cursorLine);
  }

  private scanCode(): void {
    const { source } = this;
    const length = source.length;
    for (let start = this.skipBlanks(); start < length; start = this.skipBlanks()) {
      const code = source.charCodeAt(start);
      if (code === 40 /* ( */) {
        this.pos++;
        this.depth++;
        return this.setToken("LPAREN", "(", start);
      }
      if (code === 41 /* ) */) {
        this.pos++;
        if (this.depth > 0) this.depth--;
        return this.setToken("RPAREN", ")", start);
      }
      if (isDigit(code)) return this.scanNumber(start);
      if (code === SINGLE_QUOTE || code === DOUBLE_QUOTE) {
        if (this.scanString(code)) return;
        this.skip(start);
        continue;
      }
      if (isIdentStart(code)) {
        let end = start + 1;
        while (end < length && isAsciiIdentRest(source.charCodeAt(end))) end++;
        if (end < length && source.charCodeAt(end) >= 128) {
          IDENT_REST.lastIndex = end;
          end += IDENT_REST.exec(source)![0].length;
        }
        this.pos = end;
        return this.word(start, end);
      }
      if (code === 64 /* @ */ && source.startsWith("@begin", start)) {
        this.pos += 6;
        this.inRecipe = true;
        return this.setToken("RECIPE_BEGIN", "@begin", start);
      }
      if (this.depth > 0 && this.scanBodyPunctuation(code, start)) return;
      this.skip(start);
    }
    if (this.pos === length && this.finalNewline) {
      // The implied final newline.
      this.cursorLine++;
      this.pos++;
    }
    this.setToken("EOF", "", this.pos);
  }

  /** Moves past blanks and comments; returns where the next token may start. */
  private skipBlanks(): number {
    const { source } = this;
    const length = source.length;
    let pos = this.pos;
    let line = this.cursorLine;
    while (pos < length) {
      const code = source.charCodeAt(pos);
      if (code === SPACE || code === TAB || code === CR) pos++;
      else if (code === NEWLINE) {
        line++;
        pos++;
      } else if (code === HASH) {
        const newline = source.indexOf("\n", pos);
        pos = newline === -1 ? length : newline;
      } else break;
    }
    this.pos = pos;
    this.cursorLine = line;
    return pos;
  }

  /** `[0-9]+(\.[0-9]*)?`; short integers are read without copying their digits. */
  private scanNumber(start: number): void {
    const { source } = this;
    const length = source.length;
    let value = 0;
    let end = start;
    for (let code = source.charCodeAt(end); isDigit(code); code = source.charCodeAt(++end)) value = value * 10 + (code - 48);
    const isFloat = end < length && source.charCodeAt(end) === 46;
    if (isFloat) {
      end++;
      while (end < length && isDigit(source.charCodeAt(end))) end++;
    }
    this.pos = end;
    this.setToken("NUMBER", "", start);
    this.number = isFloat || end - start > MAX_EXACT_DIGITS ? Number(source.slice(start, end)) : value;
    this.isFloat = isFloat;
  }

  /** A keyword or an identifier. */
  private word(start: number, end: number): void {
    for (const keyword of KEYWORDS_BY_LENGTH[end - start] ?? NO_KEYWORDS) {
      if (this.source.startsWith(keyword.word, start)) return this.setToken(keyword.type, keyword.word, start);
    }
    this.setToken("VAR", this.names.get(this.source.slice(start, end)), start);
  }

  private scanBodyPunctuation(code: number, start: number): boolean {
    const following = this.source.charCodeAt(start + 1);
    switch (code) {
      case 91: return this.punctuation("LBRACK", "[", start);
      case 93: return this.punctuation("RBRACK", "]", start);
      case 44: return this.punctuation("COMMA", ",", start);
      case 61: return this.punctuation("EQ", "=", start);
      case 60: return following === 61 ? this.punctuation("LE", "<=", start) : this.punctuation("LT", "<", start);
      case 62: return following === 61 ? this.punctuation("GE", ">=", start) : this.punctuation("GT", ">", start);
      default: return false;
    }
  }

  private punctuation(type: TokenType, text: string, start: number): true {
    this.pos += text.length;
    this.setToken(type, text, start);
    return true;
  }

  /**
   * A quoted string (spec §1.4): backslash pairs never end it and are kept verbatim; `'…'`
   * may span lines, `"…"` may not. False when the quote has no closing partner.
   */
  private scanString(quote: number): boolean {
    const { source } = this;
    const start = this.pos;
    if ((this.failedStringEnd.get(quote) ?? -1) > start) return false;
    const multiline = quote === SINGLE_QUOTE;
    let newlines = 0;
    let i = start + 1;
    for (;;) {
      if (i >= source.length) break;
      const code = source.charCodeAt(i);
      if (code === quote) {
        const value = source.slice(start + 1, i);
        this.setToken("STRING", i - start - 1 <= MAX_INTERNED_VALUE_LENGTH ? this.values.get(value) : value, start);
        this.cursorLine += newlines;
        this.pos = i + 1;
        return true;
      }
      if (code === BACKSLASH) {
        if (i + 1 < source.length && source.charCodeAt(i + 1) !== NEWLINE) {
          i += 2;
          continue;
        }
        break;
      }
      if (code === NEWLINE) {
        if (!multiline) break;
        newlines++;
      }
      i++;
    }
    // Every quote of the same kind before `i` lies inside a backslash pair of this scan, so a
    // scan starting there would follow the same path and fail at `i` too.
    this.failedStringEnd.set(quote, i);
    return false;
  }

  /** Steps over one illegal character (a whole code point). */
  private skip(start: number): void {
    this.pos = start + (this.source.codePointAt(start)! > 0xffff ? 2 : 1);
  }

  /** The reference's rendering of the current token in parse errors: `LexToken(TYPE,value,line,pos)`. */
  describe(): string {
    if (this.type === "EOF") return "unexpected end of input";
    let value: string;
    if (this.type === "NUMBER") {
      // An int is printed as Python's int() would: its digits without leading zeros (not through
      // BigInt, whose parse of a 10 MB number takes seconds).
      value = this.isFloat ? pyFloatRepr(this.number) : this.source.slice(this.start, this.pos).replace(/^0+(?=[0-9])/, "");
    } else value = pyStrRepr(this.text);
    return `LexToken(${this.type},${value},${this.line},${this.codePointOffset(this.start)})`;
  }

  /** The offset in code points (Python's position) of a UTF-16 offset, without copying the input. */
  private codePointOffset(pos: number): number {
    let offset = pos;
    for (let i = 1; i < pos; i++) {
      const code = this.source.charCodeAt(i);
      if (code >= 0xdc00 && code <= 0xdfff && (this.source.charCodeAt(i - 1) & 0xfc00) === 0xd800) offset--;
    }
    return offset;
  }
}

/** The parse error the reference reports for the lexer's current token, which the parser did not expect. */
export function unexpected(lexer: Lexer, lastLine: number): RadlError {
  if (lexer.type === "EOF") {
    const where = lexer.inRecipeMode ? " in recipe" : "";
    return new RadlError(`Parse error: unexpected end of input${where}`, lastLine);
  }
  return new RadlError(`Parse error in: ${lexer.describe()}`, lexer.line);
}
