import type { ConnectionInfo, Logger } from "./provider.ts";

// The contract of a contextualizer plugin: how recipes reach the VMs (IM behaviour §5.7).
// The runtime owns the plan (steps, ordering, master, time limits, states and logs); a
// contextualizer only carries out one operation on one VM at a time. Contextualizers run in
// worker threads; everything they receive is rebuilt from plain JSON on each call.

/** A VM to configure, as the contextualizer sees it. */
export interface ContextNode {
  imId: number;
  /** The VM's name in the inventory: `<address>_<IM id>`, as the reference names it. */
  name: string;
  /** The RADL system the VM runs. */
  system: string;
  /** How to log in; `proxy` is set when the VM is reached through the master. */
  connection: ConnectionInfo;
  /** The node's inventory variables (`IM_NODE_*`). */
  variables: Record<string, string | number | boolean>;
}

/** What every contextualizer call gets besides its arguments. */
export interface ContextOpContext {
  /** Aborted when the contextualization is cancelled or runs out of time. */
  signal: AbortSignal;
  log: Logger;
  /**
   * Appends text to a VM's contextualization log (GetVMContMsg), as it happens: to the VM
   * with IM id `imId`, or to every VM the call is about when `imId` is left out.
   */
  output(text: string, imId?: number): void;
}

/** Why a VM cannot be logged into: the reference's SSH wait reasons. */
export type AccessFailure = "timeout" | "credentials";

export type AccessResult = { ok: true } | { ok: false; reason: AccessFailure; message: string };

/** `disk.0.os.credentials.new.*`: what the VM's login changes to. */
export interface NewCredentials {
  password?: string;
  publicKey?: string;
  privateKey?: string;
}

/**
 * One playbook to run on several VMs at once (the VMs of one system that share a step):
 * one playbook run for many hosts costs far less than one run per host.
 */
export interface PlaybookTask {
  infrastructureId: string;
  /** What runs: `main_<system>` (IM's main task), or the name of the configure block. */
  name: string;
  /** The VMs the playbook configures; nothing else may be touched. */
  targets: ContextNode[];
  /** Every contextualized VM: the inventory the playbook sees (groups by system). */
  nodes: ContextNode[];
  /** Ansible playbook text; every play names its hosts (recipes get the targets' names from the runtime). */
  playbook: string;
  /** Variables every host gets (`IM_INFRASTRUCTURE_ID`, `IM_MASTER_*`, `IM_<SYSTEM>_NUM_VMS`, ...). */
  variables: Record<string, string | number | boolean>;
  /**
   * A folder of this infrastructure's own, for what a contextualizer keeps from one playbook to
   * the next of a contextualization (the Ansible plugin: the facts it gathered). It may not
   * exist yet; the playbooks of one step may use it at the same time; the server empties it
   * when a new contextualization starts and removes it with the infrastructure.
   */
  cacheDir?: string;
}

export type TaskResult = { ok: true } | { ok: false; error: string };

/** The outcome of a playbook on each of its targets, by IM id. */
export type PlaybookResults = Record<number, TaskResult>;

export interface Contextualizer {
  /** Unique among contextualizer plugins; the manifest name. */
  readonly name: string;
  /**
   * Waits until `node` accepts a login, for at most `timeoutSeconds`. Gives up at once on
   * wrong credentials (the reference allows three authentication errors).
   */
  waitForAccess(node: ContextNode, timeoutSeconds: number, ctx: ContextOpContext): Promise<AccessResult>;
  /** Changes the login of `node` to `credentials`; later calls get a connection that uses them. */
  changeCredentials(node: ContextNode, credentials: NewCredentials, ctx: ContextOpContext): Promise<TaskResult>;
  /** Readies `node` for playbooks (IM's `basic` step): Python present, access for the playbook runner. */
  prepare(node: ContextNode, ctx: ContextOpContext): Promise<TaskResult>;
  /** Runs one playbook on `task.targets`; each target's output goes to `ctx.output` with its id. */
  runPlaybook(task: PlaybookTask, ctx: ContextOpContext): Promise<PlaybookResults>;
}
