import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { ExampleServer } from "../src/client.ts";

// The Example cloud as the tests need it: its JSON API served on 127.0.0.1 (port 0) by the test
// process itself, with hooks to inject failures and to set the native status of a server.
// Replace it with a fake of your own cloud's API; keep the hooks.

/** A server as the fake keeps it: what the API returns, and the token it was created with. */
export interface FakeServer extends ExampleServer {
  clientToken: string | null;
}

/** A failure served instead of the next matching requests. */
export interface InjectedFailure {
  /** Only requests with this method (any when absent). */
  method?: string;
  /** The HTTP status to answer with. */
  status?: number;
  /** The error code in the body: `{ "error": { "code", "message" } }`. */
  code?: string;
  /** Close the connection without answering (the client sees a reset socket) instead. */
  reset?: boolean;
  /** Hold the request unanswered until clearFailures(), then serve it normally, instead. */
  hang?: boolean;
  /** How many requests fail (default 1; Infinity: until clearFailures()). */
  times?: number;
}

export class FakeCloud {
  /** The bearer token the cloud accepts. */
  readonly token = `token-${randomUUID()}`;
  readonly servers = new Map<string, FakeServer>();
  /** How many servers may exist at once; creating more answers 403 QuotaExceeded. */
  instanceLimit = Number.POSITIVE_INFINITY;
  private readonly failures: { failure: InjectedFailure; remaining: number }[] = [];
  private readonly held: (() => void)[] = [];
  private nextIp = 10;

  private constructor(private readonly http: Server) {}

  /** Serves a new, empty cloud on a free loopback port. */
  static async start(): Promise<FakeCloud> {
    const http = createServer();
    const cloud = new FakeCloud(http);
    http.on("request", (req, res) => void cloud.serve(req, res));
    await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
    return cloud;
  }

  /** The `host` of an auth item for this cloud. */
  get url(): string {
    return `http://127.0.0.1:${(this.http.address() as AddressInfo).port}`;
  }

  failNext(failure: InjectedFailure): void {
    this.failures.push({ failure, remaining: failure.times ?? 1 });
  }

  /** Drops the failures still to come and lets held requests through. */
  clearFailures(): void {
    this.failures.length = 0;
    for (const release of this.held.splice(0)) release();
  }

  /** Sets a server's native status, as if the cloud had changed it. */
  setStatus(id: string, status: string): void {
    const server = this.servers.get(id);
    if (!server) throw new Error(`no server ${id}`);
    server.status = status;
  }

  async close(): Promise<void> {
    this.clearFailures();
    this.http.closeAllConnections();
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://fake");
    const failure = this.takeFailure(req.method ?? "");
    if (failure?.reset) return void req.socket.destroy();
    if (failure?.hang) await new Promise<void>((resolve) => this.held.push(resolve));
    else if (failure) return reply(res, failure.status ?? 500, { error: { code: failure.code ?? "Injected", message: "Injected failure" } });
    if (req.headers.authorization !== `Bearer ${this.token}`) return reply(res, 401, { error: { code: "Unauthorized", message: "Invalid token" } });
    const body = req.method === "POST" ? await readJson(req) : {};
    const [, version, collection, id, action, verb] = url.pathname.split("/");
    if (version !== "v1" || collection !== "servers") return reply(res, 404, { error: { code: "NotFound", message: "No such endpoint" } });
    if (id === undefined) {
      if (req.method === "POST") return this.create(res, body);
      return reply(res, 405, { error: { code: "MethodNotAllowed", message: `${req.method} ${url.pathname}` } });
    }
    const server = this.servers.get(id);
    if (!server) return reply(res, 404, { error: { code: "NotFound", message: `Server ${id} not found` } });
    if (req.method === "GET" && action === undefined) return reply(res, 200, { server: this.read(server) });
    if (req.method === "DELETE" && action === undefined) {
      this.servers.delete(server.id);
      return reply(res, 204);
    }
    if (req.method === "POST" && action === "actions" && (verb === "start" || verb === "stop")) {
      if (server.status === "BUILDING") return reply(res, 409, { error: { code: "Conflict", message: "Server is still building" } });
      server.status = verb === "start" ? "ACTIVE" : "STOPPED";
      return reply(res, 202, { server: { ...server } });
    }
    reply(res, 405, { error: { code: "MethodNotAllowed", message: `${req.method} ${url.pathname}` } });
  }

  /** Creating with a client token already used returns that server: creation is idempotent. */
  private create(res: ServerResponse, body: Record<string, unknown>): void {
    const clientToken = typeof body.clientToken === "string" ? body.clientToken : null;
    const existing = clientToken === null ? undefined : [...this.servers.values()].find((server) => server.clientToken === clientToken);
    if (existing) return reply(res, 200, { server: { ...existing } });
    if (typeof body.image !== "string" || typeof body.name !== "string") return reply(res, 400, { error: { code: "BadRequest", message: "name and image are required" } });
    if (this.servers.size >= this.instanceLimit) return reply(res, 403, { error: { code: "QuotaExceeded", message: `Quota exceeded: at most ${this.instanceLimit} servers` } });
    const server: FakeServer = {
      id: randomUUID(),
      name: body.name,
      status: "BUILDING",
      image: body.image,
      cpus: typeof body.cpus === "number" ? body.cpus : 1,
      memoryMb: typeof body.memoryMb === "number" ? body.memoryMb : 512,
      ip: null,
      clientToken,
    };
    this.servers.set(server.id, server);
    reply(res, 201, { server: { ...server } });
  }

  /** A server boots on the first read after its creation; documentation addresses (192.0.2.x) are never dialed. */
  private read(server: FakeServer): FakeServer {
    if (server.status === "BUILDING") {
      server.status = "ACTIVE";
      server.ip = `192.0.2.${this.nextIp++}`;
    }
    return { ...server };
  }

  private takeFailure(method: string): InjectedFailure | undefined {
    const index = this.failures.findIndex(({ failure }) => failure.method === undefined || failure.method === method);
    const entry = this.failures[index];
    if (!entry) return undefined;
    if (--entry.remaining === 0) this.failures.splice(index, 1);
    return entry.failure;
  }
}

function reply(res: ServerResponse, status: number, body?: unknown): void {
  res.writeHead(status, body === undefined ? {} : { "Content-Type": "application/json" });
  res.end(body === undefined ? undefined : JSON.stringify(body));
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  try {
    const value: unknown = JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}");
    return typeof value === "object" && value !== null ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}
