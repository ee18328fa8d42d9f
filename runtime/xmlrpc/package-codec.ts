// The `xmlrpc` package's reader (with the fixes below) and writer: what server.ts falls back to
// when the fast codec declines a call or a result. Loaded on first use, since plain calls never
// need it, so that starting the server does not wait for the package, sax and xmlbuilder.
import sax from "sax";
import Deserializer from "xmlrpc/lib/deserializer.js";
import serializer from "xmlrpc/lib/serializer.js";

export { serializer };

/**
 * The xmlrpc package's parser with the fixes we need:
 * - a struct member named `__proto__` stays an own data property (the package assigns
 *   `struct[name] = value`, which would set the prototype instead);
 * - `<int>`/`<i4>`/`<i8>` are read as strictly as Python's int(); values beyond
 *   Number.MAX_SAFE_INTEGER arrive as decimal strings so no digit is lost;
 * - `<dateTime.iso8601>` arrives as its text: the package would read it in the server's
 *   local time zone;
 * - namespace prefixes are dropped as Python does, so `<ex:nil/>` and `<ex:i8>` work.
 * sax never expands DTD entities, so a billion-laughs DOCTYPE stays inert.
 */
export class CallParser extends Deserializer {
  constructor() {
    super();
    // The package's sax stream is non-strict and runs malformed XML (mismatched tags, two
    // roots, stray `&`) that Python's expat refuses; parse strictly instead.
    this.parser = sax.createStream(true, {});
    this.parser.on("opentag", (node) => this.onOpentag(node as Parameters<Deserializer["onOpentag"]>[0]));
    this.parser.on("closetag", (name) => this.onClosetag(name));
    this.parser.on("text", (text) => this.onText(text));
    this.parser.on("cdata", (cdata) => this.onCDATA(cdata));
    this.parser.on("end", () => this.onDone());
    this.parser.on("error", (error) => this.onError(error));
  }
  private depth = 0;
  private rootClosed = false;

  /** Strict sax keeps the tags' case; the package's handlers expect upper case. */
  override onOpentag(node: Parameters<Deserializer["onOpentag"]>[0]): void {
    // sax accepts a second root element; expat does not.
    if (this.rootClosed) return this.onError(new Error("junk after document element"));
    this.depth++;
    super.onOpentag({ ...node, name: localName(node.name).toUpperCase() });
  }
  override onClosetag(name: string): void {
    if (--this.depth === 0) this.rootClosed = true;
    super.onClosetag(localName(name).toUpperCase());
  }
  override endStruct(): void {
    const mark = this.marks.pop() ?? 0;
    const items = this.stack.slice(mark);
    const members: [string, unknown][] = [];
    for (let i = 0; i < items.length; i += 2) members.push([String(items[i]), items[i + 1]]);
    this.stack.splice(mark, items.length, Object.fromEntries(members)); // defines, never assigns
    this.value = false;
  }
  override endInt(data: string): void {
    if (!/^\s*[+-]?\d+\s*$/.test(data)) throw new Error(`invalid literal for int() with base 10: '${data}'`);
    const value = Number(data);
    this.push(Number.isSafeInteger(value) ? value : data.trim().replace(/^\+/, ""));
    this.value = false;
  }
  override endI8(data: string): void {
    this.endInt(data);
  }
  override endDateTime(data: string): void {
    this.push(data);
    this.value = false;
  }
}

function localName(tag: string): string {
  return tag.slice(tag.lastIndexOf(":") + 1);
}
