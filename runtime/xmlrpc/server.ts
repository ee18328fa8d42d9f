// XML-RPC transport that behaves like the reference IM's Python SimpleXMLRPCServer on the wire.
// Only the `xmlrpc` package's serializer and deserializer are used (package-codec.ts), where the
// fast codec declines: its own server crashes on throwing handlers, has no body limit and answers
// unknown methods with 404. Faults carry Python's `<class 'X'>:message` text, because that is
// what existing IM clients show.
import http, { type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from "node:http";
import https from "node:https";
import type { AddressInfo } from "node:net";
import { Readable } from "node:stream";
import type { TLSSocket } from "node:tls";
import { promisify } from "node:util";
import zlib from "node:zlib";
import CustomType from "xmlrpc/lib/customtype.js";
import { parseCallFast, serializeResponse } from "./fast-codec.ts";

export interface RpcMethod {
  name: string;
  /** Python parameter names, in order, as the reference declares them (used in arity faults). */
  params: readonly string[];
  /** How many leading params are required (the rest are optional). */
  required: number;
  handler: (params: unknown[]) => unknown | Promise<unknown>;
}

export interface XmlRpcServerOptions {
  methods: readonly RpcMethod[];
  /** Applies to the raw body and to the gunzipped body. */
  bodyLimitBytes: number;
  tls?: { key: string | Buffer; cert: string | Buffer; ca?: string | Buffer };
  log?: (level: "info" | "warn" | "error", message: string, fields?: Record<string, unknown>) => void;
}

/** A float that Python must receive as a float even when integral: `<double>1.0</double>`. */
export class XmlRpcDouble {
  constructor(readonly value: number) {}
}

const RPC_PATHS = new Set(["/", "/RPC2"]);
const GZIP_THRESHOLD = 1400; // Python's SimpleXMLRPCRequestHandler.encode_threshold
const INT_MAX = 2 ** 31 - 1;
const INT_MIN = -(2 ** 31);
const gzip = promisify(zlib.gzip);
const gunzip = promisify(zlib.gunzip);
/** The package-based reader and writer, loaded when first needed. */
const packageCodec = () => import("./package-codec.ts");

export class XmlRpcServer {
  private readonly methods: Map<string, RpcMethod>;
  private readonly server: http.Server;
  private readonly log: NonNullable<XmlRpcServerOptions["log"]>;
  private closing = false;

  constructor(private readonly options: XmlRpcServerOptions) {
    // A Map, not an EventEmitter: a method called "NotFound" or "__proto__" is just a name.
    this.methods = new Map(options.methods.map((method) => [method.name, method]));
    this.log = options.log ?? (() => {});
    const onRequest = (req: IncomingMessage, res: ServerResponse) => void this.onRequest(req, res);
    const { tls } = options;
    if (!tls) {
      this.server = http.createServer(onRequest);
    } else {
      // Like the reference (CERT_OPTIONAL): a client certificate is not required, but one that
      // is presented must verify against the CA. It is never used for authentication.
      this.server = https.createServer(
        { ...tls, minVersion: "TLSv1.2", requestCert: tls.ca !== undefined, rejectUnauthorized: false },
        onRequest,
      );
      this.server.on("secureConnection", (socket: TLSSocket) => {
        if (!socket.authorized && socket.getPeerCertificate().raw) socket.destroy();
      });
    }
    // Without a listener, a late server error (e.g. EMFILE on accept) would crash the process.
    this.server.on("error", (error) => this.log("error", "xml-rpc server error", { error: error.message }));
  }

  /** Resolves with the bound address; rejects (never crashes) on EADDRINUSE and the like. */
  listen(port: number, host: string): Promise<{ host: string; port: number }> {
    return new Promise((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(port, host, () => {
        this.server.off("error", reject);
        const address = this.server.address() as AddressInfo;
        resolve({ host: address.address, port: address.port });
      });
    });
  }

  /** Stops accepting, ends idle keep-alive sockets and resolves once in-flight calls are answered. */
  close(): Promise<void> {
    this.closing = true; // responses from now on say `Connection: close`
    // Node's server.close() also closes idle connections, then waits for the busy ones.
    return new Promise((resolve, reject) => this.server.close((error) => (error ? reject(error) : resolve())));
  }

  private async onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      let body = Buffer.from(await this.respond(req));
      const headers: OutgoingHttpHeaders = { "Content-Type": "text/xml" };
      if (body.length > GZIP_THRESHOLD && acceptsGzip(req.headers["accept-encoding"])) {
        body = await gzip(body);
        headers["Content-Encoding"] = "gzip";
      }
      this.send(res, 200, undefined, headers, body);
    } catch (error) {
      if (!(error instanceof HttpError)) this.log("warn", "xml-rpc request failed", { error: messageOf(error) });
      const reply = error instanceof HttpError ? error : new HttpError(500, undefined);
      // Error answers close the connection: the request body may be unread.
      this.send(res, reply.status, reply.reason, { "Content-Type": reply.contentType, Connection: "close" }, Buffer.from(reply.body));
    }
  }

  /** The XML answer (a response or a fault) to one POST; HttpError for everything else. */
  private async respond(req: IncomingMessage): Promise<string> {
    // The same checks, in the same order, as Python's SimpleXMLRPCRequestHandler.do_POST.
    if (req.method !== "POST") {
      const reason = `Unsupported method ('${req.method}')`;
      throw new HttpError(501, reason, unsupportedMethodPage(reason), "text/html;charset=utf-8");
    }
    if (!RPC_PATHS.has(req.url ?? "")) throw new HttpError(404, undefined, "No such page");
    const limit = this.options.bodyLimitBytes;
    // Refuse a declared oversize body before reading any of it.
    if (Number(req.headers["content-length"] ?? 0) > limit) throw tooLarge(limit);
    const raw = await readBody(req, limit);
    if (!raw) throw tooLarge(limit);
    return this.dispatch(await decodeBody(req.headers["content-encoding"], raw, limit));
  }

  private async dispatch(body: Buffer): Promise<string> {
    let name: string | undefined;
    try {
      // Plain calls take the fast reader; it declines anything else, which sax then reads.
      const call = parseCallFast(body) ?? (await parseCall(body));
      name = call.method;
      const method = this.methods.get(name);
      if (!method) throw new PythonError("Exception", `method "${name}" is not supported`);
      const arityMessage = arityError(method, call.params.length);
      if (arityMessage) throw new PythonError("TypeError", arityMessage);
      const result = toWire(await method.handler(call.params));
      return serializeResponse(result) ?? (await packageCodec()).serializer.serializeMethodResponse(result);
    } catch (error) {
      const faultString = error instanceof PythonError ? error.faultString : `<class 'Exception'>:${messageOf(error)}`;
      this.log("warn", "xml-rpc fault", { method: name, faultString });
      return (await packageCodec()).serializer.serializeFault({ faultCode: 1, faultString: sanitize(faultString) });
    }
  }

  private send(res: ServerResponse, status: number, reason: string | undefined, headers: OutgoingHttpHeaders, body: Buffer) {
    if (this.closing) headers.Connection = "close";
    res.writeHead(status, reason, { ...headers, "Content-Length": body.length });
    res.end(body);
  }
}

