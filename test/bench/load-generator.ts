// The load generator of the server benchmark, run as its own process (forked by
// server.bench.ts) so that the load never shares an event loop with the server or with the
// process that measures. It takes jobs over IPC and answers each with its figures.
//
// Requests are pre-serialised XML-RPC bodies sent over keep-alive connections (one socket per
// client); answers are checked with a regular expression, not parsed, to keep this process
// light: on a 2-core machine it shares the CPUs with the server.
import http from "node:http";

export type Job =
  | { kind: "throughput"; port: number; body: string; clients: number; durationMs: number; warmupMs: number }
  | { kind: "timed"; port: number; body: string; repetitions: number; destroy?: string; warmup?: number }
  | { kind: "cycles"; port: number; create: string; destroy: string; clients: number; durationMs: number; warmupMs: number }
  | { kind: "bulk"; port: number; body: string; count: number; concurrency: number }
  | { kind: "poll"; port: number; body: string; expect: number; timeoutMs: number };

export interface LatencySummary {
  count: number;
  p50: number;
  p99: number;
  max: number;
}

export type JobResult =
  | { kind: "throughput"; requests: number; failures: number; seconds: number; latency: LatencySummary; firstFailure?: string }
  | { kind: "timed"; millis: number[]; firstFailure?: string; failures: number }
  | { kind: "cycles"; cycles: number; failures: number; seconds: number; firstFailure?: string }
  | { kind: "bulk"; created: number; failures: number; seconds: number; firstFailure?: string }
  | { kind: "poll"; at: number; ids: number; attempts: number; error?: string };

/** `id` is the infrastructure id placeholder in a destroy template. */
export const ID_PLACEHOLDER = "@@INFRASTRUCTURE_ID@@";

const OK = /<methodResponse>\s*<params>\s*<param>\s*<value>\s*<array>\s*<data>\s*<value>\s*<boolean>1<\/boolean>/;
const FIRST_STRING = /<\/boolean>\s*<\/value>\s*<value>\s*(?:<string>)?([^<]*)/;

function agentFor(clients: number): http.Agent {
  return new http.Agent({ keepAlive: true, maxSockets: clients, maxFreeSockets: clients, scheduling: "fifo" });
}

interface Answer {
  ok: boolean;
  text: string;
}

function post(agent: http.Agent, port: number, body: string): Promise<Answer> {
  return new Promise((resolve) => {
    const req = http.request(
      { agent, host: "127.0.0.1", port, path: "/RPC2", method: "POST", headers: { "Content-Type": "text/xml", "Content-Length": Buffer.byteLength(body) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          resolve({ ok: res.statusCode === 200 && OK.test(text), text: res.statusCode === 200 ? text : `HTTP ${res.statusCode}: ${text}` });
        });
        res.on("error", (error) => resolve({ ok: false, text: error.message }));
      },
    );
    req.on("error", (error) => resolve({ ok: false, text: error.message }));
    req.end(body);
  });
}

function firstString(text: string): string {
  return FIRST_STRING.exec(text)?.[1] ?? "";
}

function summarize(latencies: number[]): LatencySummary {
  const sorted = Float64Array.from(latencies).sort();
  const at = (q: number) => (sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]);
  return { count: sorted.length, p50: at(0.5), p99: at(0.99), max: sorted.length === 0 ? 0 : sorted[sorted.length - 1] };
}

/** Failed answers: how many, and the first one's text for the report. */
class Failures {
  failures = 0;
  firstFailure: string | undefined;

  /** Counts `answer` if it failed; returns whether it succeeded. */
  check(answer: { ok: boolean; text: string }): boolean {
    if (answer.ok) return true;
    this.failures++;
    this.firstFailure ??= answer.text.slice(0, 500);
    return false;
  }
}

/**
 * Runs `clients` loops of `step` for a warm-up then a measured window; `step` learns whether its
 * iteration counts. Returns the measured seconds.
 */
async function measuredWindow(clients: number, warmupMs: number, durationMs: number, step: (measured: boolean) => Promise<void>): Promise<number> {
  const warmEnd = performance.now() + warmupMs;
  const end = warmEnd + durationMs;
  let measureStart: number | undefined;
  const client = async () => {
    for (;;) {
      const t0 = performance.now();
      if (t0 >= end) return;
      if (measureStart === undefined && t0 >= warmEnd) measureStart = t0;
      await step(t0 >= warmEnd);
    }
  };
  await Promise.all(Array.from({ length: clients }, client));
  return (performance.now() - (measureStart ?? warmEnd)) / 1000;
}

