import { createServer, type Socket } from "node:net";
import type { Duplex } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import { Client, type ClientChannel } from "ssh2";
import type { ConnectionInfo } from "../../../core/index.ts";

// SSH with ssh2: logins (through the master when the VM has no public address), commands with
// their input on stdin, the wait for access, and a local port that tunnels to a VM behind the
// master so that the playbook runner's own ssh can reach it.

/** The reference gives up waiting for SSH after this many authentication errors. */
const MAX_AUTHENTICATION_FAILURES = 3;

export interface LoginOptions {
  /** How long one handshake, login included, may take. */
  readyTimeoutMs: number;
  signal: AbortSignal;
}

/** Credentials ssh2 cannot use (a private key it cannot parse, say) are as wrong as rejected ones. */
class UnusableCredentialsError extends Error {}

/** Whether retrying with the same credentials cannot help. */
export function isAuthenticationFailure(error: unknown): boolean {
  return error instanceof UnusableCredentialsError || (error as { level?: string } | null)?.level === "client-authentication";
}

/** A login on a VM, and the logins on the jump hosts it goes through. */
export class SshSession {
  constructor(
    readonly client: Client,
    private readonly gateway: SshSession | null,
  ) {}

  close(): void {
    this.client.end();
    this.gateway?.close();
  }
}

/** Logs into `connection`, through its proxy (itself possibly behind another) when it has one. */
export async function openSession(connection: ConnectionInfo, options: LoginOptions): Promise<SshSession> {
  if (!connection.proxy) return new SshSession(await login(connection, options), null);
  const gateway = await openSession(connection.proxy, options);
  try {
    const channel = await forwardOut(gateway.client, connection.host, connection.port, 0, options);
    return new SshSession(await login(connection, options, channel), gateway);
  } catch (error) {
    gateway.close();
    throw error;
  }
}

/** Runs `work` on a new session that is closed afterwards, and at once when `signal` aborts. */
export async function withSession<T>(connection: ConnectionInfo, options: LoginOptions, work: (session: SshSession) => Promise<T>): Promise<T> {
  const session = await openSession(connection, options);
  const close = () => session.close();
  options.signal.addEventListener("abort", close, { once: true });
  try {
    return await work(session);
  } finally {
    options.signal.removeEventListener("abort", close);
    session.close();
  }
}

function login(connection: ConnectionInfo, { readyTimeoutMs, signal }: LoginOptions, sock?: Duplex): Promise<Client> {
  return new Promise((resolve, reject) => {
    const client = new Client();
    const onAbort = () => fail(signal.reason as Error);
    function fail(error: Error): void {
      signal.removeEventListener("abort", onAbort);
      client.destroy();
      reject(error);
    }
    // Also after the login: a dropped connection must not become an unhandled 'error' event.
    client.on("error", fail);
    // A server that hangs up during the handshake closes without an error, and ssh2 then
    // stops its ready timer: without this the login would wait forever. A no-op once logged in.
    client.on("close", () => fail(new Error("the connection closed before the login completed")));
    client.once("ready", () => {
      signal.removeEventListener("abort", onAbort);
      client.setNoDelay(true); // Nagle plus delayed ACKs add ~40 ms to every command
      resolve(client);
    });
    // Servers that allow passwords only as keyboard-interactive get the password there.
    client.on("keyboard-interactive", (_name, _instructions, _language, prompts, finish) => finish(prompts.map(() => connection.password ?? "")));
    if (signal.aborted) return fail(signal.reason as Error);
    signal.addEventListener("abort", onAbort, { once: true });
    try {
      client.connect({
        host: connection.host,
        port: connection.port,
        username: connection.username,
        ...(connection.password !== undefined && { password: connection.password, tryKeyboard: true }),
        ...(connection.privateKey !== undefined && { privateKey: connection.privateKey }),
        ...(sock && { sock }),
        readyTimeout: readyTimeoutMs,
        // A tunnel to a VM behind the master may stay idle through a long task.
        keepaliveInterval: 15_000,
      });
    } catch (error) {
      // ssh2 throws at once on credentials it cannot use; its message names no secret.
      fail(new UnusableCredentialsError((error as Error).message));
    }
  });
}