/** An answer that is not XML-RPC: 404, 413, 501, … */
class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string | undefined,
    readonly body = "",
    readonly contentType = "text/plain",
  ) {
    super(reason ?? http.STATUS_CODES[status]);
  }
}

function tooLarge(limit: number): HttpError {
  return new HttpError(413, undefined, `Request body larger than ${limit} bytes`);
}

/** A Python exception as the reference's faults spell it: `<class 'TypeError'>:message`. */
class PythonError extends Error {
  constructor(
    readonly pythonClass: string,
    message: string,
  ) {
    super(message);
  }
  get faultString(): string {
    return `<class '${this.pythonClass}'>:${this.message}`;
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Python's BaseHTTPRequestHandler error page, as the reference sends it for a GET. */
function unsupportedMethodPage(reason: string): string {
  return `<!DOCTYPE HTML>
<html lang="en">
    <head>
        <meta charset="utf-8">
        <title>Error response</title>
    </head>
    <body>
        <h1>Error response</h1>
        <p>Error code: 501</p>
        <p>Message: ${reason}.</p>
        <p>Error code explanation: 501 - Server does not support this operation.</p>
    </body>
</html>
`;
}

/** The request body, or undefined once it passes `limit` bytes (the rest is then discarded, not kept). */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) return void chunks.push(chunk);
      req.off("data", onData); // the stream keeps flowing, so later chunks are dropped
      resolve(undefined);
    };
    req.on("data", onData);
    req.once("end", () => resolve(Buffer.concat(chunks)));
    req.once("error", reject);
    // A request also closes after a complete body: build the error only when it matters.
    req.once("close", () => {
      if (!req.complete) reject(new Error("connection closed before the request body ended"));
    });
  });
}

/** Undoes `Content-Encoding` like Python's decode_request_content (identity and gzip only). */
async function decodeBody(header: string | undefined, raw: Buffer, limit: number): Promise<Buffer> {
  const encoding = (header ?? "identity").toLowerCase();
  if (encoding === "identity") return raw;
  if (encoding !== "gzip") throw new HttpError(501, `encoding '${encoding}' not supported`);
  try {
    // maxOutputLength stops a gzip bomb at the limit instead of inflating it in memory.
    return await gunzip(raw, { maxOutputLength: limit });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE") throw tooLarge(limit);
    throw new HttpError(400, "error decoding gzip content");
  }
}

