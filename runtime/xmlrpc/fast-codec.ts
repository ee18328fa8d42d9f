// Fast paths for the XML-RPC transport. Each handles the common case exactly as the
// package-based path of server.ts (package-codec.ts) does and declines (undefined) everything
// else, which then takes that path: the `xmlrpc` package's sax stream and xmlbuilder tree cost
// far more than the IM calls they carry. test/unit/xmlrpc/fast-codec.test.ts holds them to that
// equivalence.
//
// - `parseCallFast` reads the plain XML that XML-RPC clients send (elements without attributes,
//   text with the five XML entities and character references, CDATA, an optional `<?xml …?>`
//   declaration) into a method name and parameters, with the value rules of package-codec.ts's
//   CallParser (the package's deserializer with strict ints and dates as text). Anything odd
//   (a parse error, a fault, base64, an unknown tag, …) is declined.
// - `serializeResponse` writes what the package's serializeMethodResponse writes for strings,
//   booleans, numbers, buffers, custom types, arrays and plain objects.
import CustomType from "xmlrpc/lib/customtype.js";

/** The events sax feeds to the package's deserializer, tag names upper-cased. */
export interface SaxSink {
  onOpentag(node: { name: string; attributes: Record<string, string>; isSelfClosing: boolean }): void;
  onClosetag(name: string): void;
  onText(text: string): void;
  onCDATA(text: string): void;
}

const NAME = /^[A-Za-z_][A-Za-z0-9_.-]*$/;
const WHITESPACE = /^[ \t\n]*$/;
const ENTITY = /&(?:(amp|lt|gt|quot|apos)|#([1-9][0-9]{0,6})|#[xX]([1-9a-fA-F][0-9a-fA-F]{0,5}));/g;
const NAMED: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };

/**
 * Feeds the events of `text` to `sink`; false (possibly after some events) when the document
 * uses anything this reader does not handle exactly as sax would: then parse it with sax.
 */
export function tokenizeDocument(text: string, sink: SaxSink): boolean {
  // sax does not normalise line ends and drops a leading BOM: leave both to it.
  if (text.includes("\r") || text.charCodeAt(0) === 0xfeff) return false;
  let i = 0;
  const length = text.length;
  while (i < length && isBlank(text.charCodeAt(i))) i++;
  if (text.startsWith("<?xml", i) && isBlank(text.charCodeAt(i + 5))) {
    const end = text.indexOf("?>", i);
    if (end < 0) return false;
    i = end + 2;
  }
  const open: string[] = [];
  let sawRoot = false;
  while (i < length) {
    const lt = text.indexOf("<", i);
    const raw = text.slice(i, lt < 0 ? length : lt);
    if (raw) {
      // Outside the root only blanks, which the deserializer never looks at.
      if (open.length === 0) {
        if (!WHITESPACE.test(raw)) return false;
      } else {
        const decoded = decodeText(raw);
        if (decoded === undefined) return false;
        sink.onText(decoded);
      }
    }
    if (lt < 0) break;
    if (text.startsWith("<![CDATA[", lt)) {
      if (open.length === 0) return false;
      const end = text.indexOf("]]>", lt + 9);
      if (end < 0) return false;
      const content = text.slice(lt + 9, end);
      if (content) sink.onCDATA(content);
      i = end + 3;
      continue;
    }
    const gt = text.indexOf(">", lt);
    if (gt < 0) return false;
    let tag = text.slice(lt + 1, gt);
    i = gt + 1;
    if (tag.startsWith("/")) {
      const name = tag.slice(1);
      if (open.length === 0 || open[open.length - 1] !== name) return false;
      open.pop();
      sink.onClosetag(name.toUpperCase());
      continue;
    }
    const selfClosing = tag.endsWith("/");
    if (selfClosing) tag = tag.slice(0, -1);
    // No attributes, comments, declarations, processing instructions or namespace prefixes.
    if (!NAME.test(tag)) return false;
    if (open.length === 0) {
      if (sawRoot) return false;
      sawRoot = true;
    }
    const name = tag.toUpperCase();
    sink.onOpentag({ name, attributes: {}, isSelfClosing: selfClosing });
    if (selfClosing) sink.onClosetag(name);
    else open.push(tag);
  }
  return sawRoot && open.length === 0;
}

