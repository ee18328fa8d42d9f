import { RadlError } from "./errors.ts";
import { pyFloatRepr, pyStrRepr } from "./python-repr.ts";

/** Token types carry the reference lexer's names, because they appear in IM's parse errors. */
export type TokenType =
  | "LPAREN" | "RPAREN" | "LBRACK" | "RBRACK" | "COMMA"
  | "EQ" | "LT" | "GT" | "LE" | "GE"
  | "NUMBER" | "STRING" | "VAR"
  | "DESCRIPTION" | "NETWORK" | "SYSTEM" | "ANSIBLE" | "CONFIGURE" | "CONTEXTUALIZE" | "DEPLOY"
  | "SOFT" | "AND" | "CONTAINS" | "OPTION" | "STEP" | "WITH"
  | "RECIPE_BEGIN" | "RECIPE_END" | "RECIPE_LINE"
  | "EOF";

export interface Token {
  type: TokenType;
  /** Keyword or identifier text, string contents (verbatim), recipe line, or the number. */
  text: string;
  /** For NUMBER: whether it was written with a `.` (Python float) or not (int). */
  isFloat: boolean;
  line: number;
  /** UTF-16 offset in the input. */
  pos: number;
}

const KEYWORDS: ReadonlyMap<string, TokenType> = new Map([
  ["description", "DESCRIPTION"], ["network", "NETWORK"], ["system", "SYSTEM"],
  ["ansible", "ANSIBLE"], ["configure", "CONFIGURE"], ["contextualize", "CONTEXTUALIZE"],
  ["deploy", "DEPLOY"], ["soft", "SOFT"], ["and", "AND"], ["contains", "CONTAINS"],
  ["option", "OPTION"], ["step", "STEP"], ["with", "WITH"],
] as [string, TokenType][]);

/** How many distinct identifiers a lexer interns. */
const MAX_INTERNED = 1024;

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
 * Pull lexer over RADL text (spec §1). It has three modes: top level, inside parentheses
 * (body), and recipe capture between `@begin` and `@end`. Characters that start no token are
 * skipped, as the reference does.
 */
export class Lexer {
  private pos = 0;
  private line = 1;
  private depth = 0;
  private inRecipe = false;
  /** Where a failed scan of an unterminated string stopped, per quote kind (avoids O(n²)). */
  private readonly failedStringEnd = new Map<number, number>();
  private lookahead: Token | null = null;
  private readonly names = new Map<string, string>();
  readonly skipped: { char: string; line: number }[] = [];

  /** Offset of the end of the input: one past the text when a final newline is implied. */
  private readonly end: number;

  /**
   * @param finalNewline lex `text` as if it ended with one more `\n` (what the parser reads,
   *   since the reference appends one), without copying the text to append it.
   */
  constructor(private readonly text: string, private readonly finalNewline = false) {
    this.end = finalNewline ? text.length + 1 : text.length;
  }

  get inRecipeMode(): boolean {
    return this.inRecipe;
  }

  /** The input between two offsets (e.g. a recipe from its first line to `@end`). */
  source(start: number, end: number): string {
    return end > this.text.length ? `${this.text.slice(start)}\n` : this.text.slice(start, end);
  }

  peek(): Token {
    this.lookahead ??= this.scan();
    return this.lookahead;
  }

  next(): Token {
    const token = this.peek();
    this.lookahead = null;
    return token;
  }

  private scan(): Token {
    return this.inRecipe ? this.scanRecipe() : this.scanCode();
  }

  private token(type: TokenType, text: string, start: number, line = this.line, isFloat = false): Token {
    return { type, text, isFloat, line, pos: start };
  }

  private scanRecipe(): Token {
    const { text } = this;
    const start = this.pos;
    if (start >= this.end) return this.token("EOF", "", start);
    if (text.startsWith("@end", start)) {
      this.pos += 4;
      this.inRecipe = false;
      return this.token("RECIPE_END", "@end", start);
    }
    const newline = text.indexOf("\n", start);
    if (newline === -1 && this.finalNewline) {
      // The last line, ended by the implied final newline.
      const line = this.line;
      this.pos = this.end;
      this.line++;
      return this.token("RECIPE_LINE", `${text.slice(start)}\n`, start, line);
    }
    const end = newline === -1 ? text.length : newline + 1;
    const line = this.line;
    this.pos = end;
    if (newline !== -1) this.line++;
    return this.token("RECIPE_LINE", text.slice(start, end), start, line);
  }

