import { BroadcastChannel, workerData } from "node:worker_threads";
import { loadPlugins, resolveContextualizer, resolveProvider, type LoadedPlugins, type PluginSpec } from "../plugins.ts";
import { replyOnPort, runContextOp, type ContextTask } from "./context-calls.ts";
import { SHUTDOWN_REASON, runProviderOp, type Envelope, type ProviderTask } from "./provider-calls.ts";
import { createLogger } from "../logger.ts";
import { ProviderError } from "../../core/index.ts";

// A piscina worker: loads the configured plugins once (into this thread's own container) and
// runs provider and contextualizer operations.

export interface WorkerData {
  plugins: PluginSpec[];
  baseDir: string;
  logLevel: string;
  /** The pool's broadcast channel, for its PoolShutdown message (the only one it carries). */
  poolChannel: string;
}

const setup = workerData as WorkerData;

// Loaded as the thread starts, so that a first call's deadline does not pay for it; a failure
// is every task's answer.
const loaded: Promise<LoadedPlugins> = loadPlugins(setup.plugins, setup.baseDir);
loaded.catch(() => undefined);

/** The signals of the provider calls this thread is running. */
const running = new Set<AbortController>();
/** Set once the pool closes: the reason every call's signal aborts with. */
let shutdown: ProviderError | undefined;
const poolChannel = new BroadcastChannel(setup.poolChannel);
poolChannel.unref();
poolChannel.onmessage = () => {
  shutdown = new ProviderError(SHUTDOWN_REASON, "retryable");
  for (const controller of running) controller.abort(shutdown);
};

/** A provider task's outcome is its result; a contextualizer task's goes through its port. */
export default async function runTask(call: ProviderTask | ContextTask): Promise<Envelope<unknown> | void> {
  const outcome = await outcomeOf(call);
  if ("contextualizer" in call) return replyOnPort(call, outcome);
  return outcome;
}

async function outcomeOf(call: ProviderTask | ContextTask): Promise<Envelope<unknown>> {
  let plugins: LoadedPlugins;
  try {
    plugins = await loaded;
  } catch (error) {
    return { ok: false, error: { code: "terminal", message: (error as Error).message } };
  }
  if ("contextualizer" in call) {
    const contextualizer = resolveContextualizer(plugins, call.contextualizer);
    if (!contextualizer) return { ok: false, error: { code: "terminal", message: `No contextualizer plugin named ${call.contextualizer}` } };
    return runContextOp(contextualizer, call, createLogger({ level: setup.logLevel, fields: { worker: true, contextualizer: call.contextualizer, op: call.op } }));
  }
  // The container holds one instance of each provider.
  const provider = resolveProvider(plugins, call.type);
  if (!provider) return { ok: false, error: { code: "terminal", message: `No provider plugin for type ${call.type}` } };
  const log = createLogger({ level: setup.logLevel, fields: { worker: true, provider: call.type, op: call.op } });
  // The main thread fails the call at its deadline; this aborts the provider's own work then.
  const givenUp = shutdown ?? (call.deadline.at <= Date.now() ? new ProviderError(call.deadline.reason, "retryable") : undefined);
  if (givenUp) return { ok: false, error: { code: givenUp.kind, message: givenUp.message } };
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new ProviderError(call.deadline.reason, "retryable")), call.deadline.at - Date.now());
  running.add(controller);
  try {
    return await runProviderOp(provider, call, log, controller.signal);
  } finally {
    clearTimeout(timer);
    running.delete(controller);
  }
}
