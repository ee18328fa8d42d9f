import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { ProviderError, cloudList, parseRadl, radlToStructure } from "../../../core/index.ts";
import { createLogger } from "../../../runtime/logger.ts";
import { ProviderPool, type ProviderPoolOptions } from "../../../runtime/workers/pool.ts";
import type { VmJson } from "../../../runtime/workers/provider-calls.ts";
import { MOCK_PLUGIN } from "../../fixtures/mock-cloud.ts";
import type { MockBehaviour, MockCall } from "../../fixtures/plugins/mock-provider.ts";
import { pollUntil } from "../../fixtures/xmlrpc-client.ts";

// The worker pool's deadlines and shutdown (runtime/workers/pool.ts): no provider call may hang
// a flow or the server's exit. The Mock provider runs in the pool's thread and records in a
// file what it was asked and when its ctx.signal stopped it.

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "infra-manager-pool-"));
});
after(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

const AUTH = { id: "mock", type: "Mock", host: "mock.example" };
const CLOUD = cloudList([AUTH])[0].cloud;
const VM: VmJson = {
  infrastructureId: "inf-1",
  imId: 0,
  providerId: "mock-vm-0",
  info: radlToStructure(parseRadl("system node (cpu.count = 1)")),
  state: "running",
};

let pools = 0;

/**
 * A pool of one thread with the Mock provider; `calls()` reads what the Mock was asked, and
 * `warm()` waits until the thread has booted (about a second) by making a call of its own.
 */
function mockPool(behaviour: MockBehaviour, options: Partial<ProviderPoolOptions> = {}) {
  const callsFile = join(dir, `calls-${++pools}.jsonl`);
  const pool = new ProviderPool({
    plugins: [{ module: MOCK_PLUGIN, options: { ...behaviour, callsFile } }],
    baseDir: dir, logLevel: "error", launchConcurrency: 1, threads: 1, ...options,
  });
  const calls = async () => (await readFile(callsFile, "utf8").catch(() => "")).split("\n").filter(Boolean).map((line) => JSON.parse(line) as MockCall);
  const finalize = () => pool.call("Mock", "finalize", CLOUD, [AUTH], { vm: VM, last: true });
  const quotas = () => pool.call("Mock", "getQuotas", CLOUD, [AUTH], {});
  // With a short deadline, calls fail until the thread is up.
  const warm = () => eventually("the worker thread answering", () => quotas().catch(() => undefined), 30_000);
  return { pool, calls, finalize, warm };
}

/** The first value of `probe` that is not undefined. */
async function eventually<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 5000): Promise<T> {
  return (await pollUntil(probe, (value) => value !== undefined, timeoutMs, what))!;
}

test("a provider call that outlives its deadline fails as retryable, and its ctx.signal aborts with the reason", async () => {
  const { pool, calls, finalize, warm } = mockPool({ finalizeLatencyMs: 60_000 }, { callTimeoutMs: 300 });
  try {
    await warm();
    const started = performance.now();
    const error = await finalize().then(() => assert.fail("the call succeeded"), (e: unknown) => e);
    assert.ok(error instanceof ProviderError, String(error));
    assert.equal(error.kind, "retryable");
    assert.equal(error.message, "The Mock provider did not finish finalize within 0.3 s");
    assert.ok(performance.now() - started < 5000, "the call waited far past its deadline");
    const aborted = await eventually("the Mock's finalize stopped by its signal", async () => (await calls()).find((c) => c.op === "aborted"));
    assert.equal(aborted.of, "finalize");
    assert.equal(aborted.reason, "The Mock provider did not finish finalize within 0.3 s");
  } finally {
    await pool.close();
  }
});

test("a call's deadline frees its launch slot once the call has stopped, and a call waiting for the slot has its whole time", async () => {
  // MAX_SIMULTANEOUS_LAUNCHES = 1 here; the first finalize holds the only slot until it stops at its deadline.
  const { pool, calls, finalize, warm } = mockPool({ finalizeLatencyMs: 60_000 }, { callTimeoutMs: 500 });
  try {
    await warm();
    const started = performance.now();
    const first = finalize().catch((e: Error) => e);
    const second = finalize().catch((e: Error) => e);
    assert.ok((await first) instanceof ProviderError);
    assert.ok((await second) instanceof ProviderError);
    // Timers may fire a little early by performance.now().
    assert.ok(performance.now() - started >= 950, "the second call's deadline counted its wait for the slot");
    const finalizes = (await calls()).filter((c) => c.op === "finalize");
    assert.equal(finalizes.length, 2, "the second finalize never reached the provider");
  } finally {
    await pool.close();
  }
});

