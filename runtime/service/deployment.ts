import { setTimeout as sleep } from "node:timers/promises";
import {
  Application, Feature, ProviderError, Radl, errors, parseRadlText, radlFromStructure,
  type AuthItem, type CloudEntry, type System,
} from "../../core/index.ts";
import type { LaunchGroup, VmOutcome } from "../../core/machines/infrastructure.machine.ts";
import { singleSystemText, type ProviderOp, type ProviderOps } from "../workers/provider-calls.ts";

// From a document's deploy lines to launch calls (IM behaviour §5.3-§5.5): image resolution,
// concretization on every cloud, deploy groups tied by private networks, cloud choice, and
// launches with retries.

/** Calls a provider operation (in a worker thread); a failure is a ProviderError. */
export interface ProviderCaller {
  call<Op extends ProviderOp>(type: string, op: Op, cloud: CloudEntry, credentials: readonly AuthItem[], args: ProviderOps[Op]["args"]): Promise<ProviderOps[Op]["result"]>;
}

export interface DeployDefaults {
  cpus: number;
  memory: number;
  memoryUnit: string;
  arch: string;
}

export interface Cloud {
  cloud: CloudEntry;
  credentials: AuthItem[];
}

export interface PlanRequest {
  infrastructureId: string;
  /** Distinguishes the launches of successive AddResource calls in idempotency keys. */
  batch: number;
  /** This call's document, references resolved and checked. */
  radl: Radl;
  clouds: Cloud[];
  /** Private networks already bound to a cloud by earlier calls. */
  privateNetworks: Readonly<Record<string, string>>;
  defaults: DeployDefaults;
  caller: ProviderCaller;
}

const NO_SCORE = -1e9;
const MAX_PROVIDER_TYPE_LENGTH = 15;

/** Validates the caller's cloud entries against the loaded providers (§6.1). */
export function checkClouds(clouds: readonly Cloud[], providerTypes: readonly string[]): void {
  for (const { cloud } of clouds) {
    if (cloud.type.length > MAX_PROVIDER_TYPE_LENGTH || cloud.type.includes(".")) throw errors.invalidProvider();
    if (!providerTypes.includes(cloud.type)) throw errors.providerNotSupported(cloud.type, "no provider plugin is loaded for this type");
  }
}

/** The launch groups for the document's deploy lines, in deploy order. */
export async function planDeployment(request: PlanRequest): Promise<LaunchGroup[]> {
  const { radl } = request;
  const deploys = radl.deploys.map((deploy, index) => ({ deploy, index }));
  const launchedSystems = [...new Set(deploys.filter(({ deploy }) => deploy.vmNumber > 0).map(({ deploy }) => deploy.system))];
  const candidates = new Map<string, System[]>();
  for (const name of launchedSystems) candidates.set(name, await imageCandidates(radl.getSystem(name)!, request));

  const groups = deployGroups(radl, request.privateNetworks);
  const concrete = new Map<string, { system: System | null; score: number }>();
  const concreteFor = async (cloud: Cloud, name: string) => {
    const key = `${cloud.cloud.id}\u0000${name}`;
    if (!concrete.has(key)) concrete.set(key, await bestConcrete(cloud, radl.getSystem(name)!, candidates.get(name) ?? [], request.caller));
    return concrete.get(key)!;
  };

  const planned: LaunchGroup[] = [];
  for (const group of groups) {
    const cloud = await chooseCloud(group, request, concreteFor);
    for (const { deploy, index, count } of group.deploys) {
      if (count === 0) continue;
      const { system } = await concreteFor(cloud, deploy.system);
      planned.push(launchGroup(request, cloud, deploy.system, index, count, system, planned.length));
    }
  }
  return planned.sort((a, b) => a.deployIndex - b.deployIndex);
}

function launchGroup(request: PlanRequest, cloud: Cloud, name: string, deployIndex: number, count: number, system: System | null, position: number): LaunchGroup {
  const requested = withOnlySystem(request.radl, request.radl.getSystem(name)!);
  let failure: string | null = null;
  if (!system) failure = `Error, no concrete system to deploy: ${name} in cloud: ${cloud.cloud.id}. Check if a correct image is being used`;
  else if (system.getValue("disk.0.os.credentials.username") === undefined) failure = `No username for deploy: ${name}`;
  return {
    key: `${request.infrastructureId}/${request.batch}/${position}`,
    deployIndex,
    system: name,
    cloud: cloud.cloud,
    count,
    launchRadl: system ? withOnlySystem(request.radl, system).toString() : null,
    requestedRadl: requested.toString(),
    failure,
  };
}