async function throughput(job: Extract<Job, { kind: "throughput" }>): Promise<JobResult> {
  const agent = agentFor(job.clients);
  const latencies: number[] = [];
  const failed = new Failures();
  const seconds = await measuredWindow(job.clients, job.warmupMs, job.durationMs, async (measured) => {
    const t0 = performance.now();
    const answer = await post(agent, job.port, job.body);
    if (!measured) return;
    latencies.push(performance.now() - t0);
    failed.check(answer);
  });
  agent.destroy();
  return { kind: "throughput", requests: latencies.length, failures: failed.failures, seconds, latency: summarize(latencies), firstFailure: failed.firstFailure };
}

async function timed(job: Extract<Job, { kind: "timed" }>): Promise<JobResult> {
  const agent = agentFor(1);
  const millis: number[] = [];
  const failed = new Failures();
  const warmup = job.warmup ?? 0;
  for (let i = 0; i < warmup + job.repetitions; i++) {
    const t0 = performance.now();
    const answer = await post(agent, job.port, job.body);
    if (i >= warmup) millis.push(performance.now() - t0);
    if (failed.check(answer) && job.destroy) failed.check(await post(agent, job.port, job.destroy.replace(ID_PLACEHOLDER, firstString(answer.text))));
  }
  agent.destroy();
  return { kind: "timed", millis, failures: failed.failures, firstFailure: failed.firstFailure };
}

async function cycles(job: Extract<Job, { kind: "cycles" }>): Promise<JobResult> {
  const agent = agentFor(job.clients);
  let count = 0;
  const failed = new Failures();
  const seconds = await measuredWindow(job.clients, job.warmupMs, job.durationMs, async (measured) => {
    const created = await post(agent, job.port, job.create);
    const destroyed = created.ok ? await post(agent, job.port, job.destroy.replace(ID_PLACEHOLDER, firstString(created.text))) : created;
    if (measured && failed.check(destroyed)) count++;
  });
  agent.destroy();
  return { kind: "cycles", cycles: count, failures: failed.failures, seconds, firstFailure: failed.firstFailure };
}

async function bulk(job: Extract<Job, { kind: "bulk" }>): Promise<JobResult> {
  const agent = agentFor(job.concurrency);
  let next = 0;
  let created = 0;
  const failed = new Failures();
  const started = performance.now();
  const worker = async () => {
    while (next < job.count) {
      next++;
      const answer = await post(agent, job.port, job.body);
      if (failed.check(answer)) created++;
    }
  };
  await Promise.all(Array.from({ length: job.concurrency }, worker));
  agent.destroy();
  return { kind: "bulk", created, failures: failed.failures, seconds: (performance.now() - started) / 1000, firstFailure: failed.firstFailure };
}

/** Polls until a call succeeds with `expect` strings in its list; `at` is epoch milliseconds. */
async function poll(job: Extract<Job, { kind: "poll" }>): Promise<JobResult> {
  const deadline = Date.now() + job.timeoutMs;
  let attempts = 0;
  let last = "";
  for (;;) {
    attempts++;
    const agent = new http.Agent({ keepAlive: false });
    const answer = await post(agent, job.port, job.body);
    agent.destroy();
    if (answer.ok) {
      const at = performance.timeOrigin + performance.now();
      const ids = answer.text.split("<string>").length - 1;
      if (ids >= job.expect) return { kind: "poll", at, ids, attempts };
      last = `${ids} ids`;
    } else last = answer.text.slice(0, 200);
    if (Date.now() > deadline) return { kind: "poll", at: 0, ids: 0, attempts, error: `no full list within ${job.timeoutMs} ms; last: ${last}` };
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

async function run(job: Job): Promise<JobResult> {
  switch (job.kind) {
    case "throughput": return throughput(job);
    case "timed": return timed(job);
    case "cycles": return cycles(job);
    case "bulk": return bulk(job);
    case "poll": return poll(job);
  }
}

if (process.send) {
  process.on("message", (message: { seq: number; job: Job }) => {
    run(message.job).then(
      (result) => process.send!({ seq: message.seq, result }),
      (error: Error) => process.send!({ seq: message.seq, error: error.stack ?? String(error) }),
    );
  });
  process.send({ ready: true });
}