test("a provider that ignores its signal: its caller hears of the deadline a grace period later", async () => {
  const { pool, calls, finalize, warm } = mockPool({ finalizeLatencyMs: 60_000, ignoreAbort: true }, { callTimeoutMs: 300, closeGraceMs: 100 });
  try {
    await warm();
    const started = performance.now();
    const error = await finalize().then(() => assert.fail("the call succeeded"), (e: unknown) => e);
    const waited = performance.now() - started;
    assert.ok(error instanceof ProviderError && error.message === "The Mock provider did not finish finalize within 0.3 s", String(error));
    assert.ok(waited >= 5000 && waited < 15_000, `the caller heard after ${Math.round(waited)} ms, not 0.3 s + the 5 s grace`);
    assert.equal((await calls()).filter((c) => c.op === "aborted").length, 0, "this provider never stopped");
  } finally {
    await pool.close();
  }
});

test("a pool nobody closes does not keep its process alive", async () => {
  const script = `import { ProviderPool } from ${JSON.stringify(new URL("../../../runtime/workers/pool.ts", import.meta.url).href)};
new ProviderPool({ plugins: [], baseDir: ".", logLevel: "error", launchConcurrency: 1, threads: 1 });`;
  const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { stdio: "ignore" });
  const exited = await Promise.race([once(child, "exit").then(() => true), sleep(20_000).then(() => false)]);
  if (!exited) child.kill("SIGKILL");
  assert.ok(exited, "the process was still running 20 s after its last line");
});

test("a call whose deadline passed before a worker took it never reaches the provider", async () => {
  // The thread is still booting when the deadline passes.
  const { pool, calls, finalize, warm } = mockPool({}, { callTimeoutMs: 50 });
  try {
    const error = await finalize().then(() => assert.fail("the call succeeded"), (e: unknown) => e);
    assert.ok(error instanceof ProviderError && error.message === "The Mock provider did not finish finalize within 0.05 s", String(error));
    // Tasks start in order: once a later call has answered, the finalize has been dealt with.
    await warm();
    assert.deepEqual((await calls()).filter((c) => c.op === "finalize"), []);
  } finally {
    await pool.close();
  }
});

test("closing the pool lets the calls in flight finish within the grace period", async () => {
  const { pool, calls, finalize } = mockPool({ finalizeLatencyMs: 300 }, { closeGraceMs: 10_000 });
  const call = finalize();
  await eventually("the finalize started", async () => (await calls()).find((c) => c.op === "finalize"));
  await pool.close();
  assert.equal(await call, null);
  assert.equal((await calls()).filter((c) => c.op === "aborted").length, 0);
});

test("closing the pool aborts the signals of calls that outlive the grace period", async () => {
  const { pool, calls, finalize } = mockPool({ finalizeLatencyMs: 60_000 }, { closeGraceMs: 200 });
  const call = finalize().catch((e: Error) => e);
  await eventually("the finalize started", async () => (await calls()).find((c) => c.op === "finalize"));
  const started = performance.now();
  await pool.close();
  assert.ok(performance.now() - started < 4000, `close took ${Math.round(performance.now() - started)} ms`);
  const error = await call;
  assert.ok(error instanceof ProviderError);
  assert.equal(error.message, "The server is shutting down");
  assert.deepEqual((await calls()).filter((c) => c.op === "aborted").map((c) => [c.of, c.reason]), [["finalize", "The server is shutting down"]]);
});

test("closing the pool ends even when a provider ignores its signal, and says so", async () => {
  const warnings: string[] = [];
  const log = createLogger({ level: "warn", write: (line) => warnings.push(line) });
  const { pool, calls, finalize } = mockPool({ finalizeLatencyMs: 120_000, ignoreAbort: true }, { closeGraceMs: 100, log });
  const call = finalize().catch((e: Error) => e);
  await eventually("the finalize started", async () => (await calls()).find((c) => c.op === "finalize"));
  const started = performance.now();
  await pool.close();
  assert.ok(performance.now() - started < 15_000, `close took ${Math.round(performance.now() - started)} ms`);
  assert.ok((await call) instanceof Error, "the abandoned call never settled");
  assert.ok(warnings.some((line) => line.includes("provider calls still running at shutdown were cut off")), warnings.join("\n"));
});
