import type { MessagePort } from "node:worker_threads";
import type { AccessResult, ContextNode, Contextualizer, Logger, NewCredentials, PlaybookResults, PlaybookTask, TaskResult } from "../../core/index.ts";
import type { Envelope } from "./provider-calls.ts";

// The contextualizer operations that run as worker tasks. Each task gets a MessagePort: the
// worker streams the VM's log through it, then the outcome (after the output, on the same
// port, so that no line is lost), and the main thread sends the cancellation back (aborting a
// piscina task would end the whole thread, with every other task on it).

export interface ContextOps {
  waitForAccess: { args: { node: ContextNode; timeoutSeconds: number }; result: AccessResult };
  changeCredentials: { args: { node: ContextNode; credentials: NewCredentials }; result: TaskResult };
  prepare: { args: { node: ContextNode }; result: TaskResult };
  runPlaybook: { args: { task: PlaybookTask }; result: PlaybookResults };
}

export type ContextOp = keyof ContextOps;

export interface ContextTask<Op extends ContextOp = ContextOp> {
  contextualizer: string;
  op: Op;
  args: ContextOps[Op]["args"];
  port: MessagePort;
}

/** Messages on a task's port: output and then the outcome from the worker, cancellation from the main thread. */
export type ContextPortMessage = { output: string; imId?: number } | { outcome: Envelope<unknown> } | { cancel: true };

/** Sends a task's outcome after its output, and ends its port. */
export function replyOnPort(task: ContextTask, outcome: Envelope<unknown>): void {
  task.port.postMessage({ outcome } satisfies ContextPortMessage);
  task.port.close();
}

/** Runs one operation against a contextualizer, streaming its output through the task's port. */
export async function runContextOp(contextualizer: Contextualizer, task: ContextTask, log: Logger): Promise<Envelope<unknown>> {
  const controller = new AbortController();
  task.port.on("message", (message: ContextPortMessage) => {
    if ("cancel" in message) controller.abort();
  });
  const ctx = { signal: controller.signal, log, output: (text: string, imId?: number) => task.port.postMessage({ output: text, imId } satisfies ContextPortMessage) };
  try {
    // Every operation's arguments, one of which this task carries.
    const args = task.args as Partial<ContextOps["waitForAccess"]["args"] & ContextOps["changeCredentials"]["args"] & ContextOps["runPlaybook"]["args"]>;
    const value = await (() => {
      switch (task.op) {
        case "waitForAccess": return contextualizer.waitForAccess(args.node!, args.timeoutSeconds!, ctx);
        case "changeCredentials": return contextualizer.changeCredentials(args.node!, args.credentials!, ctx);
        case "prepare": return contextualizer.prepare(args.node!, ctx);
        case "runPlaybook": return contextualizer.runPlaybook(args.task!, ctx);
      }
    })();
    return { ok: true, value };
  } catch (error) {
    return { ok: false, error: { code: "terminal", message: error instanceof Error ? error.message : String(error) } };
  }
}
