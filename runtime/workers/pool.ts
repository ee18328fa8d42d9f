import { MessageChannel } from "node:worker_threads";
import { Piscina } from "piscina";
import { ProviderError, type AuthItem, type CloudEntry } from "../../core/index.ts";
import type { PluginSpec } from "../plugins.ts";
import type { ContextOp, ContextOps, ContextPortMessage, ContextTask } from "./context-calls.ts";
import type { Envelope, ProviderOp, ProviderOps, ProviderTask } from "./provider-calls.ts";
import type { WorkerData } from "./worker.ts";

// Provider calls run as piscina tasks. They wait on clouds far more than they compute, so a
// few threads each run many tasks at once. IM's MAX_SIMULTANEOUS_LAUNCHES limits only the
// operations its launch pool runs (launch, start, stop, finalize); reads never queue behind them.

export interface ProviderPoolOptions {
  plugins: PluginSpec[];
  baseDir: string;
  logLevel: string;
  /** MAX_SIMULTANEOUS_LAUNCHES: how many launches, starts, stops and finalizes may run at once. */
  launchConcurrency: number;
  threads?: number;
}

/** How many tasks one worker thread runs at once; provider calls mostly wait. */
const TASKS_PER_THREAD = 256;

const LIMITED_OPS: ReadonlySet<ProviderOp> = new Set(["launch", "start", "stop", "finalize"]);

export class ProviderPool {
  private readonly piscina: Piscina;
  private readonly launches: Semaphore;

  constructor(options: ProviderPoolOptions) {
    const threads = Math.max(1, options.threads ?? 2);
    const workerData: WorkerData = { plugins: options.plugins, baseDir: options.baseDir, logLevel: options.logLevel };
    this.piscina = new Piscina({
      filename: new URL("./worker-boot.mjs", import.meta.url).href,
      minThreads: threads,
      maxThreads: threads,
      concurrentTasksPerWorker: TASKS_PER_THREAD,
      idleTimeout: Number.POSITIVE_INFINITY,
      workerData,
    });
    this.launches = new Semaphore(options.launchConcurrency);
  }

  /** Runs a provider operation; a provider failure comes back as a ProviderError. */
  async call<Op extends ProviderOp>(type: string, op: Op, cloud: CloudEntry, credentials: readonly AuthItem[], args: ProviderOps[Op]["args"]): Promise<ProviderOps[Op]["result"]> {
    const task: ProviderTask<Op> = { type, op, cloud, credentials: [...credentials], args };
    const run = () => this.piscina.run(task) as Promise<Envelope<ProviderOps[Op]["result"]>>;
    const envelope = LIMITED_OPS.has(op) ? await this.launches.use(run) : await run();
    if (!envelope.ok) throw new ProviderError(envelope.error.message, envelope.error.code as ProviderError["kind"]);
    return envelope.value;
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

  async close(): Promise<void> {
    await this.piscina.close();
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
