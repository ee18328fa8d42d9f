// The IM auth file, as clients read it (IM behaviour §3.6): one credential per line as
// `key = value` pairs separated by `;`, or the same credentials as JSON. Pure: reading the files
// of `file(...)` and running `command(...)` are injected by the caller (the command line does;
// a server must never).
//
// Where we differ from the reference's parser, on purpose:
// - an unquoted `=` inside a value is kept (`password = abc=def` gives `abc=def`; the reference
//   drops the rest of the line);
// - spaces inside quotes are kept (`password = ' a '` gives ` a `);
// - mistakes are errors with the line number instead of silently dropped pairs: a pair without
//   `=`, an empty or malformed key, an unterminated quote, a credential without `type`, an
//   unreadable `file(...)`, a value that looks like a missing `;` (`type = Dummy host = h`).

/** One credential: every value is a string. */
export type AuthCredential = Record<string, string>;

/** How `file(PATH)` and `command(CMD)` values are expanded; absent resolvers keep the text as is. */
export interface AuthFileResolvers {
  /** The contents of PATH (the parser trims surrounding white space); throws if it cannot be read. */
  file?: (path: string) => string;
  /** The standard output of CMD (the parser removes its newlines); throws if it fails. */
  command?: (command: string) => string;
}

/** A mistake in an auth file; `line` is 1-based, or null when it concerns the whole file. */
export class AuthFileError extends Error {
  override name = "AuthFileError";
  constructor(
    readonly line: number | null,
    readonly detail: string,
  ) {
    super(line === null ? detail : `line ${line}: ${detail}`);
  }
}

const KEY = /^[A-Za-z_][\w.-]*$/;

/** Parses an auth file in either form (text lines or JSON); throws AuthFileError. */
export function parseAuthFile(text: string, resolvers: AuthFileResolvers = {}): AuthCredential[] {
  const source = text.replace(/^\uFEFF/, "");
  const trimmed = source.trim();
  if (trimmed === "") throw new AuthFileError(null, "the auth file has no credentials");
  if (trimmed.startsWith("[") || trimmed.startsWith("{")) {
    const whole = tryJson(source);
    if (whole.ok) return fromJson(whole.value, source, 0, resolvers);
    // Not one JSON document: maybe text lines whose first line is JSON; else report the JSON error.
    const firstLine = source.split(/\r?\n/).find((line) => line.trim() !== "")!;
    if (!tryJson(firstLine).ok) throw jsonSyntaxError(source, whole.error, 0);
  }
  const credentials: AuthCredential[] = [];
  const lines = source.split(/\r?\n/);
  const meaningful = lines.filter((line) => line.trim() !== "" && !line.trim().startsWith("#"));
  lines.forEach((raw, index) => {
    const line = raw.trim();
    const number = index + 1;
    if (line === "" || line.startsWith("#")) return;
    if (line.startsWith("[") || line.startsWith("{")) {
      const parsed = tryJson(line);
      if (!parsed.ok) throw jsonSyntaxError(line, parsed.error, index);
      credentials.push(...fromJson(parsed.value, line, index, resolvers));
      return;
    }
    if (meaningful.length === 1 && /^Bearer\s/.test(line)) {
      throw new AuthFileError(number, "a 'Bearer <token>' file is for IM's REST API; for XML-RPC write 'type = InfrastructureManager; token = <token>'");
    }
    credentials.push(parseLine(line, number, resolvers));
  });
  if (credentials.length === 0) throw new AuthFileError(null, "the auth file has no credentials");
  return credentials;
}

/** One `key = value; key = value` line. */
function parseLine(line: string, number: number, resolvers: AuthFileResolvers): AuthCredential {
  const credential: AuthCredential = {};
  for (const pair of splitOutsideQuotes(line, ";", number)) {
    if (pair.trim() === "") continue; // `a = 1;; b = 2` and a trailing `;`
    const equals = indexOutsideQuotes(pair, "=");
    if (equals === -1) throw new AuthFileError(number, `expected 'key = value', found '${pair.trim()}'`);
    const key = unquote(pair.slice(0, equals).trim());
    const rawValue = pair.slice(equals + 1).trim();
    if (key === "") throw new AuthFileError(number, `missing key before '=' in '${pair.trim()}'`);
    if (!KEY.test(key)) throw new AuthFileError(number, `invalid key '${key}'`);
    const unquoted = !/['"]/.test(rawValue);
    const merged = unquoted ? /\s([A-Za-z_][\w.-]*)\s*=/.exec(rawValue) : null;
    if (merged) {
      throw new AuthFileError(number, `the value of '${key}' looks like a missing ';' before '${merged[1]} ='; quote the value if the '=' belongs to it`);
    }
    const value = unquote(rawValue).replaceAll("\\n", "\n");
    credential[key] = expand(value, key, number, resolvers);
  }
  if (Object.keys(credential).length === 0) throw new AuthFileError(number, "no 'key = value' pairs");
  if (!credential.type) throw new AuthFileError(number, "the credential has no 'type'");
  return credential;
}

/** Splits on `separator` outside single and double quotes (a quote of one kind inside the other is plain text). */
function splitOutsideQuotes(text: string, separator: string, number: number): string[] {
  const parts: string[] = [];
  let current = "";
  let quote: string | null = null;
  for (const char of text) {
    if (quote) {
      if (char === quote) quote = null;
      current += char;
    } else if (char === "'" || char === '"') {
      quote = char;
      current += char;
    } else if (char === separator) {
      parts.push(current);
      current = "";
    } else current += char;
  }
  if (quote) throw new AuthFileError(number, `unterminated quote (${quote})`);
  parts.push(current);
  return parts;
}

function indexOutsideQuotes(text: string, char: string): number {
  let quote: string | null = null;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      if (c === quote) quote = null;
    } else if (c === "'" || c === '"') quote = c;
    else if (c === char) return i;
  }
  return -1;
}

