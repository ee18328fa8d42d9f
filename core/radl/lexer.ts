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

const NEWLINE = 10, CR = 13, SPACE = 32, TAB = 9, HASH = 35, BACKSLASH = 92;
const SINGLE_QUOTE = 39, DOUBLE_QUOTE = 34;

const IDENT_START = /[A-Za-z_.]/y;
const IDENT_REST = /[\p{L}\p{N}_.\-]*/uy;
const NUMBER = /[0-9]+(?:\.[0-9]*)?/y;

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
  readonly skipped: { char: string; line: number }[] = [];

  constructor(private readonly text: string) {}

  get inRecipeMode(): boolean {
    return this.inRecipe;
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
    if (start >= text.length) return this.token("EOF", "", start);
    if (text.startsWith("@end", start)) {
      this.pos += 4;
      this.inRecipe = false;
      return this.token("RECIPE_END", "@end", start);
    }
    const newline = text.indexOf("\n", start);
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
      if (code >= 48 && code <= 57) {
        NUMBER.lastIndex = start;
        const match = NUMBER.exec(text)![0];
        this.pos += match.length;
        return this.token("NUMBER", match, start, this.line, match.includes("."));
      }
      if (code === SINGLE_QUOTE || code === DOUBLE_QUOTE) {
        const token = this.scanString(code);
        if (token) return token;
        this.skip(start);
        continue;
      }
      IDENT_START.lastIndex = start;
      if (IDENT_START.test(text)) {
        IDENT_REST.lastIndex = start + 1;
        const rest = IDENT_REST.exec(text)![0];
        const word = text.slice(start, start + 1 + rest.length);
        this.pos = start + word.length;
        return this.token(KEYWORDS.get(word) ?? "VAR", word, start);
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
    return this.token("EOF", "", this.pos);
  }

  private scanBodyPunctuation(code: number, start: number): Token | null {
    const following = this.text.charCodeAt(start + 1);
    const single = (type: TokenType, text: string) => {
      this.pos += text.length;
      return this.token(type, text, start);
    };
    switch (code) {
      case 91: return single("LBRACK", "[");
      case 93: return single("RBRACK", "]");
      case 44: return single("COMMA", ",");
      case 61: return single("EQ", "=");
      case 60: return following === 61 ? single("LE", "<=") : single("LT", "<");
      case 62: return following === 61 ? single("GE", ">=") : single("GT", ">");
      default: return null;
    }
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
    const value =
      token.type === "NUMBER"
        ? token.isFloat ? pyFloatRepr(Number(token.text)) : String(BigInt(token.text))
        : pyStrRepr(token.text);
    const codePointPos = [...this.text.slice(0, token.pos)].length;
    return `LexToken(${token.type},${value},${token.line},${codePointPos})`;
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