/** The document with its systems replaced by `system` alone. */
export function withOnlySystem(radl: Radl, system: System): Radl {
  const copy = radl.clone();
  copy.systems = [system.clone()];
  return copy;
}

/** A working copy with IM's default constraints, and the images it could use (§5.3). */
async function imageCandidates(system: System, request: PlanRequest): Promise<System[]> {
  const copy = system.clone();
  copy.delValue("disk.0.applications");
  const { cpus, memory, memoryUnit, arch } = request.defaults;
  if (!copy.hasFeature("cpu.count", true)) copy.addFeature(Feature.number("cpu.count", ">=", cpus));
  if (!copy.hasFeature("memory.size", true)) copy.addFeature(Feature.number("memory.size", ">=", memory, false, memoryUnit));
  if (!copy.hasFeature("cpu.arch", true)) copy.addFeature(Feature.string("cpu.arch", arch));
  if (copy.hasFeature("disk.0.image.url")) return [copy];

  const filters: Record<string, string> = {};
  const flavour = copy.getValue("disk.0.os.flavour");
  const version = copy.getValue("disk.0.os.version");
  if (typeof flavour === "string") filters.distribution = flavour;
  if (typeof version === "string") filters.version = version;
  const found: System[] = [];
  let problems = "";
  for (const cloud of request.clouds) {
    try {
      const images = await request.caller.call(cloud.cloud.type, "listImages", cloud.cloud, cloud.credentials, { filters });
      const uri = images[0]?.uri;
      if (typeof uri === "string") {
        const candidate = copy.clone();
        candidate.setValue("disk.0.image.url", uri);
        found.push(candidate);
      }
    } catch (error) {
      problems += `Error getting images from cloud: ${cloud.cloud.id} (${(error as Error).message})\n`;
    }
  }
  if (found.length === 0) throw errors.operationFailed(`No VMI obtained from Sites to system '${system.name}'${problems ? `: ${problems}` : ""}`);
  return found;
}

/** The best concrete system a cloud offers for one of the candidates, with its score (§5.4). */
async function bestConcrete(cloud: Cloud, requested: System, candidates: System[], caller: ProviderCaller): Promise<{ system: System | null; score: number }> {
  let best: { system: System | null; score: number } = { system: null, score: NO_SCORE };
  for (const candidate of candidates) {
    let offered: string[];
    try {
      offered = await caller.call(cloud.cloud.type, "concreteSystem", cloud.cloud, cloud.credentials, { system: singleSystemText(candidate) });
    } catch {
      continue;
    }
    for (const text of offered) {
      const variant = candidate.clone().applyFeatures(parseRadlText(text).systems[0], "other", "other");
      let concrete: { system: System; score: number };
      try {
        concrete = variant.concrete();
      } catch {
        continue;
      }
      const score = concrete.score * 10000 + applicationScore(requested.getApplications(), concrete.system.getApplications());
      if (score > best.score) best = { system: concrete.system, score };
    }
  }
  return best;
}

function applicationScore(requested: Application[], installed: Application[]): number {
  let score = 0;
  for (const app of installed) {
    const wanted = requested.filter((r) => r.getValue("name") === app.getValue("name"));
    if (wanted.length === 0 && app.getValue("version")) score -= 1;
    for (const request of wanted) {
      if (!request.getValue("version") || app.isNewerThan(request)) score += 100;
      else if (request.isNewerThan(app)) score -= 1;
    }
  }
  return score;
}

interface DeployGroup {
  deploys: { deploy: Radl["deploys"][number]; index: number; count: number }[];
  /** Clouds the group is tied to: deploy cloud ids and clouds its private networks are bound to. */
  pinned: string[];
}

/**
 * Deploys whose systems share a private network (directly or through others) go to one cloud,
 * each deploy whole; a deploy of a system without private networks becomes one group per VM.
 */
function deployGroups(radl: Radl, privateNetworks: Readonly<Record<string, string>>): DeployGroup[] {
  const privateNets = (name: string) => radl.getSystem(name)?.getNetworkIds().filter((id) => !radl.getNetwork(id)?.isPublic()) ?? [];
  const parent = new Map<string, string>();
  const find = (x: string): string => {
    const p = parent.get(x) ?? x;
    if (p === x) return x;
    const root = find(p);
    parent.set(x, root);
    return root;
  };
  for (const { system } of radl.deploys) {
    for (const net of privateNets(system)) {
      const [a, b] = [find(`s:${system}`), find(`n:${net}`)];
      if (a !== b) parent.set(a, b);
    }
  }
  const groups: DeployGroup[] = [];
  const linked = new Map<string, DeployGroup>();
  radl.deploys.forEach((deploy, index) => {
    const nets = privateNets(deploy.system);
    const cloudPins = deploy.cloudId ? [deploy.cloudId] : [];
    if (nets.length === 0) {
      if (deploy.vmNumber === 0) groups.push({ deploys: [{ deploy, index, count: 0 }], pinned: cloudPins });
      for (let i = 0; i < deploy.vmNumber; i++) groups.push({ deploys: [{ deploy, index, count: 1 }], pinned: cloudPins });
      return;
    }
    const root = find(`s:${deploy.system}`);
    let group = linked.get(root);
    if (!group) {
      group = { deploys: [], pinned: [] };
      linked.set(root, group);
      groups.push(group);
    }
    group.deploys.push({ deploy, index, count: deploy.vmNumber });
    group.pinned.push(...cloudPins, ...nets.flatMap((net) => (privateNetworks[net] ? [privateNetworks[net]] : [])));
  });
  return groups;
}

