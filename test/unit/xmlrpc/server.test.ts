import { TLS_CERT, TLS_KEY } from "../../fixtures/tls.ts";
import assert from "node:assert/strict";
import http, { type IncomingHttpHeaders } from "node:http";
import https from "node:https";
import net from "node:net";
import { Readable } from "node:stream";
import { test, type TestContext } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import zlib from "node:zlib";
import Deserializer from "xmlrpc/lib/deserializer.js";
import serializer from "xmlrpc/lib/serializer.js";
import { XmlRpcDouble, XmlRpcServer, type RpcMethod, type XmlRpcServerOptions } from "../../../runtime/xmlrpc/server.ts";

const MB = 1024 * 1024;

/** Results the `result` method returns, by name. */
const RESULTS: Record<string, unknown> = {
  none: null,
  nestedUndefined: { a: [1, undefined] },
  tooBig: 2 ** 31,
  tooSmall: -(2 ** 31) - 1,
  bigint: 2n ** 40n,
  limits: [2 ** 31 - 1, -(2 ** 31), 5n],
  date: new Date(0),
  control: "color \x1b[31mred\x1b[0m end \x00\x07\x0b\x0c\ufffe\uffff \ud800 \udc00 \ud83d\ude00 tab\tnl\ncr\r",
  controlKey: { "a\x1bb": 1 },
  numbers: [3, -0.25, new XmlRpcDouble(1), new XmlRpcDouble(2.5), new XmlRpcDouble(-3), new XmlRpcDouble(1e21)],
  large: "x".repeat(5000),
  bytes: Buffer.from("hi"),
  function: () => 1,
};
const cycle: unknown[] = [1];
cycle.push({ back: cycle });
RESULTS.recursiveSequence = cycle;
const loop: Record<string, unknown> = {};
loop.self = [loop];
RESULTS.recursiveDictionary = loop;

const METHODS: RpcMethod[] = [
  { name: "GetVersion", params: [], required: 0, handler: () => "1.19.2" },
  { name: "GetInfrastructureState", params: ["inf_id", "auth_data"], required: 2, handler: () => [true, {}] },
  { name: "One", params: ["x"], required: 1, handler: ([x]) => x },
  { name: "F", params: ["a", "b"], required: 2, handler: (params) => params },
  { name: "G", params: ["a", "b", "c", "d"], required: 2, handler: (params) => params.length },
  { name: "Three", params: ["a", "b", "c"], required: 3, handler: (params) => params },
  { name: "echo", params: ["value"], required: 1, handler: ([value]) => value },
  { name: "result", params: ["name"], required: 1, handler: ([name]) => RESULTS[name as string] },
  {
    name: "describe",
    params: ["value"],
    required: 1,
    handler: ([value]) => ({ type: value === null ? "null" : typeof value, text: String(value) }),
  },
  {
    name: "members",
    params: ["struct"],
    required: 1,
    handler: ([struct]) => ({
      keys: Object.keys(struct as object),
      ownProto: Object.hasOwn(struct as object, "__proto__"),
      prototypeIsObject: Object.getPrototypeOf(struct) === Object.prototype,
      proto: (struct as Record<string, unknown>)["__proto__"],
    }),
  },
  {
    name: "throws",
    params: [],
    required: 0,
    handler: () => {
      throw new Error("boom");
    },
  },
  { name: "rejects", params: [], required: 0, handler: async () => Promise.reject(new Error("async boom")) },
  { name: "sleep", params: ["ms"], required: 1, handler: async ([ms]) => (await delay(ms as number), "slept") },
];

async function start(t: TestContext, options: Partial<XmlRpcServerOptions> = {}) {
  const server = new XmlRpcServer({ methods: METHODS, bodyLimitBytes: MB, ...options });
  const { port } = await server.listen(0, "127.0.0.1");
  t.after(() => server.close());
  return port;
}

