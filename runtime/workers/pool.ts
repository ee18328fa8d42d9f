import { randomUUID } from "node:crypto";
import { BroadcastChannel, MessageChannel } from "node:worker_threads";
import { Piscina } from "piscina";
import { ProviderError, type AuthItem, type CloudEntry, type Logger } from "../../core/index.ts";
import { DEFAULT_PROVIDER_CALL_TIMEOUT_SECONDS } from "../config.ts";
import type { PluginSpec } from "../plugins.ts";
import type { ContextOp, ContextOps, ContextPortMessage, ContextTask } from "./context-calls.ts";
import type { Envelope, PoolShutdown, ProviderOp, ProviderOps, ProviderTask } from "./provider-calls.ts";
import type { WorkerData } from "./worker.ts";

// Provider calls run as piscina tasks. They wait on clouds far more than they compute, so a
// few threads each run many tasks at once. IM's MAX_SIMULTANEOUS_LAUNCHES limits only the
// operations its launch pool runs (launch, start, stop, finalize); reads never queue behind them.
// No call may hang a flow: each has a deadline, after which it fails and its `ctx.signal` aborts.

export interface ProviderPoolOptions {
  plugins: PluginSpec[];
  baseDir: string;
  logLevel: string;
  /** MAX_SIMULTANEOUS_LAUNCHES: how many launches, starts, stops and finalizes may run at once. */
  launchConcurrency: number;
  threads?: number;
  /** How long one provider call may take; default DEFAULT_PROVIDER_CALL_TIMEOUT_SECONDS. */
  callTimeoutMs?: number;
  /** When the pool closes, how long calls in flight may go on before their signals abort. */
  closeGraceMs?: number;
  /** Where the pool reports its own failures (a worker that died, calls cut off at close). */
  log?: Logger;
}

/** How many tasks one worker thread runs at once; provider calls mostly wait. */
const TASKS_PER_THREAD = 256;

const LIMITED_OPS: ReadonlySet<ProviderOp> = new Set(["launch", "start", "stop", "finalize"]);

const DEFAULT_CLOSE_GRACE_MS = 10_000;
/** After a call's signal aborts (its deadline, or the close), how long its provider has to stop. */
const ABORT_GRACE_MS = 5_000;

export class ProviderPool {
  private readonly piscina: Piscina;
  private readonly launches: Semaphore;
  private readonly channel: BroadcastChannel;
  private readonly callTimeoutMs: number;
  private readonly closeGraceMs: number;
  private closing: Promise<void> | undefined;

  constructor(options: ProviderPoolOptions) {
    const threads = Math.max(1, options.threads ?? 2);
    this.callTimeoutMs = options.callTimeoutMs ?? DEFAULT_PROVIDER_CALL_TIMEOUT_SECONDS * 1000;
    this.closeGraceMs = options.closeGraceMs ?? DEFAULT_CLOSE_GRACE_MS;
    // Named per pool: several pools in one process (tests, kits) must not shut each other down.
    const poolChannel = `infra-manager-pool-${randomUUID()}`;
    this.channel = new BroadcastChannel(poolChannel);
    this.channel.unref(); // a pool nobody closes must not keep the process alive
    const workerData: WorkerData = { plugins: options.plugins, baseDir: options.baseDir, logLevel: options.logLevel, poolChannel };
    this.piscina = new Piscina({
      filename: new URL("./worker-boot.mjs", import.meta.url).href,
      minThreads: threads,
      maxThreads: threads,
      concurrentTasksPerWorker: TASKS_PER_THREAD,
      idleTimeout: Number.POSITIVE_INFINITY,
      closeTimeout: this.closeGraceMs + ABORT_GRACE_MS,
      workerData,
    });
    // An 'error' event without a listener would end the process.
    this.piscina.on("error", (error: Error) => {
      if (error.message.includes("Close operation timed out")) options.log?.warn("provider calls still running at shutdown were cut off", { error: error.message });
      else options.log?.error("provider worker pool failed", { error: error.message });
    });
    this.launches = new Semaphore(options.launchConcurrency);
  }

