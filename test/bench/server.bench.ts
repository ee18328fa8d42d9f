// The XML-RPC server under load, next to the figures of the reference (grycap/im 1.19.2 with
// the Dummy cloud on a 2-core machine). The server runs as `infra-manager serve` in a child
// process, on 127.0.0.1 only; the load comes from another child process (load-generator.ts)
// with keep-alive connections and pre-serialised bodies. Figures are medians over repetitions.
//
// Knobs (environment): BENCH_SERVER_QUICK=1 runs fewer and shorter repetitions;
// BENCH_SERVER_CPU_PROF=<dir> writes a V8 CPU profile of every server process into <dir>.
import { fork, spawn, type ChildProcess } from "node:child_process";
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import serializer from "xmlrpc/lib/serializer.js";
import { PACKAGE_ROOT } from "../../runtime/config.ts";
import { ID_PLACEHOLDER, type Job, type JobResult } from "./load-generator.ts";
import type { BenchContext, Benchmark, Verdict } from "./run.ts";

const QUICK = process.env.BENCH_SERVER_QUICK === "1";
const CPU_PROF_DIR = process.env.BENCH_SERVER_CPU_PROF;

/** The reference figures from the issue (grycap/im 1.19.2, Dummy, 2 cores). */
const REFERENCE = {
  stateRps1: 278,
  stateRps16: 351,
  stateP99Ms16: 65,
  create1Ms: 21,
  create10Ms: 57,
  create100Ms: 920,
  cyclesPerS: 31.8,
  kibPerInfrastructure: 73,
  restart1000S: 0.37,
};

/** The targets from the issue. */
const TARGET = {
  throughputFactor: 10,
  p99Ms: 10,
  create100Ms: 100,
  cyclesPerS: 300,
  kibPerInfrastructure: 15,
  restart10000S: 2,
  deployFactor: 1.25,
};

const SIZES = {
  throughputWarmupSeconds: 3,
  throughputSeconds: QUICK ? 1.5 : 3,
  throughputRepetitions: 3,
  create: QUICK ? { 1: 7, 10: 5, 100: 3 } : { 1: 21, 10: 11, 100: 7 },
  /** Unmeasured runs first: a server's first large deployments still run code being compiled. */
  createWarmup: { 1: 10, 10: 5, 100: 5 },
  /** Unmeasured cycles first, until this many have run or the time is up. */
  cyclesWarmup: { cycles: QUICK ? 2000 : 5000, maxSeconds: QUICK ? 10 : 30 },
  cyclesSeconds: QUICK ? 1.5 : 3,
  cyclesRepetitions: QUICK ? 3 : 5,
  /** A warm-up batch, then the rest of the restart population in `batches`. */
  memory: { warm: 1000, batches: 3 },
  restartInfrastructures: QUICK ? 3000 : 10_000,
  restartSmall: 1000,
  restartRepetitions: 3,
  bulkConcurrency: 16,
  deployVms: 1000,
  deployLatencyMs: 200,
  deployConcurrency: 50,
  deployRepetitions: QUICK ? 1 : 3,
};

export const AUTH = [
  { type: "InfrastructureManager", username: "bench", password: "bench-password" },
  { id: "dummy", type: "Dummy" },
];

/** `contextualize ()` disables contextualization, so VMs settle as soon as they have an IP. */
function radl(vms: number): string {
  return `network public (outbound = 'yes')
system node (
  cpu.count >= 1 and
  memory.size >= 512m and
  net_interface.0.connection = 'public' and
  disk.0.os.name = 'linux' and
  disk.0.image.url = 'mock0://linux.for.ev.er/image'
)
deploy node ${vms}
contextualize ()`;
}

export const body = (method: string, ...params: unknown[]) => serializer.serializeMethodCall(method, params);
export const createBody = (vms: number) => body("CreateInfrastructure", radl(vms), AUTH, false);
export const DESTROY = body("DestroyInfrastructure", ID_PLACEHOLDER, AUTH, false, false);
export const LIST = body("GetInfrastructureList", AUTH);

