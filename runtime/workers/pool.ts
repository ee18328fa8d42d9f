import { Piscina } from "piscina";
import { ProviderError, type AuthItem, type CloudEntry } from "../../core/index.ts";
import type { PluginSpec } from "../plugins.ts";
import type { Envelope, ProviderOp, ProviderOps, ProviderTask } from "./provider-calls.ts";
import type { WorkerData } from "./worker.ts";

// Provider calls run as piscina tasks. They wait on clouds far more than they compute, so a
// few threads each run many tasks at once; the total is IM's MAX_SIMULTANEOUS_LAUNCHES.

export interface ProviderPoolOptions {
  plugins: PluginSpec[];
  baseDir: string;
  logLevel: string;
  /** How many provider calls may run at once. */
  concurrency: number;
  threads?: number;
}

export class ProviderPool {
  private readonly piscina: Piscina;

  constructor(options: ProviderPoolOptions) {
    const threads = Math.max(1, Math.min(options.threads ?? 2, options.concurrency));
    const workerData: WorkerData = { plugins: options.plugins, baseDir: options.baseDir, logLevel: options.logLevel };
    this.piscina = new Piscina({
      filename: new URL("./worker-boot.mjs", import.meta.url).href,
      minThreads: threads,
      maxThreads: threads,
      concurrentTasksPerWorker: Math.ceil(options.concurrency / threads),
      idleTimeout: Number.POSITIVE_INFINITY,
      workerData,
    });
  }

  /** Runs a provider operation; a provider failure comes back as a ProviderError. */
  async call<Op extends ProviderOp>(type: string, op: Op, cloud: CloudEntry, credentials: readonly AuthItem[], args: ProviderOps[Op]["args"]): Promise<ProviderOps[Op]["result"]> {
    const task: ProviderTask<Op> = { type, op, cloud, credentials: [...credentials], args };
    const envelope = (await this.piscina.run(task)) as Envelope<ProviderOps[Op]["result"]>;
    if (!envelope.ok) throw new ProviderError(envelope.error.message, envelope.error.code as ProviderError["kind"]);
    return envelope.value;
  }

  async close(): Promise<void> {
    await this.piscina.close();
  }
}
