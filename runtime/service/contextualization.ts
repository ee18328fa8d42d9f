import { userInfo } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import {
  infrastructureVariables, mainPlaybook, nodeVariables, packageApplications, parseRadlText, planTasks, proxyHost, recipePlaybook, tasksByStep,
  type AccessResult, type ConnectionInfo, type ContextNode, type InventoryVm, type NameDefaults, type PlannedTask, type PlaybookResults, type Radl, type System, type TaskResult,
} from "../../core/index.ts";
import type { ContextOp, ContextOps } from "../workers/context-calls.ts";
import { contextCacheDir, removeContextCache } from "./context-cache.ts";
import type { Infrastructure, Vm } from "./infrastructure.ts";

// The contextualization flow (IM behaviour §5.7): whether it is enabled, its effect on VM and
// infrastructure states, the master VM and its SSH wait, the plan of steps, the time limits,
// and the log lines. A contextualizer plugin carries out each task on its VM. Without one, or
// for a VM its provider says cannot be reached (the Dummy cloud's fake 10.0.0.1), nothing is
// dialed and the SSH wait runs its course as the reference's does for an unreachable master.

export interface ContextSettings {
  /** MAX_CONTEXTUALIZATION_TIME, seconds (a `contextualize N (…)` block overrides it). */
  maxTime: number;
  /** WAIT_RUNNING_VM_TIMEOUT, seconds. */
  waitRunningVm: number;
  /** WAIT_SSH_ACCCESS_TIMEOUT, seconds. */
  waitSshAccess: number;
  /** WAIT_PUBLIC_IP_TIMEOUT, seconds. */
  waitPublicIp: number;
  /** How often the waits look again, milliseconds. */
  pollMs: number;
  /** DEFAULT_VM_NAME and DEFAULT_DOMAIN, for the VMs' host names. */
  names: NameDefaults;
  /** Where the infrastructures' cache folders go (`<dataDir>/contextualization`). */
  cacheRoot: string;
}

/** Runs contextualizer operations (in worker threads), streaming the VM's log to `output`. */
export interface ContextCaller {
  call<Op extends ContextOp>(op: Op, args: ContextOps[Op]["args"], signal: AbortSignal, output: (text: string, imId?: number) => void): Promise<ContextOps[Op]["result"]>;
}

/** What the flow needs from the service. */
export interface ContextHost {
  settings: ContextSettings;
  /** Refreshes the VMs' states from their providers. */
  refresh(infrastructure: Infrastructure): Promise<void>;
  persist(infrastructure: Infrastructure): void;
  /** How to log into a VM, as its provider says; null when it cannot be reached. */
  connection(infrastructure: Infrastructure, vm: Vm): Promise<ConnectionInfo | null>;
  /** The contextualizer plugin, or null when none is loaded. */
  contextualizer: ContextCaller | null;
  /** The caller's `user:pass`, or its OIDC token, which playbooks get as IM_INFRASTRUCTURE_AUTH. */
  ownerAuth?: string;
}

export const DISABLED_HEADER = "Contextualization disabled by the RADL/TOSCA template.\n\n";

class ContextFailure extends Error {}

/** A contextualization: cancelled through `controller`; `running` until its flow ends. */
export interface ContextRun {
  controller: AbortController;
  enabled: boolean;
  running: boolean;
  /** Its plan has started on the machines: a new contextualization starts over instead of joining it. */
  configuring: boolean;
  /** The VMs it contextualizes, and Reconfigure's vm_list: a contextualization that joins it updates them. */
  vms: Vm[];
  vmList: readonly unknown[] | null;
  /** Resolves once its flow has ended, cancelled or not (its playbooks stopped). */
  settled: Promise<void>;
  /** When its time limit runs out (epoch ms); a contextualization that joins it restarts it. */
  deadline: number;
}