function isBlank(code: number): boolean {
  return code === 0x20 || code === 0x09 || code === 0x0a;
}

/** Text with its entities decoded as sax decodes them; undefined for any other use of `&`. */
function decodeText(raw: string): string | undefined {
  if (!raw.includes("&")) return raw;
  let matched = 0;
  let outOfRange = false;
  const decoded = raw.replace(ENTITY, (_, named: string | undefined, decimal: string | undefined, hex: string | undefined) => {
    matched++;
    if (named) return NAMED[named];
    const code = decimal ? Number(decimal) : parseInt(hex!, 16);
    if (code > 0x10ffff) {
      outOfRange = true;
      return "";
    }
    return String.fromCodePoint(code);
  });
  // Every `&` must have started one of the forms above.
  return outOfRange || matched !== countAmpersands(raw) ? undefined : decoded;
}

function countAmpersands(text: string): number {
  let count = 0;
  for (let i = text.indexOf("&"); i >= 0; i = text.indexOf("&", i + 1)) count++;
  return count;
}

// ------------------------------------------------------------------ calls

class Declined extends Error {}

/**
 * The package's deserializer (xmlrpc 1.3.2, lib/deserializer.js) with package-codec.ts's
 * CallParser overrides, for method calls; throws Declined where those would report an error.
 */
class CallReader implements SaxSink {
  type: string | null = null;
  methodName: string | null = null;
  readonly stack: unknown[] = [];
  private readonly marks: number[] = [];
  private data: string[] = [];
  private value = false;

  onOpentag(node: { name: string }): void {
    if (node.name === "ARRAY" || node.name === "STRUCT") this.marks.push(this.stack.length);
    this.data = [];
    this.value = node.name === "VALUE";
  }

  onText(text: string): void {
    this.data.push(text);
  }

  onCDATA(text: string): void {
    this.data.push(text);
  }

  onClosetag(name: string): void {
    const data = this.data.length === 1 ? this.data[0] : this.data.join("");
    switch (name) {
      case "BOOLEAN":
        if (data !== "1" && data !== "0") throw new Declined();
        this.end(data === "1");
        return;
      case "INT":
      case "I4":
      case "I8": {
        if (!INTEGER.test(data)) throw new Declined();
        const value = Number(data);
        this.end(Number.isSafeInteger(value) ? value : data.trim().replace(/^\+/, ""));
        return;
      }
      case "DOUBLE":
        if (!DECIMAL.test(data)) throw new Declined();
        this.end(parseFloat(data));
        return;
      case "STRING":
      case "NAME":
        this.end(data);
        return;
      case "ARRAY": {
        const mark = this.marks.pop()!;
        this.stack.splice(mark, this.stack.length - mark, this.stack.slice(mark));
        this.value = false;
        return;
      }
      case "STRUCT": {
        const mark = this.marks.pop()!;
        const items = this.stack.slice(mark);
        const members: [string, unknown][] = [];
        for (let i = 0; i < items.length; i += 2) members.push([String(items[i]), items[i + 1]]);
        this.stack.splice(mark, items.length, Object.fromEntries(members)); // defines, never assigns
        this.value = false;
        return;
      }
      case "VALUE":
        if (this.value) this.end(data);
        return;
      case "METHODNAME":
        this.methodName = data;
        return;
      case "METHODCALL":
        this.type = "methodcall";
        return;
      case "NIL":
        this.end(null);
        return;
      case "PARAMS":
      case "DATA":
      case "PARAM":
      case "MEMBER":
        return;
      default:
        // base64, dateTime.iso8601, fault, methodResponse, unknown tags: the package's path.
        throw new Declined();
    }
  }

  private end(value: unknown): void {
    this.stack.push(value);
    this.value = false;
  }
}

