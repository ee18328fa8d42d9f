import { ProviderError, type ProviderErrorKind } from "infra-manager/core";

// A small client for the Example cloud's JSON API. Every failure leaves it as a ProviderError
// whose kind tells infra-manager what happened: retry later, out of quota, bad credentials, or
// a mistake that repeating will not fix.

/** A server as the cloud's API returns it. */
export interface ExampleServer {
  id: string;
  name: string;
  /** The cloud's own status: BUILDING, ACTIVE, STOPPED, … */
  status: string;
  image: string;
  cpus: number;
  memoryMb: number;
  ip: string | null;
}

export interface NewServer {
  name: string;
  image: string;
  cpus: number;
  memoryMb: number;
  /** The cloud returns the server already created with this token instead of a second one. */
  clientToken: string;
}

/**
 * The kind of a failed HTTP call: 401 is bad credentials, 403 too unless the cloud says the
 * quota is exhausted, 429 (throttled) and 5xx are worth retrying, anything else is terminal.
 */
export function classifyHttpFailure(status: number, code: string | undefined): ProviderErrorKind {
  if (status === 401) return "auth";
  if (status === 403) return code === "QuotaExceeded" ? "quota" : "auth";
  if (status === 429 || status >= 500) return "retryable";
  return "terminal";
}

export class ExampleClient {
  constructor(
    private readonly baseUrl: string,
    private readonly token: string,
    private readonly signal: AbortSignal,
    private readonly timeoutMs: number,
  ) {}

  async getServer(id: string): Promise<ExampleServer | null> {
    const body = await this.request("GET", `v1/servers/${encodeURIComponent(id)}`, undefined, { allowNotFound: true });
    return body === null ? null : (body as { server: ExampleServer }).server;
  }

  async createServer(server: NewServer): Promise<ExampleServer> {
    return ((await this.request("POST", "v1/servers", server)) as { server: ExampleServer }).server;
  }

  /** Deleting a server that is already gone succeeds. */
  async deleteServer(id: string): Promise<void> {
    await this.request("DELETE", `v1/servers/${encodeURIComponent(id)}`, undefined, { allowNotFound: true });
  }

  async act(id: string, action: "start" | "stop"): Promise<ExampleServer> {
    return ((await this.request("POST", `v1/servers/${encodeURIComponent(id)}/actions/${action}`, {})) as { server: ExampleServer }).server;
  }

  /** The parsed JSON answer; null for a 404 when `allowNotFound`. */
  private async request(method: string, path: string, body?: unknown, { allowNotFound = false } = {}): Promise<unknown> {
    const timeout = AbortSignal.timeout(this.timeoutMs);
    let response: Response;
    try {
      response = await fetch(new URL(path, this.baseUrl), {
        method,
        headers: { Authorization: `Bearer ${this.token}`, ...(body === undefined ? {} : { "Content-Type": "application/json" }) },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.any([this.signal, timeout]),
      });
    } catch (error) {
      // An abort is infra-manager's own decision (shutdown, cancellation): let it through unchanged.
      if (this.signal.aborted) throw error;
      if (timeout.aborted) throw new ProviderError(`Example cloud at ${this.baseUrl} did not answer ${method} ${path} within ${this.timeoutMs} ms`, "retryable");
      const cause = (error as { cause?: { message?: string } }).cause;
      throw new ProviderError(`Example cloud at ${this.baseUrl} cannot be reached: ${cause?.message ?? (error as Error).message}`, "retryable");
    }
    if (response.status === 404 && allowNotFound) return null;
    const text = await response.text();
    const parsed = parseJson(text);
    if (!response.ok) {
      const error = (parsed as { error?: { code?: string; message?: string } } | undefined)?.error;
      const detail = error?.message ?? (text.slice(0, 200) || response.statusText);
      throw new ProviderError(`Example cloud: ${method} ${path} failed with HTTP ${response.status}: ${detail}`, classifyHttpFailure(response.status, error?.code));
    }
    return parsed;
  }
}

function parseJson(text: string): unknown {
  try {
    return text === "" ? undefined : JSON.parse(text);
  } catch {
    return undefined;
  }
}