/**
 * Contextualize in IM: resets every VM's result and runs the flow in the background. As IM
 * reuses a worker that is still alive, an enabled run still waiting for the master goes on
 * (with a fresh log and the current VMs) instead of starting over; otherwise the previous run
 * is cancelled, whatever it was doing on the machines with it.
 */
export function startContextualization(host: ContextHost, infrastructure: Infrastructure, previous?: ContextRun, vmList: readonly unknown[] | null = null): ContextRun {
  const radl = parseRadlText(infrastructure.radl);
  const vms = infrastructure.liveVms();
  const enabled = isEnabled(radl, vms);
  for (const vm of vms) {
    vm.contMsg = "";
    infrastructure.sendVm(vm.imId, { type: "CONTEXT_STARTED" });
  }
  infrastructure.configured = null;
  infrastructure.contMsg = enabled ? "" : DISABLED_HEADER;
  const contextualized = enabled ? vms.filter((vm) => !skipEmptyConfigure(radl, infrastructure, vm)) : vms;
  const deadline = Date.now() + (radl.contextualize.maxTime || host.settings.maxTime) * 1000;
  if (enabled && previous?.running && previous.enabled && !previous.configuring) {
    previous.vms = contextualized;
    previous.vmList = vmList;
    previous.deadline = deadline;
    host.persist(infrastructure);
    return previous;
  }
  previous?.controller.abort();
  const current: ContextRun = { controller: new AbortController(), enabled, running: true, configuring: false, vms: contextualized, vmList, settled: Promise.resolve(), deadline };
  const { signal } = current.controller;
  // The cancelled run may still be stopping its playbooks on the same machines.
  const previousSettled = previous?.settled ?? Promise.resolve();
  if (!enabled) {
    for (const vm of vms) infrastructure.sendVm(vm.imId, { type: "CONTEXT_FINISHED", ok: true });
    current.settled = run(host, infrastructure, current, () => waitForIps(host, infrastructure, signal));
  } else {
    current.settled = run(host, infrastructure, current, () => withTimeLimit(current, signal, infrastructure, async (phase) => {
      await previousSettled;
      // What a contextualizer cached (Ansible's facts) is this run's: the machines may have changed.
      await removeContextCache(host.settings.cacheRoot, infrastructure.id);
      await configureAll(host, infrastructure, current, phase);
    }));
  }
  host.persist(infrastructure);
  return current;
}

/** A VM whose system has an empty configure is not contextualized (§5.7.2). */
function skipEmptyConfigure(radl: Radl, infrastructure: Infrastructure, vm: Vm): boolean {
  if (!hasEmptyConfigure(radl, vm)) return false;
  vm.contMsg = "Contextualization disabled";
  infrastructure.sendVm(vm.imId, { type: "CONTEXT_FINISHED", ok: true });
  return true;
}

/** Runs a flow; a failure marks the infrastructure unconfigured, a cancellation leaves it be. */
async function run(host: ContextHost, infrastructure: Infrastructure, current: ContextRun, phase: () => Promise<void>): Promise<void> {
  const { signal } = current.controller;
  try {
    await phase();
    if (!signal.aborted && !current.enabled) infrastructure.configured = true;
  } catch (error) {
    if (signal.aborted) return;
    if (error instanceof ContextFailure && error.message) log(infrastructure, error.message);
    failInfrastructure(infrastructure);
  } finally {
    current.running = false;
  }
  host.persist(infrastructure);
}

/** The infrastructure's contextualization failed: every running VM shows unconfigured (§4.2). */
function failInfrastructure(infrastructure: Infrastructure): void {
  infrastructure.configured = false;
  for (const vm of infrastructure.liveVms()) infrastructure.sendVm(vm.imId, { type: "INFRA_CONTEXT_FAILED" });
}

/**
 * Disabled by `contextualize ()`, by items that all use another tool than Ansible, or when
 * every VM's system has an empty configure (§5.7.1).
 */
