// An XML-RPC client on node:http(s), with the `xmlrpc` package's serializer and deserializer.
// HTTPS verifies the server against the system's CAs, or a CA file; skipping verification is an
// explicit opt-in. Every failure is one of three errors: RpcFault (the server answered a fault),
// TransportError (no usable answer: unreachable, TLS, HTTP status, not XML-RPC) and, one level up,
// ImCallError for IM's `[false, message]` answers.
import { request as httpRequest, type IncomingMessage, type RequestOptions } from "node:http";
import { request as httpsRequest } from "node:https";
import { Readable } from "node:stream";
import { gunzipSync } from "node:zlib";
import Deserializer from "xmlrpc/lib/deserializer.js";
import serializer from "xmlrpc/lib/serializer.js";

export interface XmlRpcClientOptions {
  /** `http://host:port[/path]` or `https://…`; a URL without a scheme gets `http://`. */
  url: string;
  /** PEM CA certificates to trust for HTTPS instead of the system's. */
  ca?: string | Buffer;
  /** Skip the verification of the server's certificate (explicit opt-in). */
  insecure?: boolean;
  /** Give up when a call has had no complete answer after this long (default: wait). */
  timeoutMs?: number;
}

/** The server answered an XML-RPC fault. */
export class RpcFault extends Error {
  override name = "RpcFault";
  constructor(
    readonly faultCode: number,
    readonly faultString: string,
  ) {
    super(faultString);
  }
}

/** No usable XML-RPC answer: the message says why, for a person. */
export class TransportError extends Error {
  override name = "TransportError";
  constructor(
    message: string,
    readonly code?: string,
  ) {
    super(message);
  }
}

/** `localhost:8899` → `http://localhost:8899/`; throws TransportError for a URL that cannot be one. */
export function normalizeUrl(url: string): URL {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(url) ? url : `http://${url}`;
  let parsed: URL;
  try {
    parsed = new URL(withScheme);
  } catch {
    throw new TransportError(`invalid server URL '${url}'`, "EINVALIDURL");
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw new TransportError(`invalid server URL '${url}': only http:// and https:// are supported`, "EINVALIDURL");
  }
  return parsed;
}

export class XmlRpcClient {
  readonly url: URL;

  constructor(private readonly options: XmlRpcClientOptions) {
    this.url = normalizeUrl(options.url);
  }

  /** Calls `method`; resolves with the decoded value, rejects with RpcFault or TransportError. */
  async call(method: string, params: unknown[] = []): Promise<unknown> {
    const body = await this.post(serializer.serializeMethodCall(method, params));
    return new Promise((resolve, reject) => {
      new Deserializer().deserializeMethodResponse(Readable.from([body]), (error, value) => {
        if (error && error.faultString !== undefined) reject(new RpcFault(Number(error.faultCode ?? 0), String(error.faultString)));
        else if (error) reject(new TransportError(`${this.where()} did not answer XML-RPC: ${error.message}`, "EPROTO_XMLRPC"));
        else resolve(value);
      });
    });
  }

  private where(): string {
    return this.url.origin + (this.url.pathname === "/" ? "" : this.url.pathname);
  }

  private post(xml: string): Promise<Buffer> {
    const secure = this.url.protocol === "https:";
    const options: RequestOptions & { ca?: string | Buffer; rejectUnauthorized?: boolean } = {
      method: "POST",
      agent: false,
      headers: { "Content-Type": "text/xml", "Accept-Encoding": "gzip", "User-Agent": "infra-manager-client" },
    };
    if (secure) {
      if (this.options.ca !== undefined) options.ca = this.options.ca;
      options.rejectUnauthorized = !this.options.insecure;
    }
    const send = secure ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const req = send(this.url, options, (res) => {
        collect(res).then((raw) => {
          clearTimeout(timer);
          let body = raw;
          try {
            if (/gzip/i.test(String(res.headers["content-encoding"] ?? ""))) body = gunzipSync(raw);
          } catch {
            reject(new TransportError(`${this.where()} sent a response that is not valid gzip`, "EPROTO_GZIP"));
            return;
          }
          if (res.statusCode !== 200) {
            const text = body.toString("utf8").trim().slice(0, 200);
            reject(new TransportError(`${this.where()} answered HTTP ${res.statusCode}${text ? `: ${text}` : ""} (is this the IM XML-RPC endpoint?)`, `HTTP_${res.statusCode}`));
            return;
          }
          resolve(body);
        }, (error: Error) => {
          clearTimeout(timer);
          reject(this.describe(error as NodeJS.ErrnoException));
        });
      });
      if (this.options.timeoutMs) {
        timer = setTimeout(() => {
          req.destroy(Object.assign(new Error("timeout"), { code: "ETIMEDOUT_CALL" }));
        }, this.options.timeoutMs);
      }
      req.on("error", (error: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(this.describe(error));
      });
      req.end(xml);
    });
  }

  /** A network error as a sentence for an operator. */
  private describe(error: NodeJS.ErrnoException): TransportError {
    const where = this.where();
    const code = error.code ?? "";
    const tls = secureHint(code, error.message);
    let message: string;
    if (code === "ECONNREFUSED") message = `cannot connect to ${where}: connection refused (is the server running?)`;
    else if (code === "ENOTFOUND" || code === "EAI_AGAIN") message = `cannot connect to ${where}: host '${this.url.hostname}' not found`;
    else if (code === "ETIMEDOUT" || code === "ETIMEDOUT_CALL") message = `no answer from ${where} in time`;
    else if (code === "ECONNRESET" || code === "EPIPE") message = `${where} closed the connection (${this.url.protocol === "http:" ? "does the server speak HTTPS? try https://" : "is it an HTTPS server?"})`;
    else if (code === "EPROTO" || /wrong version number|packet length too long/i.test(error.message)) message = `TLS handshake with ${where} failed (does the server speak HTTPS? try http://): ${error.message}`;
    else if (tls) message = `the TLS certificate of ${where} is not trusted (${error.message}); pass --ca-file FILE with the CA that signed it, or --insecure to skip the check`;
    else if (code === "EHOSTUNREACH" || code === "ENETUNREACH") message = `cannot connect to ${where}: network unreachable`;
    else message = `cannot talk to ${where}: ${error.message}`;
    return new TransportError(message, code || undefined);
  }
}

function secureHint(code: string, message: string): boolean {
  return /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|ERR_TLS_CERT_ALTNAME/.test(code) || /certificate/i.test(message);
}

function collect(res: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on("data", (chunk: Buffer) => chunks.push(chunk));
    res.on("end", () => resolve(Buffer.concat(chunks)));
    res.on("error", reject);
  });
}
