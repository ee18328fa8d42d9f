import { setTimeout as sleep } from "node:timers/promises";
import { parseRadlText, type Radl, type System } from "../../core/index.ts";
import type { Infrastructure, Vm } from "./infrastructure.ts";

// The contextualization flow (IM behaviour §5.7): whether it is enabled, its effect on VM and
// infrastructure states, the master VM and its SSH wait, the time limits, and the log lines.
// Configuring machines over SSH is a contextualizer plugin's job; until one is configured, SSH
// access is never established and the wait ends as the reference's does when the master
// cannot be reached. Fake addresses (the Dummy cloud's 10.0.0.1) are never dialed.

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
}

/** What the flow needs from the service. */
export interface ContextHost {
  settings: ContextSettings;
  /** Refreshes the VMs' states from their providers. */
  refresh(infrastructure: Infrastructure): Promise<void>;
  persist(infrastructure: Infrastructure): void;
}

export const DISABLED_HEADER = "Contextualization disabled by the RADL/TOSCA template.\n\n";

class ContextFailure extends Error {}

/** A contextualization: cancelled through `controller`; `running` until its flow ends. */
export interface ContextRun {
  controller: AbortController;
  enabled: boolean;
  running: boolean;
}

/**
 * Contextualize in IM: resets every VM's result and runs the flow in the background. As IM
 * reuses a worker that is still alive, an enabled run still in progress goes on (with a fresh
 * log) instead of starting over; otherwise the previous run is cancelled.
 */
export function startContextualization(host: ContextHost, infrastructure: Infrastructure, previous?: ContextRun): ContextRun {
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
  if (enabled && previous?.running && previous.enabled) {
    host.persist(infrastructure);
    return previous;
  }
  previous?.controller.abort();
  const current: ContextRun = { controller: new AbortController(), enabled, running: true };
  const { signal } = current.controller;
  if (!enabled) {
    for (const vm of vms) infrastructure.sendVm(vm.imId, { type: "CONTEXT_FINISHED", ok: true });
    void run(host, infrastructure, current, () => waitForIps(host, infrastructure, signal));
  } else {
    const maxTime = radl.contextualize.maxTime || host.settings.maxTime;
    void run(host, infrastructure, current, () => withTimeLimit(maxTime, signal, infrastructure, () => configureAll(host, infrastructure, contextualized, signal)));
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

async function withTimeLimit(seconds: number, signal: AbortSignal, infrastructure: Infrastructure, phase: () => Promise<void>): Promise<void> {
  const timer = new AbortController();
  const expired = sleep(seconds * 1000, "expired" as const, { signal: AbortSignal.any([signal, timer.signal]) }).catch(() => "cancelled" as const);
  let outcome: "done" | "expired" | "cancelled";
  try {
    outcome = await Promise.race([phase().then(() => "done" as const), expired]);
  } finally {
    timer.abort(); // also when the phase fails: the time limit's timer must not outlive it
  }
  if (outcome !== "expired" || signal.aborted) return;
  log(infrastructure, "ERROR: Max contextualization time passed.");
  for (const vm of infrastructure.liveVms()) {
    if (infrastructure.vmFacts(vm.imId).configured === null) infrastructure.sendVm(vm.imId, { type: "CONTEXT_FINISHED", ok: false });
  }
  throw new ContextFailure("");
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

async function configureAll(host: ContextHost, infrastructure: Infrastructure, vms: Vm[], signal: AbortSignal): Promise<void> {
  await waitForIps(host, infrastructure, signal);
  log(infrastructure, "Select master VM");
  const radl = parseRadlText(infrastructure.radl);
  const master = selectMaster(radl, vms, infrastructure);
  if (!master) throw new ContextFailure("Contextualization Error: No correct Master VM found. Check if there a linux VM with Public IP.");
  infrastructure.vmMaster = master.imId;
  host.persist(infrastructure);
  log(infrastructure, "Wait master VM to boot");
  await waitUntil(host, infrastructure, signal, host.settings.waitRunningVm, () => {
    const state = infrastructure.vmState(master.imId);
    return state === "failed" ? "give up" : state === "running";
  }, "Contextualization Error: Error Waiting the Master VM to boot");
  log(infrastructure, "Wait master VM to have the SSH active.");
  // No contextualizer plugin can reach the master yet: the wait runs its course without dialing.
  await sleep(host.settings.waitSshAccess * 1000, undefined, { signal });
  throw new ContextFailure("Contextualization Error: Error Waiting the Master VM to have the SSH active: Timeout waiting SSH access.");
}

/**
 * The master: an existing live master, else the first Linux VM with a public network (or a
 * proxy host) connected to the most VMs.
 */
function selectMaster(radl: Radl, vms: Vm[], infrastructure: Infrastructure): Vm | undefined {
  const current = vms.find((vm) => vm.imId === infrastructure.vmMaster);
  if (current) return current;
  let best: { vm: Vm; links: number } | undefined;
  for (const vm of vms) {
    const system = vmSystem(vm);
    const os = system.getValue("disk.0.os.name");
    if (os !== undefined && os !== "linux") continue;
    const networks = system.getNetworkIds();
    const reachable = networks.some((id) => radl.getNetwork(id)?.isPublic() || radl.getNetwork(id)?.getValue("proxy_host") !== undefined);
    if (!reachable) continue;
    const links = vms.filter((other) => other !== vm && vmSystem(other).getNetworkIds().some((id) => networks.includes(id))).length;
    if (!best || links > best.links) best = { vm, links };
  }
  return best?.vm;
}