async function chooseCloud(group: DeployGroup, request: PlanRequest, concreteFor: (cloud: Cloud, system: string) => Promise<{ score: number }>): Promise<Cloud> {
  const pinned = [...new Set(group.pinned)];
  if (pinned.length > 1) {
    throw errors.cloudConflict(`[${group.deploys.map(({ deploy }) => `deploy ${deploy.system} ${deploy.vmNumber}${deploy.cloudId ? ` ${deploy.cloudId}` : ""}`).join(", ")}]`);
  }
  let candidates = request.clouds;
  if (pinned.length === 1) {
    const cloud = request.clouds.find((c) => c.cloud.id === pinned[0]);
    if (!cloud) throw errors.noCloudAuth(pinned[0]);
    candidates = [cloud];
  }
  if (candidates.length === 0) throw errors.noCloudProvider();
  let best = candidates[0];
  let bestScore = Number.NEGATIVE_INFINITY;
  for (const cloud of candidates) {
    let total = 0;
    for (const { deploy, count } of group.deploys) total += count === 0 ? 1 : count * (await concreteFor(cloud, deploy.system)).score;
    if (total > bestScore) [best, bestScore] = [cloud, total];
  }
  return best;
}

export interface LaunchSettings {
  maxAttempts: number;
  delayMs: number;
  signal?: AbortSignal;
}

/**
 * Launches a group, retrying the VMs still missing (IM's launch_with_retry). Every VM ends
 * launched or failed with the reference's message. The idempotency key ends in a number that
 * changes only after an attempt the provider answered: a request that failed as a whole (a
 * deadline, say) may still have created VMs, which its retry with the same key then finds.
 */
export async function launchWithRetry(group: LaunchGroup, infrastructureId: string, cloud: Cloud, caller: ProviderCaller, settings: LaunchSettings): Promise<VmOutcome[]> {
  const prefix = `Error launching the VMs of type ${group.system} to cloud ID ${group.cloud.id} of type ${group.cloud.type}. `;
  const failedInfo = group.launchRadl ?? group.requestedRadl;
  if (group.failure) return Array.from({ length: group.count }, () => ({ ok: false, error: prefix + group.failure, info: failedInfo }));
  const launched: VmOutcome[] = [];
  const attemptsLog: string[][] = [];
  let keyNumber = 1;
  for (let attempt = 1; launched.length < group.count && attempt <= settings.maxAttempts; attempt++) {
    if (attempt > 1 && settings.delayMs > 0) await sleep(settings.delayMs, undefined, { signal: settings.signal });
    const missing = group.count - launched.length;
    let messages: string[];
    try {
      const results = await caller.call(cloud.cloud.type, "launch", cloud.cloud, cloud.credentials, {
        infrastructureId, idempotencyKey: `${group.key}/${keyNumber}`, radl: group.launchRadl!, requestedRadl: group.requestedRadl, count: missing,
      });
      keyNumber++;
      messages = [];
      for (let i = 0; i < missing; i++) {
        const result = results[i];
        if (result?.ok) launched.push({ ok: true, providerId: result.providerId, info: radlFromStructure(result.info).toString(), state: result.state });
        else messages.push(result ? result.error : `Error in deploy: ${group.system}`);
      }
    } catch (error) {
      const message = `Error: ${error instanceof ProviderError || error instanceof Error ? error.message : String(error)}`;
      messages = Array.from({ length: missing }, () => message);
    }
    messages.forEach((message, k) => (attemptsLog[k] ??= []).push(`Attempt ${attempt}: ${message}\n`));
  }
  const failures = group.count - launched.length;
  const failed: VmOutcome[] = Array.from({ length: failures }, (_, k) => ({ ok: false, error: prefix + (attemptsLog[k] ?? []).join(""), info: failedInfo }));
  return [...launched, ...failed];
}