// ------------------------------------------------------------------ statistics and report

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function ms(value: number): string {
  if (!Number.isFinite(value)) return "n/a";
  if (value >= 1000) return `${(value / 1000).toFixed(2)} s`;
  return value >= 10 ? `${value.toFixed(0)} ms` : `${value.toFixed(2)} ms`;
}

interface Row {
  label: string;
  measured: string;
  reference: string;
  /** measured ÷ reference, oriented so that > 1 is better. */
  better?: number;
  target: string;
  pass?: boolean;
}

function table(log: BenchContext["log"], rows: Row[]): void {
  const cells = rows.map((r) => [r.label, r.measured, r.reference, r.better === undefined ? "" : `${r.better.toFixed(1)}x`, r.target, r.pass === undefined ? "" : r.pass ? "PASS" : "MISS"]);
  const head = ["figure", "measured", "reference", "vs ref", "target", ""];
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c: string[]) => c.map((cell, i) => (i === 0 || i === 4 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join("  ").trimEnd();
  log(line(head));
  for (const c of cells) log(line(c));
}

// ------------------------------------------------------------------ processes

const children = new Set<ChildProcess>();

function killAll(): void {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

interface ServerOptions {
  dataDir: string;
  port?: number;
  launchLatencyMs?: number;
  maxLaunches?: number;
}

interface Memory {
  rssKiB: number;
  heapUsed: number;
  external: number;
}

export class ServerChild {
  private stdout = "";
  private stderrTail = "";
  private probes: ((memory: Memory) => void)[] = [];
  readonly exited: Promise<number | null>;

  private constructor(
    readonly child: ChildProcess,
    readonly spawnedAt: number,
  ) {
    children.add(child);
    this.exited = new Promise((resolve) => child.once("exit", (code) => {
      children.delete(child);
      resolve(code);
    }));
    child.stderr!.on("data", (chunk: Buffer) => (this.stderrTail = (this.stderrTail + chunk.toString()).slice(-4000)));
    child.stdout!.on("data", (chunk: Buffer) => {
      this.stdout += chunk.toString();
      let newline: number;
      while ((newline = this.stdout.indexOf("\n")) >= 0) {
        const line = this.stdout.slice(0, newline);
        this.stdout = this.stdout.slice(newline + 1);
        if (line.startsWith("bench-probe ")) this.probes.shift()?.(JSON.parse(line.slice("bench-probe ".length)) as Memory);
        const match = /listening on [^:]+:(\d+)/.exec(line);
        if (match) this.onListening?.(Number(match[1]));
      }
    });
  }

  private onListening?: (port: number) => void;
  port = 0;

  get pid(): number {
    return this.child.pid!;
  }

  get stderr(): string {
    return this.stderrTail;
  }

  /** Spawns `infra-manager serve` with a configuration of its own in `options.dataDir`. */
  static async spawn(options: ServerOptions, waitListening = true): Promise<ServerChild> {
    const configFile = join(options.dataDir, "config.json");
    await writeFile(configFile, JSON.stringify({
      listen: { host: "127.0.0.1", port: options.port ?? 0 },
      dataDir: join(options.dataDir, "data"),
      store: "lowdb",
      plugins: [
        { module: join(PACKAGE_ROOT, "plugins/providers/dummy/index.ts"), options: { launchLatencyMs: options.launchLatencyMs ?? 0 } },
        join(PACKAGE_ROOT, "plugins/stores/lowdb/index.ts"),
      ],
      log: { level: "warn" },
      im: { MAX_SIMULTANEOUS_LAUNCHES: options.maxLaunches ?? 5 },
    }));
    const execArgv = ["--expose-gc", "--import", join(PACKAGE_ROOT, "test/bench/server-probe.mjs")];
    if (CPU_PROF_DIR) execArgv.push("--cpu-prof", "--cpu-prof-dir", CPU_PROF_DIR);
    const spawnedAt = performance.timeOrigin + performance.now();
    const child = spawn(process.execPath, [...execArgv, join(PACKAGE_ROOT, "runtime/cli/infra-manager.mjs"), "serve", "--config", configFile], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    const server = new ServerChild(child, spawnedAt);
    if (waitListening) server.port = await server.listening();
    return server;
  }

  listening(): Promise<number> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the server did not start in 120 s:\n${this.stderr}`)), 120_000);
      this.onListening = (port) => {
        clearTimeout(timer);
        this.port = port;
        resolve(port);
      };
      void this.exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`the server exited with ${code} before listening:\n${this.stderr}`));
      });
    });
  }

  /** Memory after full garbage collections, the second one after V8 has had a moment to return pages. */
  async memory(): Promise<Memory> {
    await this.probe();
    await settle(500);
    return this.probe();
  }

  private probe(): Promise<Memory> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("no memory probe answer in 30 s")), 30_000);
      this.probes.push((memory) => {
        clearTimeout(timer);
        resolve(memory);
      });
      this.child.kill("SIGUSR2");
    });
  }

  /** SIGTERM (graceful: the server saves everything) and waits; SIGKILL after `timeoutMs`. */
  async stop(timeoutMs = 120_000): Promise<{ code: number | null; millis: number }> {
    const started = performance.now();
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill("SIGTERM");
    const timer = setTimeout(() => this.child.kill("SIGKILL"), timeoutMs);
    const code = await this.exited;
    clearTimeout(timer);
    return { code, millis: performance.now() - started };
  }
}

export class LoadGenerator {
  private seq = 0;
  private readonly pending = new Map<number, { resolve: (r: JobResult) => void; reject: (e: Error) => void }>();
  private constructor(private readonly child: ChildProcess) {
    children.add(child);
    child.on("message", (message: { seq: number; result?: JobResult; error?: string }) => {
      const waiter = this.pending.get(message.seq);
      if (!waiter) return;
      this.pending.delete(message.seq);
      if (message.error) waiter.reject(new Error(`load generator: ${message.error}`));
      else waiter.resolve(message.result!);
    });
    child.once("exit", (code) => {
      children.delete(child);
      for (const waiter of this.pending.values()) waiter.reject(new Error(`the load generator exited with ${code}`));
      this.pending.clear();
    });
  }

  static async start(): Promise<LoadGenerator> {
    const child = fork(join(PACKAGE_ROOT, "test/bench/load-generator.ts"), [], { execArgv: ["--import", "tsx"], stdio: ["ignore", "inherit", "inherit", "ipc"] });
    await new Promise<void>((resolve, reject) => {
      child.once("message", () => resolve());
      child.once("exit", (code) => reject(new Error(`the load generator exited with ${code}`)));
    });
    return new LoadGenerator(child);
  }

  run<K extends Job["kind"]>(job: Extract<Job, { kind: K }>): Promise<Extract<JobResult, { kind: K }>> {
    const seq = ++this.seq;
    return new Promise((resolve, reject) => {
      this.pending.set(seq, { resolve: resolve as (r: JobResult) => void, reject });
      this.child.send({ seq, job });
    });
  }

  stop(): void {
    this.child.disconnect();
  }
}

function check(what: string, result: { failures: number; firstFailure?: string }): void {
  if (result.failures > 0) throw new Error(`${what}: ${result.failures} calls failed; first: ${result.firstFailure}`);
}

// ------------------------------------------------------------------ the scenarios

interface Figures {
  rps1: number;
  rps16: number;
  p99At16: number;
  p99At1: number;
  create: Record<1 | 10 | 100, number>;
  cycles: number;
  kibPerInfrastructure: number;
  heapKibPerInfrastructure: number;
  restartSmall: number;
  restartLarge: number;
  restartLargeCount: number;
  shutdownLarge: number;
  deploy: number;
}

function emptyFigures(): Figures {
  return {
    rps1: NaN, rps16: NaN, p99At16: NaN, p99At1: NaN, create: { 1: NaN, 10: NaN, 100: NaN }, cycles: NaN, kibPerInfrastructure: NaN,
    heapKibPerInfrastructure: NaN, restartSmall: NaN, restartLarge: NaN, restartLargeCount: 0, shutdownLarge: NaN, deploy: NaN,
  };
}

async function settle(millis: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, millis));
}

async function phaseApi(log: BenchContext["log"], load: LoadGenerator, root: string, figures: Figures): Promise<void> {
  const dataDir = join(root, "api");
  await mkdir(dataDir, { recursive: true });
  const server = await ServerChild.spawn({ dataDir });
  const port = server.port;
  try {
    // Warm-up: the first calls compile code paths and fill the owner-hash cache.
    check("warm-up", await load.run({ kind: "cycles", port, create: createBody(1), destroy: DESTROY, clients: 1, durationMs: 1000, warmupMs: 0 }));

    // GetInfrastructureState on a settled one-VM infrastructure.
    const created = await load.run({ kind: "timed", port, body: createBody(1), repetitions: 1 });
    check("create", created);
    const listed = await load.run({ kind: "poll", port, body: LIST, expect: 1, timeoutMs: 10_000 });
    if (listed.error) throw new Error(listed.error);
    const id = await firstId(port);
    await settle(500);
    const state = body("GetInfrastructureState", id, AUTH);
    // Unmeasured first, like the cycles below: the rate of a cold server's first seconds climbs.
    check("GetInfrastructureState warm-up", await load.run({ kind: "throughput", port, body: state, clients: 16, durationMs: SIZES.throughputWarmupSeconds * 1000, warmupMs: 0 }));
    for (const clients of [1, 16]) {
      const rates: number[] = [];
      const p99s: number[] = [];
      for (let r = 0; r < SIZES.throughputRepetitions; r++) {
        const result = await load.run({ kind: "throughput", port, body: state, clients, durationMs: SIZES.throughputSeconds * 1000, warmupMs: 300 });
        check(`GetInfrastructureState with ${clients} clients`, result);
        rates.push(result.requests / result.seconds);
        p99s.push(result.latency.p99);
      }
      log(`GetInfrastructureState, ${clients} client(s): ${rates.map((r) => r.toFixed(0)).join(", ")} req/s; p99 ${p99s.map(ms).join(", ")}`);
      if (clients === 1) [figures.rps1, figures.p99At1] = [median(rates), median(p99s)];
      else [figures.rps16, figures.p99At16] = [median(rates), median(p99s)];
    }

    // Synchronous CreateInfrastructure of 1, 10 and 100 VMs (each destroyed afterwards, untimed).
    for (const vms of [1, 10, 100] as const) {
      const result = await load.run({ kind: "timed", port, body: createBody(vms), repetitions: SIZES.create[vms], warmup: SIZES.createWarmup[vms], destroy: DESTROY });
      check(`create of ${vms} VMs`, result);
      figures.create[vms] = median(result.millis);
      log(`create ${vms} VM(s): median ${ms(figures.create[vms])} of ${result.millis.length} after ${SIZES.createWarmup[vms]} unmeasured (min ${ms(Math.min(...result.millis))}, max ${ms(Math.max(...result.millis))})`);
    }

    // Memory per one-VM infrastructure, at the margin: a first batch pays the one-time growth
    // (V8's young generation, the workers' heaps, compiled code); then the growth, after a full
    // GC and settled (idle infrastructures sleep), up to the restart population, divided by
    // their number. RSS moves by several MiB on its own (V8 returns pages when it likes), so
    // one large difference is the figure; the batches are shown for information.
    const { warm, batches } = SIZES.memory;
    const createMany = async (count: number) => {
      const bulk = await load.run({ kind: "bulk", port, body: createBody(1), count, concurrency: SIZES.bulkConcurrency });
      check("bulk create", bulk);
      log(`created ${bulk.created} one-VM infrastructures in ${bulk.seconds.toFixed(1)} s (${(bulk.created / bulk.seconds).toFixed(0)}/s, ${SIZES.bulkConcurrency} clients)`);
      await settle(2500); // the last contextualizations end; idle infrastructures sleep
    };
    await createMany(warm);
    const first = await server.memory();
    let previous = first;
    let total = warm;
    const population = SIZES.restartInfrastructures - 1; // the one of the state calls exists already
    for (let b = 0; b < batches; b++) {
      const count = Math.round((population - warm) / batches);
      await createMany(b === batches - 1 ? population - total : count);
      total = b === batches - 1 ? population : total + count;
      const now = await server.memory();
      log(`memory with ${total + 1}: RSS ${(now.rssKiB / 1024).toFixed(1)} MiB, heap+external ${((now.heapUsed + now.external) / 2 ** 20).toFixed(1)} MiB ` +
        `(since the previous: RSS ${((now.rssKiB - previous.rssKiB) / 1024).toFixed(1)} MiB, heap ${((now.heapUsed + now.external - previous.heapUsed - previous.external) / 2 ** 20).toFixed(1)} MiB)`);
      previous = now;
    }
    const measured = total - warm;
    figures.kibPerInfrastructure = (previous.rssKiB - first.rssKiB) / measured;
    figures.heapKibPerInfrastructure = (previous.heapUsed + previous.external - first.heapUsed - first.external) / 1024 / measured;
    log(`memory per infrastructure over the last ${measured}: RSS ${figures.kibPerInfrastructure.toFixed(1)} KiB, heap+external ${figures.heapKibPerInfrastructure.toFixed(1)} KiB`);
  } finally {
    const stopped = await server.stop();
    figures.shutdownLarge = stopped.millis;
    log(`graceful stop with ${SIZES.restartInfrastructures} infrastructures: ${ms(stopped.millis)} (exit ${stopped.code})`);
  }
}

/**
 * Create + destroy cycles, one client after the other as IM's figure was measured, on a server
 * of their own: its destroyed records stay out of the restart phase's population. A cycle runs
 * thousands of distinct functions once each, and V8 optimizes a function only after many calls,
 * so both processes first run cycles until their code is warm (the rate climbs about threefold
 * over the first few thousand cycles).
 */
async function phaseCycles(log: BenchContext["log"], load: LoadGenerator, root: string, figures: Figures): Promise<void> {
  const dataDir = join(root, "cycles");
  await mkdir(dataDir, { recursive: true });
  const server = await ServerChild.spawn({ dataDir });
  const job = { kind: "cycles", port: server.port, create: createBody(1), destroy: DESTROY, clients: 1 } as const;
  try {
    const warmRates: number[] = [];
    let warmCycles = 0;
    const warmStarted = performance.now();
    while (warmCycles < SIZES.cyclesWarmup.cycles && performance.now() - warmStarted < SIZES.cyclesWarmup.maxSeconds * 1000) {
      const result = await load.run({ ...job, durationMs: 1000, warmupMs: 0 });
      check("create+destroy cycles (warm-up)", result);
      warmCycles += result.cycles;
      warmRates.push(result.cycles / result.seconds);
    }
    log(`create+destroy warm-up: ${warmCycles} cycles in ${((performance.now() - warmStarted) / 1000).toFixed(1)} s, ${warmRates.map((r) => r.toFixed(0)).join(", ")} per s`);
    const rates: number[] = [];
    for (let r = 0; r < SIZES.cyclesRepetitions; r++) {
      const result = await load.run({ ...job, durationMs: SIZES.cyclesSeconds * 1000, warmupMs: 200 });
      check("create+destroy cycles", result);
      rates.push(result.cycles / result.seconds);
    }
    figures.cycles = median(rates);
    log(`create+destroy cycles: ${rates.map((r) => r.toFixed(1)).join(", ")} per s`);
  } finally {
    await server.stop();
  }
}

export async function firstId(port: number): Promise<string> {
  // The load generator does not parse answers; one list call through a tiny parse here.
  const response = await fetch(`http://127.0.0.1:${port}/RPC2`, { method: "POST", body: LIST, headers: { "Content-Type": "text/xml" } });
  const text = await response.text();
  const id = /<string>([^<]+)<\/string>/.exec(text)?.[1];
  if (!id) throw new Error(`no infrastructure in the list: ${text}`);
  return id;
}

/** Time from spawning the server to its first successful, full GetInfrastructureList. */
async function timeRestart(load: LoadGenerator, dataDir: string, expect: number): Promise<number[]> {
  const times: number[] = [];
  for (let r = 0; r < SIZES.restartRepetitions; r++) {
    const port = await freePort();
    const server = await ServerChild.spawn({ dataDir, port }, false);
    try {
      const polled = await load.run({ kind: "poll", port, body: LIST, expect, timeoutMs: 120_000 });
      if (polled.error) throw new Error(`${polled.error}\n${server.stderr}`);
      times.push(polled.at - server.spawnedAt);
    } finally {
      await server.stop();
    }
  }
  return times;
}

async function phaseRestart(log: BenchContext["log"], load: LoadGenerator, root: string, figures: Figures): Promise<void> {
  const large = join(root, "api");
  const records = join(large, "data", "infrastructures");
  // Destroyed infrastructures keep a record (GetStats reads them) but are not listed.
  const live: string[] = [];
  let deleted = 0;
  for (const file of (await readdir(records)).filter((f) => f.endsWith(".json"))) {
    if ((JSON.parse(await readFile(join(records, file), "utf8")) as { deleted?: boolean }).deleted) deleted++;
    else live.push(file);
  }
  figures.restartLargeCount = live.length;

  // A copy with 1000 of them, for the reference's own population.
  const small = join(root, "small");
  await mkdir(join(small, "data", "infrastructures"), { recursive: true });
  await cp(join(large, "data", "installation-secret"), join(small, "data", "installation-secret"));
  await Promise.all(live.slice(0, SIZES.restartSmall).map((f) => cp(join(records, f), join(small, "data", "infrastructures", f))));
  const smallTimes = await timeRestart(load, small, SIZES.restartSmall);
  figures.restartSmall = median(smallTimes);
  log(`restart with ${SIZES.restartSmall}: first full list after ${smallTimes.map(ms).join(", ")}`);

  const largeTimes = await timeRestart(load, large, live.length);
  figures.restartLarge = median(largeTimes);
  log(`restart with ${live.length} (and ${deleted} destroyed records): first full list after ${largeTimes.map(ms).join(", ")}`);
}

async function phaseDeploy(log: BenchContext["log"], load: LoadGenerator, root: string, figures: Figures): Promise<void> {
  const dataDir = join(root, "deploy");
  await mkdir(dataDir, { recursive: true });
  const server = await ServerChild.spawn({ dataDir, launchLatencyMs: SIZES.deployLatencyMs, maxLaunches: SIZES.deployConcurrency });
  try {
    // A smaller deployment first: the server's first one runs code that is still being compiled.
    check("warm-up", await load.run({ kind: "timed", port: server.port, body: createBody(SIZES.deployVms / 10), repetitions: 1, destroy: DESTROY }));
    const result = await load.run({ kind: "timed", port: server.port, body: createBody(SIZES.deployVms), repetitions: SIZES.deployRepetitions, destroy: DESTROY });
    check(`create of ${SIZES.deployVms} VMs`, result);
    figures.deploy = median(result.millis);
    log(`create ${SIZES.deployVms} VMs at ${SIZES.deployLatencyMs} ms per launch, ${SIZES.deployConcurrency} at once: ${result.millis.map(ms).join(", ")}`);
  } finally {
    await server.stop();
  }
}

export const benchmark: Benchmark = {
  name: "server",
  description: "the XML-RPC server under load from another process (Dummy cloud, lowdb store)",
  async run({ log }: BenchContext): Promise<Verdict[]> {
    const root = await mkdtemp(join(tmpdir(), "infra-manager-bench-"));
    const onExit = () => killAll();
    process.once("exit", onExit);
    if (CPU_PROF_DIR) await mkdir(CPU_PROF_DIR, { recursive: true });
    const figures = emptyFigures();
    let load: LoadGenerator | undefined;
    try {
      load = await LoadGenerator.start();
      // A failed phase is reported (its figures stay n/a, i.e. MISS) and the others still run.
      for (const phase of [phaseApi, phaseRestart, phaseCycles, phaseDeploy]) {
        try {
          await phase(log, load, root, figures);
        } catch (error) {
          log(`${phase.name} failed: ${(error as Error).stack ?? String(error)}`);
        }
      }
    } finally {
      load?.stop();
      killAll();
      process.off("exit", onExit);
      await rm(root, { recursive: true, force: true });
    }
    return report(log, figures);
  },
};

function report(log: BenchContext["log"], f: Figures): Verdict[] {
  const ideal = SIZES.deployLatencyMs * Math.ceil(SIZES.deployVms / SIZES.deployConcurrency);
  const rows: Row[] = [
    { label: "GetInfrastructureState, 1 client", measured: `${f.rps1.toFixed(0)} req/s`, reference: `${REFERENCE.stateRps1} req/s`, better: f.rps1 / REFERENCE.stateRps1, target: `≥ ${REFERENCE.stateRps1 * TARGET.throughputFactor} req/s, p99 < ${TARGET.p99Ms} ms (p99 ${ms(f.p99At1)})`, pass: f.rps1 >= REFERENCE.stateRps1 * TARGET.throughputFactor && f.p99At1 < TARGET.p99Ms },
    { label: "GetInfrastructureState, 16 clients", measured: `${f.rps16.toFixed(0)} req/s`, reference: `${REFERENCE.stateRps16} req/s`, better: f.rps16 / REFERENCE.stateRps16, target: `≥ ${REFERENCE.stateRps16 * TARGET.throughputFactor} req/s`, pass: f.rps16 >= REFERENCE.stateRps16 * TARGET.throughputFactor },
    { label: "  p99 latency, 16 clients", measured: ms(f.p99At16), reference: `${REFERENCE.stateP99Ms16} ms`, better: REFERENCE.stateP99Ms16 / f.p99At16, target: `< ${TARGET.p99Ms} ms`, pass: f.p99At16 < TARGET.p99Ms },
    { label: "create, 1 VM (synchronous)", measured: ms(f.create[1]), reference: `${REFERENCE.create1Ms} ms`, better: REFERENCE.create1Ms / f.create[1], target: "" },
    { label: "create, 10 VMs", measured: ms(f.create[10]), reference: `${REFERENCE.create10Ms} ms`, better: REFERENCE.create10Ms / f.create[10], target: "" },
    { label: "create, 100 VMs", measured: ms(f.create[100]), reference: ms(REFERENCE.create100Ms), better: REFERENCE.create100Ms / f.create[100], target: `< ${TARGET.create100Ms} ms`, pass: f.create[100] < TARGET.create100Ms },
    { label: `create+destroy cycles, 1 client, after ${SIZES.cyclesWarmup.cycles} unmeasured`, measured: `${f.cycles.toFixed(1)}/s`, reference: `${REFERENCE.cyclesPerS}/s`, better: f.cycles / REFERENCE.cyclesPerS, target: `≥ ${TARGET.cyclesPerS}/s`, pass: f.cycles >= TARGET.cyclesPerS },
    { label: "memory per one-VM infrastructure (RSS, marginal)", measured: `${f.kibPerInfrastructure.toFixed(1)} KiB`, reference: `${REFERENCE.kibPerInfrastructure} KiB`, better: REFERENCE.kibPerInfrastructure / f.kibPerInfrastructure, target: `< ${TARGET.kibPerInfrastructure} KiB`, pass: f.kibPerInfrastructure < TARGET.kibPerInfrastructure },
    { label: "  (V8 heap + external, after GC)", measured: `${f.heapKibPerInfrastructure.toFixed(1)} KiB`, reference: "", target: "" },
    { label: `first full list after a restart, ${SIZES.restartSmall}`, measured: ms(f.restartSmall), reference: ms(REFERENCE.restart1000S * 1000), better: (REFERENCE.restart1000S * 1000) / f.restartSmall, target: "" },
    { label: `first full list after a restart, ${f.restartLargeCount}`, measured: ms(f.restartLarge), reference: "", target: `< ${TARGET.restart10000S} s with 10,000`, pass: f.restartLargeCount >= 10_000 && f.restartLarge < TARGET.restart10000S * 1000 },
    { label: `deploy ${SIZES.deployVms} VMs, ${SIZES.deployLatencyMs} ms launches, ${SIZES.deployConcurrency} at once`, measured: ms(f.deploy), reference: "", target: `≤ ${TARGET.deployFactor} × ideal ${ms(ideal)} = ${ms(ideal * TARGET.deployFactor)} (×${(f.deploy / ideal).toFixed(2)})`, pass: f.deploy <= ideal * TARGET.deployFactor },
  ];
  log();
  table(log, rows);
  return rows.filter((r) => r.pass !== undefined).map((r) => ({ goal: `${r.label.trim()}: ${r.target}`, measured: r.measured, pass: r.pass! }));
}