export function isEnabled(radl: Radl, vms: readonly Vm[]): boolean {
  const items = radl.contextualize.items;
  if (items !== null && items.size === 0) return false;
  if (items !== null && ![...items.values()].some((item) => item.tool === "Ansible")) return false;
  return vms.length === 0 || !vms.every((vm) => hasEmptyConfigure(radl, vm));
}

function vmSystem(vm: Vm): System {
  return vm.info.systems[0];
}

function hasEmptyConfigure(radl: Radl, vm: Vm): boolean {
  const configure = radl.getConfigure(vmSystem(vm).name);
  return configure?.recipes === "";
}

/** The infrastructure log line format: `YYYY-MM-DD HH:MM:SS.ffffff: message`. */
export function log(infrastructure: Infrastructure, message: string): void {
  infrastructure.contMsg += `${localTimestamp(new Date())}: ${message}\n`;
}

export function localTimestamp(date: Date): string {
  const pad = (n: number, width = 2) => String(n).padStart(width, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}.${pad(date.getMilliseconds() * 1000, 6)}`;
}

/** How long a cancelled phase may take to stop what it is doing on the machines. */
const PHASE_STOP_LIMIT_MS = 30_000;

/**
 * Runs `phase` until `limit.deadline` (which may move); when time runs out (or the run is
 * cancelled) its signal stops what it is doing, and this returns once it has stopped.
 */
async function withTimeLimit(limit: { deadline: number }, signal: AbortSignal, infrastructure: Infrastructure, phase: (signal: AbortSignal) => Promise<void>): Promise<void> {
  const timer = new AbortController();
  const expired = (async () => {
    while (Date.now() < limit.deadline) await sleep(limit.deadline - Date.now(), undefined, { signal: AbortSignal.any([signal, timer.signal]) });
    return "expired" as const;
  })().catch(() => "cancelled" as const);
  const running = phase(AbortSignal.any([signal, timer.signal]));
  let outcome: "done" | "expired" | "cancelled";
  try {
    outcome = await Promise.race([running.then(() => "done" as const), expired]);
  } finally {
    timer.abort(); // also when the phase fails: neither the timer nor the phase may outlive the limit
  }
  if (outcome === "expired" && !signal.aborted) {
    log(infrastructure, "ERROR: Max contextualization time passed.");
    for (const vm of infrastructure.liveVms()) {
      if (infrastructure.vmFacts(vm.imId).configured === null) infrastructure.sendVm(vm.imId, { type: "CONTEXT_FINISHED", ok: false });
    }
  }
  // What it was doing on the machines (a playbook, say) ends before the run does, unless it
  // does not stop at all: then the run ends anyway, so that the next one is not held up.
  await Promise.race([running.catch(() => undefined), sleep(PHASE_STOP_LIMIT_MS, undefined, { ref: false })]);
  if (outcome === "expired" && !signal.aborted) throw new ContextFailure("");
}

/** Polls `ready` until it holds, or fails with `failure` once `seconds` have passed. */
async function waitUntil(host: ContextHost, infrastructure: Infrastructure, signal: AbortSignal, seconds: number, ready: () => boolean | "give up", failure: string): Promise<void> {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    await host.refresh(infrastructure);
    const outcome = ready();
    if (outcome === true) return;
    if (outcome === "give up" || Date.now() >= deadline) throw new ContextFailure(failure);
    await sleep(Math.min(host.settings.pollMs, Math.max(1, deadline - Date.now())), undefined, { signal });
  }
}

function hasIp(vm: Vm): boolean {
  const system = vmSystem(vm);
  return system.getNetworkIds().some((_, index) => system.getInterfaceIp(index) !== undefined);
}

const NO_IP_NEEDED = new Set(["stopped", "off", "failed"]);

/** Every VM that is up has an IP (check VM IPs, §5.7.3). */
async function waitForIps(host: ContextHost, infrastructure: Infrastructure, signal: AbortSignal): Promise<void> {
  await waitUntil(host, infrastructure, signal, host.settings.waitRunningVm,
    () => infrastructure.liveVms().every((vm) => NO_IP_NEEDED.has(infrastructure.vmState(vm.imId)) || hasIp(vm)), "");
}

/** Whether a VM attached to a public network lacks its public IP still. */
function missesPublicIp(vm: Vm): boolean {
  const { name } = vmSystem(vm);
  return vm.info.hasPublicNetwork(name) && vm.info.getIp(name, true) === undefined;
}

/** Every VM that is up and attached to a public network has its public IP (wait all VM IPs, §5.7.3). */
async function waitForPublicIps(host: ContextHost, infrastructure: Infrastructure, signal: AbortSignal): Promise<void> {
  await waitUntil(host, infrastructure, signal, host.settings.waitPublicIp,
    () => infrastructure.liveVms().every((vm) => NO_IP_NEEDED.has(infrastructure.vmState(vm.imId)) || !missesPublicIp(vm)), "");
}

async function configureAll(host: ContextHost, infrastructure: Infrastructure, current: ContextRun, signal: AbortSignal): Promise<void> {
  await waitForIps(host, infrastructure, signal);
  log(infrastructure, "Select master VM");
  const radl = parseRadlText(infrastructure.radl);
  const master = selectMaster(radl, current.vms, infrastructure);
  if (!master) throw new ContextFailure("Contextualization Error: No correct Master VM found. Check if there a linux VM with Public IP.");
  infrastructure.vmMaster = master.imId;
  host.persist(infrastructure);
  log(infrastructure, "Wait master VM to boot");
  await waitUntil(host, infrastructure, signal, host.settings.waitRunningVm, () => {
    const state = infrastructure.vmState(master.imId);
    return state === "failed" ? "give up" : state === "running";
  }, "Contextualization Error: Error Waiting the Master VM to boot");
  log(infrastructure, "Wait master VM to have the SSH active.");
  const masterConnection = await connectionOf(host, infrastructure, master);
  const contextualizer = host.contextualizer;
  if (!contextualizer || !masterConnection) {
    // Nothing may be dialed: the wait runs its course.
    await sleep(host.settings.waitSshAccess * 1000, undefined, { signal });
    throw new ContextFailure(`${SSH_WAIT_ERROR}Timeout waiting SSH access.`);
  }
  current.configuring = true;
  // A contextualization that joined this one may have changed the recipes (Reconfigure).
  const plan = new ContextPlan(host, contextualizer, infrastructure, parseRadlText(infrastructure.radl), master, signal);
  const access = await plan.access(master, plan.node(master, masterConnection));
  if (!access.ok) throw new ContextFailure(`${SSH_WAIT_ERROR}${access.message}`);
  const changed = await plan.applyNewCredentials(master, plan.node(master, masterConnection));
  if (!changed.ok) throw new ContextFailure(`Contextualization Error: Error changing the credentials of the master VM: ${changed.error}`);
  await waitForPublicIps(host, infrastructure, signal);
  await plan.run(current.vms, current.vmList);
}

/**
 * How to log into `vm`: as its provider says, through the `proxy_host` of its network when it
 * names one (§5.7.5) and the provider gave no proxy of its own.
 */
async function connectionOf(host: ContextHost, infrastructure: Infrastructure, vm: Vm): Promise<ConnectionInfo | null> {
  const connection = await host.connection(infrastructure, vm);
  const proxy = connection && !connection.proxy ? proxyHost(vm.info) : undefined;
  if (!connection || !proxy) return connection;
  return { ...connection, proxy: { ...proxy, username: proxy.username ?? userInfo().username } };
}

const SSH_WAIT_ERROR = "Contextualization Error: Error Waiting the Master VM to have the SSH active: ";

/**
 * One run of IM's plan once the master is reachable: the nodes and their inventory, then the
 * tasks step by step. A VM whose task fails is unconfigured and drops its later tasks.
 */
class ContextPlan {
  private readonly nodes = new Map<number, ContextNode>();
  private readonly failed = new Set<number>();
  private variables: Record<string, string | number> = {};

  constructor(
    private readonly host: ContextHost,
    private readonly contextualizer: ContextCaller,
    private readonly infrastructure: Infrastructure,
    private readonly radl: Radl,
    private readonly master: Vm,
    private readonly signal: AbortSignal,
  ) {}

  /**
   * A contextualizer call about `vms`: output about one of them goes to its log, other output
   * to the logs of all.
   */
  call<Op extends ContextOp>(vms: Vm | Vm[], op: Op, args: ContextOps[Op]["args"]): Promise<ContextOps[Op]["result"]> {
    const about = Array.isArray(vms) ? vms : [vms];
    return this.contextualizer.call(op, args, this.signal, (text, imId) => {
      // A cancelled run's last words would land in the log of the run that replaced it.
      if (this.signal.aborted) return;
      for (const vm of about) if (imId === undefined || vm.imId === imId) vm.contMsg += text;
    });
  }

  node(vm: Vm, connection: ConnectionInfo): ContextNode {
    const inventory = inventoryVm(vm);
    const address = inventory.publicIp ?? inventory.privateIp ?? connection.host;
    return { imId: vm.imId, name: `${address}_${vm.imId}`, system: vmSystem(vm).name, connection, variables: nodeVariables(inventory, this.host.settings.names) };
  }

  /** Applies `disk.0.os.credentials.new.*`, then makes them the VM's current credentials. */
  async applyNewCredentials(vm: Vm, node: ContextNode): Promise<TaskResult> {
    const { password, publicKey, privateKey } = vmSystem(vm).getCredentials(true);
    if (!password && !publicKey && !privateKey) return { ok: true };
    const result = await this.call(vm, "changeCredentials", { node, credentials: { password, publicKey, privateKey } });
    if (!result.ok) return result;
    vmSystem(vm).updateNewCredentials();
    this.host.persist(this.infrastructure);
    // Later tasks log in with the new credentials.
    const connection = await connectionOf(this.host, this.infrastructure, vm);
    if (connection && this.nodes.has(vm.imId)) this.nodes.set(vm.imId, { ...node, connection: { ...connection, proxy: node.connection.proxy } });
    return result;
  }

  async run(vms: Vm[], vmList: readonly unknown[] | null): Promise<void> {
    const masterConnection = (await connectionOf(this.host, this.infrastructure, this.master))!;
    for (const vm of vms) {
      const connection = vm === this.master ? masterConnection : await connectionOf(this.host, this.infrastructure, vm).catch(() => null);
      if (!connection) {
        this.fail(vm, "Error launching the contextualization agent to configure the VM. Check the SSH connection.");
        continue;
      }
      // A VM without a public address or a proxy host of its own is reached through the master.
      const proxied = !connection.proxy && vm !== this.master && !inventoryVm(vm).publicIp;
      this.nodes.set(vm.imId, this.node(vm, proxied ? { ...connection, proxy: masterConnection } : connection));
    }
    const reachable = vms.filter((vm) => this.nodes.has(vm.imId));
    this.variables = infrastructureVariables({
      infrastructureId: this.infrastructure.id, radl: this.radl, vms: reachable.map(inventoryVm), master: inventoryVm(this.master),
      defaults: this.host.settings.names, auth: this.host.ownerAuth,
    });
    this.logApplications(reachable);
    await this.eachVm(reachable.filter((vm) => vm !== this.master), (vm) => this.waitForAccess(vm));
    const byVm = new Map(reachable.map((vm) => [vm.imId, vm]));
    const plan = planTasks(this.radl, reachable.map((vm) => ({ imId: vm.imId, system: vmSystem(vm).name })), vmList);
    for (const tasks of tasksByStep(plan)) await this.runStep(tasks, byVm);
    for (const vm of reachable) {
      if (!this.failed.has(vm.imId)) this.infrastructure.sendVm(vm.imId, { type: "CONTEXT_FINISHED", ok: true });
    }
    this.infrastructure.configured = this.failed.size === 0;
  }

  /** Runs `work` on every VM still in the plan at once; a failure unconfigures that VM only. */
  private async eachVm(vms: Vm[], work: (vm: Vm) => Promise<TaskResult>): Promise<void> {
    const outcomes = await Promise.all(vms.filter((vm) => !this.failed.has(vm.imId)).map(async (vm) => [vm, await work(vm).catch(asFailure)] as const));
    this.settle(outcomes);
  }

  /**
   * One step: the VMs that run the same playbook in it share one run: a system's VMs for
   * `main`, and every VM of the systems an item applies one configure to.
   */
  private async runStep(tasks: PlannedTask[], byVm: Map<number, Vm>): Promise<void> {
    // A VM's own tasks of one step run one after another, in the plan's order: the i-th of
    // every VM make up wave i.
    const waves: PlannedTask[][] = [];
    const seen = new Map<number, number>();
    for (const task of tasks) {
      const index = seen.get(task.imId) ?? 0;
      seen.set(task.imId, index + 1);
      (waves[index] ??= []).push(task);
    }
    for (const wave of waves) {
      const groups = new Map<string, { task: PlannedTask; vms: Vm[] }>();
      for (const task of wave) {
        if (this.failed.has(task.imId)) continue;
        const key = task.kind === "configure" ? `configure ${task.configure}` : task.name;
        const group = groups.get(key) ?? { task, vms: [] };
        group.vms.push(byVm.get(task.imId)!);
        groups.set(key, group);
      }
      const outcomes = await Promise.all([...groups.values()].map(({ task, vms }) => this.runTask(task, vms)));
      this.settle(outcomes.flat());
    }
  }

  private settle(outcomes: readonly (readonly [Vm, TaskResult])[]): void {
    this.signal.throwIfAborted();
    for (const [vm, result] of outcomes) if (!result.ok) this.fail(vm, result.error);
    this.host.persist(this.infrastructure);
  }

  /**
   * Waits until the VM accepts its credentials or, refused, its new ones: a change that was
   * cut short (a cancelled run, a crash) may have applied them already.
   */
  async access(vm: Vm, node: ContextNode): Promise<AccessResult> {
    const timeoutSeconds = this.host.settings.waitSshAccess;
    const access = await this.call(vm, "waitForAccess", { node, timeoutSeconds });
    const fresh = vmSystem(vm).getCredentials(true);
    if (access.ok || access.reason !== "credentials" || !(fresh.password || fresh.privateKey)) return access;
    const connection = { ...node.connection, ...(fresh.password && { password: fresh.password }), ...(fresh.privateKey && { privateKey: fresh.privateKey }) };
    const retried = await this.call(vm, "waitForAccess", { node: { ...node, connection }, timeoutSeconds });
    if (!retried.ok) return access;
    vmSystem(vm).updateNewCredentials();
    this.host.persist(this.infrastructure);
    if (this.nodes.has(vm.imId)) this.nodes.set(vm.imId, { ...node, connection });
    return retried;
  }

  private async waitForAccess(vm: Vm): Promise<TaskResult> {
    const access = await this.access(vm, this.nodes.get(vm.imId)!);
    return access.ok ? access : { ok: false, error: `Error waiting the VM to have the SSH active: ${access.message}` };
  }

  /** IM's basic step: the VM readied for playbooks, then its new credentials (the master's are done). */
  private async basic(vm: Vm): Promise<TaskResult> {
    const node = this.nodes.get(vm.imId)!;
    const prepared = await this.call(vm, "prepare", { node });
    if (!prepared.ok || vm === this.master) return prepared;
    return this.applyNewCredentials(vm, node);
  }

  private async runTask(task: PlannedTask, vms: Vm[]): Promise<(readonly [Vm, TaskResult])[]> {
    const all = (result: TaskResult) => vms.map((vm) => [vm, result] as const);
    if (task.kind === "basic") return Promise.all(vms.map(async (vm) => [vm, await this.basic(vm).catch(asFailure)] as const));
    const system = vmSystem(vms[0]);
    // Nothing to install: the main playbook would only cost an Ansible run.
    if (task.kind === "main" && packageApplications(system).length === 0) return all({ ok: true });
    const targets = vms.map((vm) => this.nodes.get(vm.imId)!);
    // The trailing comma keeps Ansible from reading a lone IPv6-based name as `a:b` patterns.
    const hosts = `${targets.map((node) => node.name).join(",")},`;
    let playbook: string;
    try {
      playbook = task.kind === "main" ? mainPlaybook(system, hosts) : recipePlaybook(this.radl.getConfigure(task.configure!)?.recipes ?? "", hosts);
    } catch (error) {
      return all(asFailure(error));
    }
    const results = await this.call(vms, "runPlaybook", {
      task: {
        infrastructureId: this.infrastructure.id, name: task.kind === "configure" ? task.configure! : task.name, targets, nodes: [...this.nodes.values()], playbook,
        variables: this.variables, cacheDir: contextCacheDir(this.host.settings.cacheRoot, this.infrastructure.id),
      },
    }).catch((error: unknown): PlaybookResults => Object.fromEntries(vms.map((vm) => [vm.imId, asFailure(error)])));
    return vms.map((vm) => [vm, results[vm.imId] ?? { ok: false, error: `No result of ${task.name} for this VM.` }] as const);
  }

  private fail(vm: Vm, error: string): void {
    this.failed.add(vm.imId);
    vm.contMsg += `${vm.contMsg && !vm.contMsg.endsWith("\n") ? "\n" : ""}${error}\n`;
    this.infrastructure.sendVm(vm.imId, { type: "CONTEXT_FINISHED", ok: false });
  }

  /** The reference logs each application a system's VMs get installed. */
  private logApplications(vms: Vm[]): void {
    const systems = new Map(vms.map((vm) => [vmSystem(vm).name, vmSystem(vm)]));
    for (const system of systems.values()) {
      for (const name of packageApplications(system)) log(this.infrastructure, `App: ${name} set to be installed.`);
    }
  }
}

function asFailure(error: unknown): TaskResult {
  return { ok: false, error: error instanceof Error ? error.message : String(error) };
}

/** A VM as the inventory describes it, with its live addresses. */
function inventoryVm(vm: Vm): InventoryVm {
  const system = vmSystem(vm);
  return {
    imId: vm.imId, providerId: vm.providerId, cloudType: vm.cloud.type, system,
    publicIp: vm.info.getIp(system.name, true), privateIp: vm.info.getIp(system.name, false),
  };
}

/**
 * The master: an existing live master, else the first VM with `disk.0.os.name = 'linux'` and a
 * public network (or a proxy host) connected to the most VMs.
 */
function selectMaster(radl: Radl, vms: Vm[], infrastructure: Infrastructure): Vm | undefined {
  const current = vms.find((vm) => vm.imId === infrastructure.vmMaster);
  if (current) return current;
  let best: { vm: Vm; links: number } | undefined;
  for (const vm of vms) {
    const system = vmSystem(vm);
    const os = system.getValue("disk.0.os.name");
    if (typeof os !== "string" || os.toLowerCase() !== "linux") continue;
    const networks = system.getNetworkIds();
    const reachable = networks.some((id) => radl.getNetwork(id)?.isPublic() || radl.getNetwork(id)?.getValue("proxy_host") !== undefined);
    if (!reachable) continue;
    const links = vms.filter((other) => other !== vm && vmSystem(other).getNetworkIds().some((id) => networks.includes(id))).length;
    if (!best || links > best.links) best = { vm, links };
  }
  return best?.vm;
}