/** CallParser's test for `<int>`, `<i4>` and `<i8>`: Python's int(). */
const INTEGER = /^\s*[+-]?\d+\s*$/;
/** Decimal texts on which parseFloat and stricter readers agree. */
const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/** The method name and parameters of a call, or undefined to let the package's parser decide. */
export function parseCallFast(body: Buffer): { method: string; params: unknown[] } | undefined {
  const reader = new CallReader();
  try {
    if (!tokenizeDocument(body.toString("utf8"), reader)) return undefined;
  } catch (error) {
    if (error instanceof Declined) return undefined;
    throw error;
  }
  if (reader.type !== "methodcall" || !reader.methodName) return undefined;
  return { method: reader.methodName, params: reader.stack };
}

// ------------------------------------------------------------------ responses

const DECLARATION = '<?xml version="1.0"?>';
/** xmlbuilder refuses these (allowSurrogateChars on): leave them to it, to fail as it fails. */
const ILLEGAL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/;
/** The package's test for strings it may write as text; the others go in CDATA. */
const PLAIN_TEXT = /^(?![^<&]*]]>[^<&]*)[^<&]*$/;
const ESCAPED = /[&<>\r]/;

class Unsupported extends Error {}

/** serializeMethodResponse(value) of the package, or undefined when `value` is not of the kinds handled here. */
export function serializeResponse(value: unknown): string | undefined {
  const out: string[] = [DECLARATION, "<methodResponse><params><param>"];
  try {
    writeValue(value, out, 0);
  } catch (error) {
    if (error instanceof Unsupported) return undefined;
    throw error;
  }
  out.push("</param></params></methodResponse>");
  return out.join("");
}

const MAX_DEPTH = 1000;

function writeValue(value: unknown, out: string[], depth: number): void {
  if (depth > MAX_DEPTH) throw new Unsupported();
  switch (typeof value) {
    case "boolean":
      out.push(value ? "<value><boolean>1</boolean></value>" : "<value><boolean>0</boolean></value>");
      return;
    case "string":
      if (value.length === 0) out.push("<value><string/></value>");
      else if (ILLEGAL.test(value)) throw new Unsupported();
      else if (PLAIN_TEXT.test(value)) out.push("<value><string>", escapeText(value), "</string></value>");
      else out.push("<value><string><![CDATA[", value.replace("]]>", "]]]]><![CDATA[>"), "]]></string></value>");
      return;
    case "number":
      out.push(value % 1 == 0 ? "<value><int>" : "<value><double>", String(value), value % 1 == 0 ? "</int></value>" : "</double></value>");
      return;
    case "object": {
      if (value === null || value instanceof Date) throw new Unsupported();
      if (Buffer.isBuffer(value)) {
        const text = value.toString("base64");
        out.push(text ? `<value><base64>${text}</base64></value>` : "<value><base64/></value>");
        return;
      }
      if (value instanceof CustomType) {
        const tag = value.tagName;
        const raw = String(value.raw);
        if (!/^[A-Za-z][A-Za-z0-9.]*$/.test(tag) || ILLEGAL.test(raw)) throw new Unsupported();
        out.push(raw ? `<value><${tag}>${escapeText(raw)}</${tag}></value>` : `<value><${tag}/></value>`);
        return;
      }
      if (Array.isArray(value)) {
        if (value.length === 0) {
          out.push("<value><array><data/></array></value>");
          return;
        }
        out.push("<value><array><data>");
        for (let i = 0; i < value.length; i++) {
          if (!(i in value)) throw new Unsupported();
          writeValue(value[i], out, depth + 1);
        }
        out.push("</data></array></value>");
        return;
      }
      const prototype = Object.getPrototypeOf(value);
      if (prototype !== Object.prototype && prototype !== null) throw new Unsupported();
      const keys = Object.keys(value);
      if (keys.length === 0) {
        out.push("<value><struct/></value>");
        return;
      }
      out.push("<value><struct>");
      for (const key of keys) {
        if (ILLEGAL.test(key)) throw new Unsupported();
        out.push(key ? `<member><name>${escapeText(key)}</name>` : "<member><name/>");
        writeValue((value as Record<string, unknown>)[key], out, depth + 1);
        out.push("</member>");
      }
      out.push("</struct></value>");
      return;
    }
    default:
      throw new Unsupported();
  }
}

/** xmlbuilder's elEscape. */
function escapeText(text: string): string {
  if (!ESCAPED.test(text)) return text;
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/\r/g, "&#xD;");
}
