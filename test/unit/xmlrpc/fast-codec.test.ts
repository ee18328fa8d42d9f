// The transport's fast reader and writer (runtime/xmlrpc/fast-codec.ts) must agree with the
// package-based path wherever they do not decline: the same parameters as sax + CallParser,
// the same bytes as the package's serializeMethodResponse.
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import CustomType from "xmlrpc/lib/customtype.js";
import serializer from "xmlrpc/lib/serializer.js";
import { parseCallFast, serializeResponse } from "../../../runtime/xmlrpc/fast-codec.ts";
import { parseCall } from "../../../runtime/xmlrpc/server.ts";

const RUNS = Number(process.env.FAST_CHECK_RUNS ?? 300);

/** Strings as clients send them: any text, with XML's special characters and entities likely. */
const text = fc.oneof(
  fc.string({ unit: "grapheme", maxLength: 20 }),
  fc.stringMatching(/^[a-z<>&;#x0-9 \]\n\t"']{0,20}$/),
  fc.constantFrom("", " ", "a]]>b", "&amp;", "<tag>", "1", "0", "+12", " 7 ", "9007199254740993", "1e3", "é ∑ 😀"),
);

const value: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  leaf: fc.oneof(text, fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), fc.boolean(), fc.double({ noNaN: true, noDefaultInfinity: true }).filter((d) => !Number.isInteger(d))),
  array: fc.array(tie("node"), { maxLength: 4 }),
  struct: fc.dictionary(text, tie("node"), { maxKeys: 4 }).map((entries) => Object.fromEntries(Object.entries(entries))),
  node: fc.oneof({ depthSize: "small", withCrossShrink: true }, tie("leaf"), tie("array"), tie("struct")),
})).node;

/** What Python's xmlrpc.client.dumps((...), methodname) writes (allow_none), line breaks included. */
function pythonCall(method: string, params: unknown[]): string {
  const escape = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  const dump = (v: unknown): string => {
    if (v === null) return "<value><nil/></value>";
    if (typeof v === "boolean") return `<value><boolean>${v ? 1 : 0}</boolean></value>`;
    if (typeof v === "number") return Number.isInteger(v) ? `<value><int>${v}</int></value>` : `<value><double>${v}</double></value>`;
    if (typeof v === "string") return `<value><string>${escape(v)}</string></value>`;
    if (Array.isArray(v)) return `<value><array><data>\n${v.map(dump).join("\n")}\n</data></array></value>`;
    const members = Object.entries(v as object).map(([k, x]) => `<member>\n<name>${escape(k)}</name>\n${dump(x)}\n</member>\n`);
    return `<value><struct>\n${members.join("")}</struct></value>`;
  };
  return `<?xml version='1.0'?>\n<methodCall>\n<methodName>${escape(method)}</methodName>\n<params>\n${params.map((p) => `<param>\n${dump(p)}\n</param>\n`).join("")}</params>\n</methodCall>\n`;
}

async function slow(body: string): Promise<{ ok: true; call: unknown } | { ok: false }> {
  try {
    return { ok: true, call: await parseCall(Buffer.from(body)) };
  } catch {
    return { ok: false };
  }
}

/** Where the fast reader answers, sax answers the same. */
async function agrees(body: string): Promise<boolean> {
  const fast = parseCallFast(Buffer.from(body));
  if (fast === undefined) return false;
  assert.deepEqual(await slow(body), { ok: true, call: fast }, `for ${JSON.stringify(body)}`);
  return true;
}

const legalText = (s: string) => !/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF\r]|[\uD800-\uDFFF]/.test(s);
const legal = (v: unknown): boolean =>
  typeof v === "string" ? legalText(v) : Array.isArray(v) ? v.every(legal) : v && typeof v === "object" ? Object.entries(v).every(([k, x]) => legalText(k) && legal(x)) : true;

test("calls written by the xmlrpc package read the same as with sax, and are not declined", async () => {
  await fc.assert(
    fc.asyncProperty(fc.stringMatching(/^[A-Za-z][A-Za-z0-9_.]{0,15}$/), fc.array(value, { maxLength: 4 }), async (method, params) => {
      fc.pre(legal(params));
      assert.ok(await agrees(serializer.serializeMethodCall(method, params)), "declined a plain call");
    }),
    { numRuns: RUNS },
  );
});