  private scanCode(): Token {
    const { text } = this;
    const length = text.length;
    while (this.pos < length) {
      const start = this.pos;
      const code = text.charCodeAt(start);
      if (code === SPACE || code === TAB || code === CR) {
        this.pos++;
        continue;
      }
      if (code === NEWLINE) {
        this.line++;
        this.pos++;
        continue;
      }
      if (code === HASH) {
        const newline = text.indexOf("\n", start);
        this.pos = newline === -1 ? length : newline;
        continue;
      }
      if (code === 40 /* ( */) {
        this.pos++;
        this.depth++;
        return this.token("LPAREN", "(", start);
      }
      if (code === 41 /* ) */) {
        this.pos++;
        if (this.depth > 0) this.depth--;
        return this.token("RPAREN", ")", start);
      }
      if (isDigit(code)) {
        // [0-9]+(\.[0-9]*)?
        let end = start + 1;
        while (end < length && isDigit(text.charCodeAt(end))) end++;
        const isFloat = end < length && text.charCodeAt(end) === 46;
        if (isFloat) {
          end++;
          while (end < length && isDigit(text.charCodeAt(end))) end++;
        }
        this.pos = end;
        return this.token("NUMBER", text.slice(start, end), start, this.line, isFloat);
      }
      if (code === SINGLE_QUOTE || code === DOUBLE_QUOTE) {
        const token = this.scanString(code);
        if (token) return token;
        this.skip(start);
        continue;
      }
      if (isIdentStart(code)) {
        let end = start + 1;
        while (end < length && isAsciiIdentRest(text.charCodeAt(end))) end++;
        if (end < length && text.charCodeAt(end) >= 128) {
          IDENT_REST.lastIndex = end;
          end += IDENT_REST.exec(text)![0].length;
        }
        this.pos = end;
        return this.word(text.slice(start, end), start);
      }
      if (code === 64 /* @ */ && text.startsWith("@begin", start)) {
        this.pos += 6;
        this.inRecipe = true;
        return this.token("RECIPE_BEGIN", "@begin", start);
      }
      if (this.depth > 0) {
        const token = this.scanBodyPunctuation(code, start);
        if (token) return token;
      }
      this.skip(start);
    }
    if (this.pos === length && this.finalNewline) {
      // The implied final newline.
      this.line++;
      this.pos++;
    }
    return this.token("EOF", "", this.pos);
  }

  /**
   * A keyword or an identifier. Identifiers are interned: property names and ids repeat
   * throughout a document, and the model keeps one string for each instead of one per use. The
   * table stays small (the first names met, where the property names are) so that it stays in
   * the cache when a large document has thousands of distinct ids.
   */
  private word(word: string, start: number): Token {
    const keyword = KEYWORDS.get(word);
    if (keyword) return this.token(keyword, word, start);
    const name = this.names.get(word);
    if (name !== undefined) return this.token("VAR", name, start);
    if (this.names.size < MAX_INTERNED) this.names.set(word, word);
    return this.token("VAR", word, start);
  }

  private scanBodyPunctuation(code: number, start: number): Token | null {
    const following = this.text.charCodeAt(start + 1);
    switch (code) {
      case 91: return this.punctuation("LBRACK", "[", start);
      case 93: return this.punctuation("RBRACK", "]", start);
      case 44: return this.punctuation("COMMA", ",", start);
      case 61: return this.punctuation("EQ", "=", start);
      case 60: return following === 61 ? this.punctuation("LE", "<=", start) : this.punctuation("LT", "<", start);
      case 62: return following === 61 ? this.punctuation("GE", ">=", start) : this.punctuation("GT", ">", start);
      default: return null;
    }
  }

  private punctuation(type: TokenType, text: string, start: number): Token {
    this.pos += text.length;
    return this.token(type, text, start);
  }

  /**
   * A quoted string (spec §1.4): backslash pairs never end it and are kept verbatim; `'…'`
   * may span lines, `"…"` may not. Returns null when the quote has no closing partner.
   */
  private scanString(quote: number): Token | null {
    const { text } = this;
    const start = this.pos;
    if ((this.failedStringEnd.get(quote) ?? -1) > start) return null;
    const multiline = quote === SINGLE_QUOTE;
    let newlines = 0;
    let i = start + 1;
    for (;;) {
      if (i >= text.length) break;
      const code = text.charCodeAt(i);
      if (code === quote) {
        const line = this.line;
        this.line += newlines;
        this.pos = i + 1;
        return this.token("STRING", text.slice(start + 1, i), start, line);
      }
      if (code === BACKSLASH) {
        if (i + 1 < text.length && text.charCodeAt(i + 1) !== NEWLINE) {
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
    return null;
  }

  private skip(start: number): void {
    const char = String.fromCodePoint(this.text.codePointAt(start)!);
    if (this.skipped.length < 100) this.skipped.push({ char, line: this.line });
    this.pos = start + char.length;
  }

  /** The reference's rendering of a token in parse errors: `LexToken(TYPE,value,line,pos)`. */
  describe(token: Token): string {
    if (token.type === "EOF") return "unexpected end of input";
    // An int is printed as Python's int() would: its digits without leading zeros (not through
    // BigInt, whose parse of a 10 MB number takes seconds).
    const value =
      token.type === "NUMBER"
        ? token.isFloat ? pyFloatRepr(Number(token.text)) : token.text.replace(/^0+(?=[0-9])/, "")
        : pyStrRepr(token.text);
    return `LexToken(${token.type},${value},${token.line},${this.codePointOffset(token.pos)})`;
  }

  /** The offset in code points (Python's position) of a UTF-16 offset, without copying the input. */
  private codePointOffset(pos: number): number {
    let offset = pos;
    for (let i = 1; i < pos; i++) {
      const code = this.text.charCodeAt(i);
      if (code >= 0xdc00 && code <= 0xdfff && (this.text.charCodeAt(i - 1) & 0xfc00) === 0xd800) offset--;
    }
    return offset;
  }
}

/** The parse error the reference reports for an unexpected token. */
export function unexpected(lexer: Lexer, token: Token, lastLine: number): RadlError {
  if (token.type === "EOF") {
    const where = lexer.inRecipeMode ? " in recipe" : "";
    return new RadlError(`Parse error: unexpected end of input${where}`, lastLine);
  }
  return new RadlError(`Parse error in: ${lexer.describe(token)}`, token.line);
}