interface Reply {
  status: number;
  statusMessage: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

function request(
  port: number,
  options: { method?: string; path?: string; headers?: http.OutgoingHttpHeaders; body?: string | Buffer; agent?: http.Agent } = {},
): Promise<Reply> {
  const { method = "POST", path = "/RPC2", headers = {}, body, agent } = options;
  return new Promise((resolve, reject) => {
    const req = http.request({ host: "127.0.0.1", port, method, path, headers, agent: agent ?? false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => resolve({ status: res.statusCode!, statusMessage: res.statusMessage!, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

type Outcome = { value: unknown } | { fault: { faultCode?: number; faultString?: string } };

/** Reads an XML-RPC response body (gunzipping it if needed) with the package's parser. */
function decode(reply: Reply): Promise<Outcome> {
  assert.equal(reply.status, 200, reply.body.toString());
  const xml = reply.headers["content-encoding"] === "gzip" ? zlib.gunzipSync(reply.body) : reply.body;
  return new Promise((resolve, reject) => {
    new Deserializer().deserializeMethodResponse(Readable.from([xml]), (error, value) => {
      if (error?.faultCode !== undefined) resolve({ fault: { faultCode: error.faultCode, faultString: error.faultString } });
      else if (error) reject(error);
      else resolve({ value });
    });
  });
}

async function rpc(port: number, xml: string): Promise<Outcome> {
  return decode(await request(port, { body: xml, headers: { "Content-Type": "text/xml" } }));
}

function call(port: number, method: string, ...params: unknown[]): Promise<Outcome> {
  return rpc(port, serializer.serializeMethodCall(method, params));
}

function fault(faultString: string): Outcome {
  return { fault: { faultCode: 1, faultString } };
}

/** A methodCall whose params are raw `<value>` XML. */
function rawCall(method: string, ...values: string[]): string {
  const params = values.map((value) => `<param><value>${value}</value></param>`).join("");
  return `<?xml version="1.0"?><methodCall><methodName>${method}</methodName><params>${params}</params></methodCall>`;
}

test("an unknown method is a fault with the reference's text", async (t) => {
  const port = await start(t);
  assert.deepEqual(await call(port, "NoSuchMethod", 1), fault(`<class 'Exception'>:method "NoSuchMethod" is not supported`));
  // Names that would collide with object or EventEmitter internals are just unknown names.
  for (const name of ["__proto__", "constructor", "NotFound", "toString"]) {
    assert.deepEqual(await call(port, name), fault(`<class 'Exception'>:method "${name}" is not supported`));
  }
});

test("a wrong number of parameters is CPython's TypeError", async (t) => {
  const port = await start(t);
  const cases: [string, unknown[], string][] = [
    ["GetInfrastructureState", ["id"], "GetInfrastructureState() missing 1 required positional argument: 'auth_data'"],
    ["F", [], "F() missing 2 required positional arguments: 'a' and 'b'"],
    ["Three", [], "Three() missing 3 required positional arguments: 'a', 'b', and 'c'"],
    ["G", [1], "G() missing 1 required positional argument: 'b'"],
    ["F", [1, 2, 3], "F() takes 2 positional arguments but 3 were given"],
    ["G", [1, 2, 3, 4, 5], "G() takes from 2 to 4 positional arguments but 5 were given"],
    ["GetVersion", [1], "GetVersion() takes 0 positional arguments but 1 was given"],
    ["One", [1, 2], "One() takes 1 positional argument but 2 were given"],
  ];
  for (const [method, params, message] of cases) {
    assert.deepEqual(await call(port, method, ...params), fault(`<class 'TypeError'>:${message}`), message);
  }
  // Optional trailing parameters may be omitted or given.
  assert.deepEqual(await call(port, "G", 1, 2), { value: 2 });
  assert.deepEqual(await call(port, "G", 1, 2, 3, 4), { value: 4 });
});

test("unparsable bodies are ExpatError faults with HTTP 200", async (t) => {
  const port = await start(t);
  const bodies = [
    "",
    "<methodCall><methodName>GetVer",
    "garbage",
    "<methodResponse><params></params></methodResponse>",
    rawCall("echo", "<int>abc</int>"),
    rawCall("echo", "<int>12abc</int>"),
    rawCall("echo", "<boolean>2</boolean>"),
    rawCall("echo", "<double>x</double>"),
    rawCall("echo", "<unknownType>1</unknownType>"),
  ];
  for (const body of bodies) {
    const outcome = await rpc(port, body);
    assert.ok("fault" in outcome, body);
    assert.equal(outcome.fault.faultCode, 1);
    assert.match(outcome.fault.faultString!, /^<class 'xml\.parsers\.expat\.ExpatError'>:\S/, body);
  }
  const expat = (message: string) => fault(`<class 'xml.parsers.expat.ExpatError'>:${message}`);
  assert.deepEqual(await rpc(port, rawCall("echo", "<int>abc</int>")), expat("invalid literal for int() with base 10: 'abc'"));
  assert.deepEqual(await rpc(port, "<methodCall>\n<methodName>x</methodName></methodCall"), expat("Unclosed root tag: line 2, column 38"));
  assert.deepEqual(await call(port, "GetVersion"), { value: "1.19.2" }, "the server still serves");
});

test("GET answers 501 with Python's error page", async (t) => {
  const port = await start(t);
  const reply = await request(port, { method: "GET" });
  assert.equal(reply.status, 501);
  assert.equal(reply.statusMessage, "Unsupported method ('GET')");
  assert.equal(reply.headers["content-type"], "text/html;charset=utf-8");
  assert.equal(reply.headers.connection, "close");
  assert.equal(reply.body.length, 356); // the reference's Content-Length
  assert.match(reply.body.toString(), /<p>Message: Unsupported method \('GET'\)\.<\/p>/);
});

test("only / and /RPC2 are served; other paths answer 404 No such page", async (t) => {
  const port = await start(t);
  const body = serializer.serializeMethodCall("GetVersion", []);
  for (const path of ["/other", "/RPC2/", "/RPC2?x=1", "/rpc2"]) {
    const reply = await request(port, { path, body });
    assert.equal(reply.status, 404, path);
    assert.equal(reply.body.toString(), "No such page");
    assert.equal(reply.headers["content-type"], "text/plain");
  }
  for (const path of ["/", "/RPC2"]) assert.deepEqual(await decode(await request(port, { path, body })), { value: "1.19.2" });
});

/** Sends raw bytes on a fresh socket and collects everything the server answers until it closes. */
function rawExchange(port: number, head: string, body?: Readable): Promise<{ answer: string; sent: number }> {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    let answer = "";
    let sent = 0;
    socket.on("data", (chunk) => {
      answer += chunk;
      body?.destroy(); // stop sending as soon as the server has answered
    });
    socket.on("error", () => {}); // EPIPE/ECONNRESET once the server hangs up mid-upload
    socket.on("close", () => resolve({ answer, sent }));
    socket.write(head);
    body?.on("data", (chunk: Buffer) => (sent += chunk.length)).pipe(socket);
  });
}

test("a body declared larger than the limit gets 413 before it is read", async (t) => {
  const port = await start(t);
  const started = Date.now();
  const head = `POST /RPC2 HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml\r\nContent-Length: ${50 * MB}\r\n\r\n`;
  const { answer } = await rawExchange(port, head);
  assert.match(answer, /^HTTP\/1\.1 413 /);
  assert.match(answer, /\r\nConnection: close\r\n/i);
  assert.ok(Date.now() - started < 2000);
});

test("a streamed 50 MB body is cut off at the limit with 413", async (t) => {
  const port = await start(t);
  const started = Date.now();
  const chunk = Buffer.alloc(64 * 1024, "a");
  const framed = Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from("\r\n")]);
  const body = Readable.from((function* () {
    for (let sent = 0; sent < 50 * MB; sent += chunk.length) yield framed;
  })());
  const head = "POST /RPC2 HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml\r\nTransfer-Encoding: chunked\r\n\r\n";
  const { answer, sent } = await rawExchange(port, head, body);
  assert.match(answer, /^HTTP\/1\.1 413 /);
  assert.ok(sent < 50 * MB, `the client could send only part of the body (${sent} bytes)`);
  assert.ok(Date.now() - started < 5000);
  assert.deepEqual(await call(port, "GetVersion"), { value: "1.19.2" });
});

test("gzip requests are accepted, and their inflated size is bounded", async (t) => {
  const port = await start(t);
  const xml = serializer.serializeMethodCall("echo", ["héllo ".repeat(1000)]);
  const gzipped = await request(port, { body: zlib.gzipSync(xml), headers: { "Content-Encoding": "gzip" } });
  assert.deepEqual(await decode(gzipped), { value: "héllo ".repeat(1000) });

  const bomb = zlib.gzipSync(Buffer.alloc(20 * MB, " ")); // about 20 KB on the wire
  assert.ok(bomb.length < MB);
  assert.equal((await request(port, { body: bomb, headers: { "Content-Encoding": "gzip" } })).status, 413);

  const broken = await request(port, { body: "not gzip", headers: { "Content-Encoding": "gzip" } });
  assert.equal(broken.status, 400);
  const other = await request(port, { body: xml, headers: { "Content-Encoding": "br" } });
  assert.deepEqual([other.status, other.statusMessage], [501, "encoding 'br' not supported"]);
});

test("responses over 1400 bytes are gzipped when the client accepts gzip", async (t) => {
  const port = await start(t);
  const large = serializer.serializeMethodCall("result", ["large"]);
  const gzipped = await request(port, { body: large, headers: { "Accept-Encoding": "gzip" } });
  assert.equal(gzipped.headers["content-encoding"], "gzip");
  assert.ok(gzipped.body.length < 1400);
  assert.deepEqual(await decode(gzipped), { value: RESULTS.large });

  for (const acceptEncoding of [undefined, "gzip;q=0", "deflate"]) {
    const headers = acceptEncoding ? { "Accept-Encoding": acceptEncoding } : {};
    const plain = await request(port, { body: large, headers });
    assert.equal(plain.headers["content-encoding"], undefined, acceptEncoding);
    assert.deepEqual(await decode(plain), { value: RESULTS.large });
  }
  const small = await request(port, { body: serializer.serializeMethodCall("GetVersion", []), headers: { "Accept-Encoding": "gzip" } });
  assert.equal(small.headers["content-encoding"], undefined);
});

test("a struct member named __proto__ stays an own data property", async (t) => {
  const port = await start(t);
  const struct = "<struct><member><name>__proto__</name><value><string>polluted</string></value></member><member><name>a</name><value><int>1</int></value></member></struct>";
  assert.deepEqual(await rpc(port, rawCall("members", struct)), {
    value: { keys: ["__proto__", "a"], ownProto: true, prototypeIsObject: true, proto: "polluted" },
  });
  // And it goes back out as a member.
  const reply = await request(port, { body: rawCall("echo", struct) });
  assert.match(reply.body.toString(), /<member><name>__proto__<\/name><value><string>polluted<\/string><\/value><\/member>/);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
});

test("a billion-laughs DOCTYPE is refused at once, not expanded", async (t) => {
  const port = await start(t);
  const entities = ['<!ENTITY lol "lol">'];
  for (let i = 1; i <= 9; i++) entities.push(`<!ENTITY lol${i} "${`&lol${i - 1 || ""};`.repeat(10)}">`);
  const xml = `<?xml version="1.0"?><!DOCTYPE methodCall [${entities.join("")}]>${rawCall("echo", "<string>&lol9;</string>").replace(/^<\?xml[^>]*\?>/, "")}`;
  const started = Date.now();
  const outcome = await rpc(port, xml);
  assert.ok(Date.now() - started < 1000);
  // sax never expands DTD entities, and the strict parser refuses the undeclared reference, as
  // expat's amplification limit refuses the expansion.
  assert.deepEqual(outcome, fault("<class 'xml.parsers.expat.ExpatError'>:Invalid character entity: line 1, column 824"));
  assert.deepEqual(await rpc(port, rawCall("echo", "<string>still serving</string>")), { value: "still serving" });
});

test("results Python cannot marshal become its faults", async (t) => {
  const port = await start(t);
  const none = fault("<class 'TypeError'>:cannot marshal None unless allow_none is enabled");
  assert.deepEqual(await call(port, "result", "none"), none);
  assert.deepEqual(await call(port, "result", "nestedUndefined"), none);
  assert.deepEqual(await call(port, "result", "missing"), none); // undefined
  const overflow = fault("<class 'OverflowError'>:int exceeds XML-RPC limits");
  assert.deepEqual(await call(port, "result", "tooBig"), overflow);
  assert.deepEqual(await call(port, "result", "tooSmall"), overflow);
  assert.deepEqual(await call(port, "result", "bigint"), overflow);
  assert.deepEqual(await call(port, "result", "limits"), { value: [2 ** 31 - 1, -(2 ** 31), 5] });
  assert.deepEqual(await call(port, "result", "date"), fault("<class 'TypeError'>:cannot marshal <class 'Date'> objects"));
  assert.deepEqual(await call(port, "result", "function"), fault("<class 'TypeError'>:cannot marshal <class 'function'> objects"));
  assert.deepEqual(await call(port, "result", "recursiveSequence"), fault("<class 'TypeError'>:cannot marshal recursive sequences"));
  assert.deepEqual(await call(port, "result", "recursiveDictionary"), fault("<class 'TypeError'>:cannot marshal recursive dictionaries"));
  assert.deepEqual(await call(port, "result", "bytes"), { value: Buffer.from("hi") }, "bytes go out as <base64>");
});

test("characters illegal in XML become U+FFFD in results and fault strings", async (t) => {
  const port = await start(t);
  assert.deepEqual(await call(port, "result", "control"), {
    value: "color \ufffd[31mred\ufffd[0m end \ufffd\ufffd\ufffd\ufffd\ufffd\ufffd \ufffd \ufffd \ud83d\ude00 tab\tnl\ncr\r",
  });
  assert.deepEqual(await call(port, "result", "controlKey"), { value: { "a\ufffdb": 1 } });
  const unknown = await rpc(port, rawCall("bad&#27;name"));
  assert.deepEqual(unknown, fault(`<class 'Exception'>:method "bad\ufffdname" is not supported`));
});

test("numbers: integral values are <int>, others and XmlRpcDouble are <double>", async (t) => {
  const port = await start(t);
  const reply = await request(port, { body: serializer.serializeMethodCall("result", ["numbers"]) });
  const values = [...reply.body.toString().matchAll(/<value><(int|double)>([^<]*)</g)].map((match) => `${match[1]}:${match[2]}`);
  assert.deepEqual(values, ["int:3", "double:-0.25", "double:1.0", "double:2.5", "double:-3.0", "double:1e+21"]);
});

test("incoming values: i8, nil, ex:nil, dateTime and untyped strings", async (t) => {
  const port = await start(t);
  const describe = async (value: string) => ((await rpc(port, rawCall("describe", value))) as { value: unknown }).value;
  assert.deepEqual(await describe("<i8>42</i8>"), { type: "number", text: "42" });
  assert.deepEqual(await describe("<i8>9007199254740993</i8>"), { type: "string", text: "9007199254740993" });
  assert.deepEqual(await describe("<int> +7 </int>"), { type: "number", text: "7" });
  assert.deepEqual(await describe("<nil/>"), { type: "null", text: "null" });
  assert.deepEqual(await describe("<ex:nil/>"), { type: "null", text: "null" });
  assert.deepEqual(await describe("<dateTime.iso8601>20240102T03:04:05</dateTime.iso8601>"), { type: "string", text: "20240102T03:04:05" });
  assert.deepEqual(await describe("plain text"), { type: "string", text: "plain text" });
  assert.deepEqual(await describe("<double>1.0</double>"), { type: "number", text: "1" });
});

test("a throwing and a rejecting handler are faults and the server keeps serving", async (t) => {
  const logged: unknown[] = [];
  const port = await start(t, { log: (level, message, fields) => logged.push({ level, message, fields }) });
  assert.deepEqual(await call(port, "throws"), fault("<class 'Exception'>:boom"));
  assert.deepEqual(await call(port, "rejects"), fault("<class 'Exception'>:async boom"));
  assert.deepEqual(await call(port, "GetVersion"), { value: "1.19.2" });
  assert.deepEqual(logged[0], { level: "warn", message: "xml-rpc fault", fields: { method: "throws", faultString: "<class 'Exception'>:boom" } });
});

test("calls run concurrently", async (t) => {
  const port = await start(t);
  const started = Date.now();
  const outcomes = await Promise.all(Array.from({ length: 20 }, () => call(port, "sleep", 200)));
  assert.ok(outcomes.every((outcome) => "value" in outcome && outcome.value === "slept"));
  assert.ok(Date.now() - started < 1500, "20 calls of 200 ms did not run one after another");
});

test("HTTP/1.0 is answered and closed; HTTP/1.1 connections are kept alive", async (t) => {
  const port = await start(t);
  const xml = serializer.serializeMethodCall("GetVersion", []);
  const { answer } = await rawExchange(port, `POST /RPC2 HTTP/1.0\r\nContent-Length: ${Buffer.byteLength(xml)}\r\n\r\n${xml}`);
  assert.match(answer, /^HTTP\/1\.1 200 OK\r\n[^]*<string>1\.19\.2<\/string>/); // and the server closed the socket

  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  t.after(() => agent.destroy());
  const sockets = new Set<net.Socket>();
  for (let i = 0; i < 3; i++) {
    await new Promise<void>((resolve, reject) => {
      const req = http.request({ host: "127.0.0.1", port, method: "POST", path: "/RPC2", agent }, (res) => {
        sockets.add(res.socket);
        res.resume().on("end", resolve);
      });
      req.on("error", reject);
      req.end(xml);
    });
  }
  assert.equal(sockets.size, 1);
});

test("close() ends idle keep-alive sockets and waits for the call in flight", async () => {
  const events: string[] = [];
  const slow: RpcMethod = { name: "slow", params: [], required: 0, handler: async () => (await delay(300), events.push("answered"), "done") };
  const server = new XmlRpcServer({ methods: [...METHODS, slow], bodyLimitBytes: MB });
  const { port } = await server.listen(0, "127.0.0.1");
  const agent = new http.Agent({ keepAlive: true });
  try {
    await request(port, { body: serializer.serializeMethodCall("GetVersion", []), agent }); // leaves an idle socket
    const inFlight = call(port, "slow");
    await delay(50);
    const started = Date.now();
    await server.close();
    events.push("closed");
    assert.deepEqual(events, ["answered", "closed"]);
    assert.deepEqual(await inFlight, { value: "done" });
    assert.ok(Date.now() - started < 2000, "did not wait for the idle socket's keep-alive timeout");
    await assert.rejects(request(port, { body: "" }), { code: "ECONNREFUSED" });
  } finally {
    agent.destroy();
  }
});

test("listen() rejects when the port is taken", async (t) => {
  const port = await start(t);
  const second = new XmlRpcServer({ methods: METHODS, bodyLimitBytes: MB });
  await assert.rejects(second.listen(port, "127.0.0.1"), { code: "EADDRINUSE" });
});

// Another self-signed pair, not issued by TLS_CERT: a client certificate the server must refuse.
const OTHER_KEY = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgRzYrgUZEW/apU1LX
DVM7Q1G8adb8ye5xFKgZ3RObQdahRANCAARDbT4tOhMJDV7yYfy6iuTcf2wjZliH
RwLpgfzEUUmb27mzNuPezJAY3yCg39Wn3xprT9hYuMv1x0cbSNZ/Z9Ga
-----END PRIVATE KEY-----
`;
const OTHER_CERT = `-----BEGIN CERTIFICATE-----
MIIBmjCCAUGgAwIBAgIUGLfiMQbFP72AyniOsX9/ASjPbpMwCgYIKoZIzj0EAwIw
FDESMBAGA1UEAwwJbG9jYWxob3N0MCAXDTI2MTEyNzA0MTQzOVoYDzIxMjYxMTAz
MDQxNDM5WjAUMRIwEAYDVQQDDAlsb2NhbGhvc3QwWTATBgcqhkjOPQIBBggqhkjO
PQMBBwNCAARDbT4tOhMJDV7yYfy6iuTcf2wjZliHRwLpgfzEUUmb27mzNuPezJAY
3yCg39Wn3xprT9hYuMv1x0cbSNZ/Z9Gao28wbTAdBgNVHQ4EFgQURtyXVkJStCdV
8Ew+pl5peblRFoUwHwYDVR0jBBgwFoAURtyXVkJStCdV8Ew+pl5peblRFoUwDwYD
VR0TAQH/BAUwAwEB/zAaBgNVHREEEzARhwR/AAABgglsb2NhbGhvc3QwCgYIKoZI
zj0EAwIDRwAwRAIgXGqnxT6AeZOdnVzucPPUt5nkyfOLfZW7kOEow9N5WNsCIHGd
pbsoc8pvj2ZHYNb+wy/KuPoP5IdBRx+B88hoTJ8b
-----END CERTIFICATE-----
`;

function httpsCall(port: number, client: { key?: string; cert?: string } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const options = { host: "127.0.0.1", port, method: "POST", path: "/RPC2", ca: TLS_CERT, agent: false as const, ...client };
    const req = https.request(options, (res) => {
      let body = "";
      res.on("data", (chunk) => (body += chunk));
      res.on("end", () => resolve(body));
    });
    req.on("error", reject);
    req.end(serializer.serializeMethodCall("GetVersion", []));
  });
}

test("TLS: served over HTTPS; with a CA, a presented client certificate must verify", async (t) => {
  const plain = await start(t, { tls: { key: TLS_KEY, cert: TLS_CERT } });
  assert.match(await httpsCall(plain), /<string>1\.19\.2<\/string>/);

  const withCa = await start(t, { tls: { key: TLS_KEY, cert: TLS_CERT, ca: TLS_CERT } });
  assert.match(await httpsCall(withCa), /<string>1\.19\.2<\/string>/, "a client certificate is optional");
  assert.match(await httpsCall(withCa, { key: TLS_KEY, cert: TLS_CERT }), /<string>1\.19\.2<\/string>/);
  await assert.rejects(httpsCall(withCa, { key: OTHER_KEY, cert: OTHER_CERT }));
});