test("calls written as Python's xmlrpc.client writes them read the same as with sax, and are not declined", async () => {
  await fc.assert(
    fc.asyncProperty(fc.stringMatching(/^[A-Za-z][A-Za-z0-9_]{0,15}$/), fc.array(fc.oneof(value, fc.constant(null)), { maxLength: 4 }), async (method, params) => {
      fc.pre(legal(params));
      assert.ok(await agrees(pythonCall(method, params)), "declined a plain call");
    }),
    { numRuns: RUNS },
  );
});

test("damaged or unusual documents are declined or read as sax reads them", async () => {
  const pieces = ["<", ">", "/", "&", ";", "&#", "&#x", "&#0;", "&#1114112;", "&AMP;", "&nbsp;", "]]>", "<![CDATA[", "<!-- c -->", "<?pi x?>", "<!DOCTYPE a>",
    " ", "\r\n", "\uFEFF", "<value>", "</value>", "<VALUE>", "<ex:nil/>", "<i8>5</i8>", "<int> 3 </int>", "<double>1.5x</double>", "<boolean>2</boolean>",
    "<dateTime.iso8601>20240101T00:00:00</dateTime.iso8601>", "<base64>aGk=</base64>", "<fault>", "<value a='1'>", "<methodCall>", "</methodCall>", "x"];
  await fc.assert(
    fc.asyncProperty(fc.array(value, { maxLength: 3 }), fc.array(fc.tuple(fc.nat(), fc.nat(3), fc.constantFrom(...pieces)), { minLength: 1, maxLength: 3 }), async (params, edits) => {
      let body = pythonCall("Method", params);
      for (const [at, remove, insert] of edits) {
        const i = at % (body.length + 1);
        body = body.slice(0, i) + insert + body.slice(i + remove);
      }
      await agrees(body);
    }),
    { numRuns: RUNS * 3 },
  );
});

test("typical calls: entities, character references, CDATA, untyped values, big ints", async () => {
  const calls = [
    `<?xml version="1.0"?><methodCall><methodName>M</methodName><params><param><value>a &amp; b &lt;c&gt; &quot;d&quot; &apos;e&apos; &#233; &#x1F600;</value></param></params></methodCall>`,
    `<methodCall><methodName>M</methodName><params><param><value><string><![CDATA[x < y & z]]></string></value></param><param><value/></param></params></methodCall>`,
    `<methodCall><methodName>M</methodName><params><param><value><i4>-5</i4></value></param><param><value><int>99999999999999999999</int></value></param><param><value><i8>+12</i8></value></param></params></methodCall>`,
    `<methodCall><methodName>M</methodName><params><param><value><struct><member><name>__proto__</name><value>x</value></member></struct></value></param></params></methodCall>`,
  ];
  for (const call of calls) assert.ok(await agrees(call), call);
  assert.deepEqual(Object.keys(parseCallFast(Buffer.from(calls[3]))!.params[0] as object), ["__proto__"]);
});

class Double extends CustomType {
  override tagName = "double";
}

const wireValue: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  leaf: fc.oneof(
    fc.string({ unit: "grapheme", maxLength: 20 }).filter(legalText),
    fc.stringMatching(/^[a-z<>&\]\r]{0,12}$/),
    fc.constantFrom("", "a]]>b]]>c", "<", "&", "]]>"),
    fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
    fc.boolean(),
    fc.double(),
    fc.uint8Array({ maxLength: 8 }).map((bytes) => Buffer.from(bytes)),
    fc.double({ noNaN: true }).map((d) => new Double(String(d))),
  ),
  array: fc.array(tie("node"), { maxLength: 4 }),
  struct: fc.dictionary(fc.oneof(fc.string({ maxLength: 6 }).filter(legalText), fc.constantFrom("", "a&b", "<k>", "__proto__")), tie("node"), { maxKeys: 4 }).map((entries) => Object.fromEntries(Object.entries(entries))),
  node: fc.oneof({ depthSize: "small", withCrossShrink: true }, tie("leaf"), tie("array"), tie("struct")),
})).node;

test("responses are written byte for byte as the package writes them", () => {
  fc.assert(
    fc.property(wireValue, (value) => {
      const fast = serializeResponse(value);
      assert.notEqual(fast, undefined, "declined a plain value");
      assert.equal(fast, serializer.serializeMethodResponse(value));
    }),
    { numRuns: RUNS * 3 },
  );
});

test("the writer declines what the package refuses or writes oddly", () => {
  for (const odd of [null, new Date(0), undefined, "bad \u0001 char", { k: () => 1 }, [1, , 2], new (class Thing {})()]) {
    assert.equal(serializeResponse(odd), undefined, String(odd));
  }
});