/** Python's accept_encodings(): `gzip` counts unless its q is 0. */
function acceptsGzip(header: string | undefined): boolean {
  return (header ?? "").split(",").some((part) => {
    const match = /^\s*([^\s;]+)\s*(?:;\s*q\s*=\s*([0-9.]+))?/i.exec(part);
    return match?.[1] === "gzip" && (match[2] === undefined || Number(match[2]) > 0);
  });
}

export async function parseCall(body: Buffer): Promise<{ method: string; params: unknown[] }> {
  const { CallParser } = await packageCodec();
  return new Promise((resolve, reject) => {
    new CallParser().deserializeMethodCall(Readable.from([body]), (error, method, params) => {
      if (error) reject(new PythonError("xml.parsers.expat.ExpatError", expatStyle(error.message)));
      else resolve({ method: method ?? "", params: params ?? [] });
    });
  });
}

/** sax's "msg\nLine: 0\nColumn: 5\nChar: x" in expat's one-line form "msg: line 1, column 5". */
function expatStyle(message: string): string {
  const match = /^([^\n]*)\nLine: (\d+)\nColumn: (\d+)/.exec(message);
  return match ? `${match[1]}: line ${Number(match[2]) + 1}, column ${match[3]}` : message;
}

/** CPython's TypeError text for a call with the wrong number of positional arguments. */
function arityError({ name, params, required }: RpcMethod, given: number): string | undefined {
  if (given < required) {
    const missing = params.slice(given, required).map((param) => `'${param}'`);
    const last = missing.pop();
    const list = missing.length === 0 ? last : `${missing.join(", ")}${missing.length > 1 ? "," : ""} and ${last}`;
    const plural = missing.length === 0 ? "" : "s";
    return `${name}() missing ${missing.length + 1} required positional argument${plural}: ${list}`;
  }
  if (given > params.length) {
    const takes =
      required < params.length
        ? `from ${required} to ${params.length} positional arguments`
        : `${params.length} positional argument${params.length === 1 ? "" : "s"}`;
    return `${name}() takes ${takes} but ${given} ${given === 1 ? "was" : "were"} given`;
  }
  return undefined;
}

/** `<double>` spelled as Python's repr(): `1.0`, not `1`. */
class DoubleValue extends CustomType {
  override tagName = "double";
}

/**
 * A copy of a handler's result ready for the package's serializer, refusing what Python's
 * marshaller (allow_none off) refuses, with the same messages: None anywhere, and ints outside
 * 32 bits. Integral numbers become `<int>`, others `<double>`. Dates are refused too: the
 * package would write them in local time, and the IM API returns none.
 */
function toWire(value: unknown, ancestors: readonly object[] = []): unknown {
  if (value === null || value === undefined) {
    throw new PythonError("TypeError", "cannot marshal None unless allow_none is enabled");
  }
  switch (typeof value) {
    case "string":
      return sanitize(value);
    case "boolean":
      return value;
    case "number":
    case "bigint":
      if (typeof value === "number" && !Number.isInteger(value)) return value;
      if (value > INT_MAX || value < INT_MIN) throw new PythonError("OverflowError", "int exceeds XML-RPC limits");
      return Number(value);
    case "object": {
      if (value instanceof XmlRpcDouble) {
        const text = String(value.value);
        return new DoubleValue(/^-?\d+$/.test(text) ? `${text}.0` : text);
      }
      if (Buffer.isBuffer(value)) return value; // <base64>, like Python's bytes
      if (value instanceof Date) throw new PythonError("TypeError", "cannot marshal <class 'Date'> objects");
      if (ancestors.includes(value)) {
        throw new PythonError("TypeError", `cannot marshal recursive ${Array.isArray(value) ? "sequences" : "dictionaries"}`);
      }
      const inner = [...ancestors, value];
      if (Array.isArray(value)) return value.map((item) => toWire(item, inner));
      // fromEntries defines members, so a key "__proto__" stays data.
      return Object.fromEntries(Object.entries(value).map(([key, item]) => [sanitize(key), toWire(item, inner)]));
    }
    default:
      throw new PythonError("TypeError", `cannot marshal <class '${typeof value}'> objects`);
  }
}

// Characters XML 1.0 forbids (C0 controls but tab/LF/CR, U+FFFE/U+FFFF, lone surrogates):
// the package's xmlbuilder throws on them, and logs with ANSI colour codes contain ESC.
const XML_ILLEGAL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

function sanitize(text: string): string {
  return text.replace(XML_ILLEGAL, "\uFFFD");
}