/**
 * A channel to host:port across the gateway. With `limits`, it gives up after the login's time
 * and when the signal aborts: a VM that drops packets would otherwise hold it for the gateway's
 * own TCP timeout (the caller then closes the gateway, and the pending forward with it).
 */
function forwardOut(gateway: Client, host: string, port: number, sourcePort = 0, limits?: LoginOptions): Promise<ClientChannel> {
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(limits!.signal.reason as Error);
    const timer = limits && setTimeout(() => reject(new Error(`no connection to ${host}:${port} through the master in ${limits.readyTimeoutMs} ms`)), limits.readyTimeoutMs);
    limits?.signal.addEventListener("abort", onAbort, { once: true });
    gateway.forwardOut("127.0.0.1", sourcePort, host, port, (error, channel) => {
      clearTimeout(timer);
      limits?.signal.removeEventListener("abort", onAbort);
      if (error) reject(error);
      else resolve(channel);
    });
  });
}

export interface CommandResult {
  /** null when the command ended without an exit status (killed, or the connection dropped). */
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `command` with `stdin` as its input: the way secrets reach the VM, never on a command line. */
export function runCommand(client: Client, command: string, stdin = ""): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    client.exec(command, (error, channel) => {
      if (error) return reject(error);
      let stdout = "";
      let stderr = "";
      let code: number | null = null;
      channel.setEncoding("utf8");
      channel.stderr.setEncoding("utf8");
      channel.on("data", (text: string) => (stdout += text));
      channel.stderr.on("data", (text: string) => (stderr += text));
      channel.on("exit", (status: number | null) => (code = typeof status === "number" ? status : null));
      channel.on("close", () => resolve({ code, stdout, stderr }));
      channel.end(stdin);
    });
  });
}

export interface AccessWait {
  timeoutMs: number;
  /** The limit of one attempt; the last attempt gets what time is left. */
  attemptTimeoutMs: number;
  /** The pause between attempts. */
  retryIntervalMs: number;
  signal: AbortSignal;
}

/**
 * Tries to log in until it works, the time runs out or the credentials were rejected
 * MAX_AUTHENTICATION_FAILURES times. A cancelled wait counts as timed out.
 */
export async function waitForLogin(connection: ConnectionInfo, wait: AccessWait): Promise<"ok" | "timeout" | "credentials"> {
  const deadline = Date.now() + wait.timeoutMs;
  let authenticationFailures = 0;
  for (;;) {
    const left = deadline - Date.now();
    if (left <= 0 || wait.signal.aborted) return "timeout";
    try {
      (await openSession(connection, { readyTimeoutMs: Math.min(wait.attemptTimeoutMs, left), signal: wait.signal })).close();
      return "ok";
    } catch (error) {
      if (isAuthenticationFailure(error) && ++authenticationFailures >= MAX_AUTHENTICATION_FAILURES) return "credentials";
    }
    const pause = Math.min(wait.retryIntervalMs, deadline - Date.now());
    if (pause > 0) await sleep(pause, undefined, { signal: wait.signal }).catch(() => undefined);
  }
}

export interface LocalTunnel {
  port: number;
  close(): void;
}

/**
 * Listens on 127.0.0.1 (on a port of the system's choosing) and carries each connection to
 * `host:port` as seen from `gateway`: how a local program reaches a VM behind the master.
 */
export async function openLocalTunnel(gateway: Client, host: string, port: number): Promise<LocalTunnel> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => socket.destroy());
    forwardOut(gateway, host, port, socket.remotePort).then(
      (channel) => {
        if (socket.destroyed) return channel.close();
        channel.on("error", () => socket.destroy());
        channel.on("close", () => socket.destroy());
        socket.on("close", () => channel.close());
        socket.pipe(channel).pipe(socket);
      },
      () => socket.destroy(),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  return {
    port: (server.address() as { port: number }).port,
    close() {
      server.close();
      for (const socket of sockets) socket.destroy();
    },
  };
}