/** Removes the quotes that delimit (`'some;"pass'` gives `some;"pass`, `a'b c'd` gives `ab cd`). */
function unquote(text: string): string {
  let out = "";
  let quote: string | null = null;
  for (const char of text) {
    if (quote) {
      if (char === quote) quote = null;
      else out += char;
    } else if (char === "'" || char === '"') quote = char;
    else out += char;
  }
  return out;
}

/** `file(PATH)` and `command(CMD)` values, through the injected resolvers. */
function expand(value: string, key: string, number: number | null, resolvers: AuthFileResolvers, where?: string): string {
  const fail = (detail: string) => new AuthFileError(number, where ? `${where}: ${detail}` : detail);
  const file = /^file\((.*)\)$/s.exec(value);
  if (file && resolvers.file) {
    const path = file[1].trim();
    if (path === "") throw fail(`the value of '${key}' is file() without a path`);
    try {
      return resolvers.file(path).trim();
    } catch (error) {
      throw fail(`cannot read file(${path}) for '${key}': ${(error as Error).message}`);
    }
  }
  const command = /^command\((.*)\)$/s.exec(value);
  if (command && resolvers.command) {
    try {
      return resolvers.command(command[1].trim()).replace(/\r?\n/g, "");
    } catch (error) {
      throw fail(`command(${command[1].trim()}) for '${key}' failed: ${(error as Error).message}`);
    }
  }
  return value;
}

type JsonResult = { ok: true; value: unknown } | { ok: false; error: Error };

function tryJson(text: string): JsonResult {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (error) {
    return { ok: false, error: error as Error };
  }
}

/** A JSON syntax error with the line it is on (`lineOffset`: lines before `text` in the file). */
function jsonSyntaxError(text: string, error: Error, lineOffset: number): AuthFileError {
  const position = /at position (\d+)/.exec(error.message);
  const offset = position ? Number(position[1]) : text.trimEnd().length;
  const line = lineOffset + text.slice(0, offset).split("\n").length;
  const detail = error.message.replace(/ \(line \d+ column \d+\)$/, "").replace(/ in JSON at position \d+/, "");
  return new AuthFileError(line, `invalid JSON: ${detail}`);
}

/** Credentials from a JSON value: an array of objects, or one object. */
function fromJson(value: unknown, text: string, lineOffset: number, resolvers: AuthFileResolvers): AuthCredential[] {
  const items = Array.isArray(value) ? value : [value];
  const lines = Array.isArray(value) ? itemLines(text) : [1];
  if (items.length === 0) throw new AuthFileError(null, "the auth file has no credentials");
  return items.map((item, index) => {
    const line = lineOffset + (lines[index] ?? 1);
    const where = `credential ${index + 1}`;
    if (typeof item !== "object" || item === null || Array.isArray(item)) throw new AuthFileError(line, `${where} is not an object`);
    const credential: AuthCredential = {};
    for (const [key, raw] of Object.entries(item as Record<string, unknown>)) {
      if (!KEY.test(key)) throw new AuthFileError(line, `${where}: invalid key '${key}'`);
      if (typeof raw !== "string" && typeof raw !== "number" && typeof raw !== "boolean") {
        throw new AuthFileError(line, `${where}: the value of '${key}' must be a string`);
      }
      credential[key] = expand(String(raw), key, line, resolvers, where);
    }
    if (!credential.type) throw new AuthFileError(line, `${where} has no 'type'`);
    return credential;
  });
}

/** The 1-based line where each element of a top-level JSON array starts. */
function itemLines(text: string): number[] {
  const lines: number[] = [];
  let line = 1;
  let depth = 0;
  let inString = false;
  let escaped = false;
  let expectItem = false;
  for (const char of text) {
    if (char === "\n") line++;
    if (inString) {
      if (escaped) escaped = false;
      else if (char === "\\") escaped = true;
      else if (char === '"') inString = false;
      continue;
    }
    if (expectItem && !/\s/.test(char) && char !== "]") {
      lines.push(line);
      expectItem = false;
    }
    if (char === '"') inString = true;
    else if (char === "[" || char === "{") {
      depth++;
      if (depth === 1) expectItem = true;
    } else if (char === "]" || char === "}") depth--;
    else if (char === "," && depth === 1) expectItem = true;
  }
  return lines;
}
