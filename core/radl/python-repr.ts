// IM's clients see some values the way Python prints them (float repr in RADL text, list and
// string repr in error messages); these helpers reproduce that formatting.

/** Python's `repr(float)`: shortest round-trip digits, always with a `.` or an exponent. */
export function pyFloatRepr(value: number): string {
  if (Number.isNaN(value)) return "nan";
  if (!Number.isFinite(value)) return value > 0 ? "inf" : "-inf";
  if (value === 0) return Object.is(value, -0) ? "-0.0" : "0.0";
  const [mantissa, expText] = value.toExponential().split("e");
  const exponent = Number(expText);
  if (exponent < -4 || exponent >= 16) {
    const sign = exponent < 0 ? "-" : "+";
    return `${mantissa}e${sign}${String(Math.abs(exponent)).padStart(2, "0")}`;
  }
  const negative = mantissa.startsWith("-");
  const digits = mantissa.replace("-", "").replace(".", "");
  let text: string;
  if (exponent >= 0) {
    const intPart = digits.slice(0, exponent + 1).padEnd(exponent + 1, "0");
    const fracPart = digits.slice(exponent + 1);
    text = `${intPart}.${fracPart || "0"}`;
  } else {
    text = `0.${"0".repeat(-exponent - 1)}${digits}`;
  }
  return negative ? `-${text}` : text;
}

/** Python's `repr(str)`. */
export function pyStrRepr(value: string): string {
  const quote = value.includes("'") && !value.includes('"') ? '"' : "'";
  const quoteCode = quote.charCodeAt(0);
  // Copies runs of plain characters in one slice: error messages may quote a 10 MB token.
  let out = quote;
  let plainFrom = 0;
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    let escaped: string;
    if (code === 92 /* \ */ || code === quoteCode) escaped = `\\${value[i]}`;
    else if (code === 10) escaped = "\\n";
    else if (code === 13) escaped = "\\r";
    else if (code === 9) escaped = "\\t";
    else if (code < 0x20 || (code >= 0x7f && code <= 0xa0) || code === 0xad) escaped = `\\x${hex(code, 2)}`;
    else if (code >= 0xd800 && code <= 0xdbff && isLowSurrogate(value.charCodeAt(i + 1))) {
      i++; // a surrogate pair: one printable character
      continue;
    } else if (code === 0x2028 || code === 0x2029 || (code >= 0xd800 && code <= 0xdfff)) escaped = `\\u${hex(code, 4)}`;
    else continue;
    out += value.slice(plainFrom, i) + escaped;
    plainFrom = i + 1;
  }
  return out + value.slice(plainFrom) + quote;
}

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}

/** Python's `repr` of a list of strings, e.g. `['YES', 'NO']`. */
export function pyListRepr(values: readonly string[]): string {
  return `[${values.map(pyStrRepr).join(", ")}]`;
}

function hex(code: number, width: number): string {
  return code.toString(16).padStart(width, "0");
}