  /**
   * Runs a provider operation; a provider failure comes back as a ProviderError, and so does a
   * call that outlives its deadline. The deadline counts from the moment the call may start: time
   * waiting for a launch slot is not the provider's.
   */
  async call<Op extends ProviderOp>(type: string, op: Op, cloud: CloudEntry, credentials: readonly AuthItem[], args: ProviderOps[Op]["args"]): Promise<ProviderOps[Op]["result"]> {
    const run = () => this.runWithDeadline<ProviderOps[Op]["result"]>({ type, op, cloud, credentials: [...credentials], args });
    const envelope = LIMITED_OPS.has(op) ? await this.launches.use(run) : await run();
    if (!envelope.ok) throw new ProviderError(envelope.error.message, envelope.error.code as ProviderError["kind"]);
    return envelope.value;
  }

  /**
   * At the deadline the worker aborts the call's signal; the caller hears of it when the call has
   * ended, or a grace period later for a provider that ignores its signal. So a retry (of a launch
   * with the same key, say) never runs beside the call it repeats, and the launch slot stays taken
   * while that call runs.
   */
  private async runWithDeadline<T>(call: Omit<ProviderTask, "deadline">): Promise<Envelope<T>> {
    const reason = `The ${call.type} provider did not finish ${call.op} within ${this.callTimeoutMs / 1000} s`;
    const task: ProviderTask = { ...call, deadline: { at: Date.now() + this.callTimeoutMs, reason } };
    let timer: NodeJS.Timeout | undefined;
    const givenUp = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new ProviderError(reason, "retryable")), this.callTimeoutMs + ABORT_GRACE_MS);
    });
    try {
      return await Promise.race([this.piscina.run(task) as Promise<Envelope<T>>, givenUp]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Runs a contextualizer operation; its output reaches `output` as it is produced, and
   * `signal` cancels it. A contextualizer failure comes back as an Error.
   */
  async contextCall<Op extends ContextOp>(contextualizer: string, op: Op, args: ContextOps[Op]["args"], signal: AbortSignal, output: (text: string, imId?: number) => void): Promise<ContextOps[Op]["result"]> {
    signal.throwIfAborted();
    const { port1, port2 } = new MessageChannel();
    const outcome = new Promise<Envelope<ContextOps[Op]["result"]>>((resolve) => {
      port1.on("message", (message: ContextPortMessage) => {
        if ("output" in message) output(message.output, message.imId);
        else if ("outcome" in message) resolve(message.outcome as Envelope<ContextOps[Op]["result"]>);
      });
    });
    const cancel = () => port1.postMessage({ cancel: true } satisfies ContextPortMessage);
    signal.addEventListener("abort", cancel, { once: true });
    try {
      const task: ContextTask<Op> = { contextualizer, op, args, port: port2 };
      // The task's own result may come before the last output: the outcome follows it on the port.
      const [, envelope] = await Promise.all([this.piscina.run(task, { transferList: [port2] }), outcome]);
      if (!envelope.ok) throw new Error(envelope.error.message);
      return envelope.value;
    } finally {
      signal.removeEventListener("abort", cancel);
      port1.close();
    }
  }

  /**
   * Lets the calls in flight end (a launch cut short may leave a VM half made in the cloud), for
   * a grace period at most; then their signals abort, and a moment later the threads end.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      const abortLate = setTimeout(() => this.channel.postMessage({ shutdown: true } satisfies PoolShutdown), this.closeGraceMs);
      try {
        await this.piscina.close();
      } finally {
        clearTimeout(abortLate);
        this.channel.close();
      }
    })();
    return this.closing;
  }
}

/** At most `limit` functions run at once; the others wait in order. */
class Semaphore {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly limit: number) {}

  async use<T>(fn: () => Promise<T>): Promise<T> {
    if (this.running >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.running++;
    try {
      return await fn();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }
}
