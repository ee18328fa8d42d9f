import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { once } from "node:events";
import { setTimeout as sleep } from "node:timers/promises";
import { createActor } from "xstate";
import {
  PROVIDER_STATES, ProviderError, Radl, System, VM_EDGES, cloudList, credentialsOfType, isProviderState, parseRadl, stateFromFacts, vmMachine,
  type AuthItem, type Capability, type CloudEntry, type CloudProvider, type LaunchRequest, type LaunchResult, type OpContext, type ProviderErrorKind, type ProviderState,
  type ProviderVm, type VmEvent, type VmFacts, type VmState,
} from "../../core/index.ts";
import { readAuthText } from "../client/auth-file.ts";
import { createLogger } from "../logger.ts";
import { resolveProvider, type PluginSpec } from "../plugins.ts";
import { withOnlySystem } from "../service/deployment.ts";
import { ProviderPool } from "../workers/pool.ts";
import { singleSystemText, type ProviderOp, type ProviderOps, type VmJson } from "../workers/provider-calls.ts";
import {
  CheckSkipped, ConformanceFailure, describeError, expect, requireHook, sharedSession, within,
  type ConformanceSuite, type Hook, type NotApplicable,
} from "./checks.ts";
import { loadAsServer, manifestChecks } from "./manifest-checks.ts";

// The conformance kit for CloudProvider plugins. Static checks read the plugin module; contract
// checks call a provider instance against the author's test cloud; pool checks run the plugin
// in the real worker pool, loaded by module path as the server loads it, and drive the real VM
// state machine with its answers; the live check runs one VM through its life on a real cloud.

/** A way the test cloud can fail the provider's requests. */
export type CloudFault = "auth" | "quota" | "transient" | "hang";

export interface CloudFaults {
  /**
   * From now until clear(), the cloud answers the provider's requests with the fault: `auth`
   * rejects the credentials, `quota` refuses for lack of quota, `transient` fails the way a
   * retry would cure (a 503, a reset connection), `hang` holds requests unanswered.
   */
  inject(fault: CloudFault): Promise<void> | void;
  /** Ends the fault; requests held by `hang` are let through. */
  clear(): Promise<void> | void;
}

/**
 * The author's test cloud, started for one suite. The pool checks run the provider in worker
 * threads, so the cloud must be reachable from there: a loopback server or files, not objects
 * in this thread's memory.
 */
export interface TestCloud {
  /** The plugin options that point the provider at this cloud, as a server config would give them. */
  options?: Record<string, unknown>;
  /** The auth line of this cloud as a client sends it (`{ id, type, host, username, ... }`); `type` is the provider's. */
  auth: AuthItem;
  /** A RADL document (its networks and one system) the cloud can run. */
  radl: string;
  /** The provider ids of the VMs the cloud holds (finalized ones may still be listed). */
  listVms(): Promise<string[]>;
  /** Makes the cloud report `nativeState`, a state name it never uses, for the VM. */
  setNativeState?: Hook<(providerId: string, nativeState: string) => Promise<void> | void>;
  faults?: Hook<CloudFaults>;
  /** Stops the cloud and removes what it left behind. */
  close?(): Promise<void> | void;
}

/** The opt-in run against a real cloud, whose credentials come from INFRA_MANAGER_LIVE_AUTH. */
export interface LiveFixture {
  /** A RADL document (its networks and one system) the real cloud can run: an image it has, its smallest size. */
  radl: string;
  /** The plugin options for the real cloud (default none). */
  options?: Record<string, unknown>;
  /** The provider ids of the real cloud's VMs that carry the tag `key=value`: the leak check. */
  listVmsByTag(tag: { key: string; value: string }, ctx: OpContext): Promise<string[]>;
  /** How long the VM may take to reach a state, and any one call (default 15 minutes). */
  timeoutMs?: number;
  /** Pause between two observe() calls while waiting for a state (default 5 s). */
  pollIntervalMs?: number;
}

export interface ProviderFixture {
  /** The plugin module, as a server config names it: an absolute path, a file: URL or a package name. */
  module: string;
  /** What a relative `module` is relative to (default: the current directory). */
  baseDir?: string;
  /** Starts the test cloud; called once, on the first check that needs it, and closed with the suite. */
  cloud(): Promise<TestCloud> | TestCloud;
  /** How long any one call on the test cloud may take, and a VM to become running (default 10 s). */
  callTimeoutMs?: number;
  live?: LiveFixture | NotApplicable;
}

/** The environment variable naming an IM auth file for the live check. */
export const LIVE_AUTH_ENV = "INFRA_MANAGER_LIVE_AUTH";
/** The tag key of VMs the live check launches (`instance_tags`); its value is unique per run. */
export const LIVE_TAG_KEY = "infra-manager-conformance";
/** The native state the unknown-state check makes the test cloud report. */
export const UNKNOWN_NATIVE_STATE = "infra-manager-conformance-unknown-state";

/** The optional methods each capability promises. */
const CAPABILITY_METHODS: Record<Capability, readonly (keyof CloudProvider)[]> = {
  start: ["start"],
  stop: ["stop"],
  reboot: ["reboot"],
  alter: ["alter"],
  snapshot: ["createSnapshot", "deleteImage"],
  images: ["listImages"],
  quotas: ["getQuotas"],
};

const SIGNATURES: Partial<Record<keyof CloudProvider, string>> = {
  start: "start(vm, ctx)",
  stop: "stop(vm, ctx)",
  reboot: "reboot(vm, ctx)",
  alter: "alter(vm, system, ctx)",
  createSnapshot: "createSnapshot(vm, disk, imageName, autoDelete, ctx)",
  deleteImage: "deleteImage(url, ctx)",
  listImages: "listImages(filters, ctx)",
  getQuotas: "getQuotas(ctx)",
};

/** What each fault must be classified as, and why it matters. */
const FAULT_KINDS: Record<Exclude<CloudFault, "hang">, { failure: string; kind: ProviderErrorKind; why: string }> = {
  auth: { failure: "an authentication failure", kind: "auth", why: "the user must fix the credentials; retrying cannot help" },
  quota: { failure: "a quota failure", kind: "quota", why: "the user must free resources or ask for more quota" },
  transient: { failure: "a transient failure", kind: "retryable", why: "the runtime may retry it" },
};

/** How long the pool checks wait for a hung call before they give it up. */
const HANG_DEADLINE_MS = 150;
/** How long a provider may take to give up once ctx.signal aborts. */
const ABORT_GRACE_MS = 1000;
/** How long the restart check waits for the cloud to show the launch's VM before it restarts the pool. */
const IN_FLIGHT_MS = 20;
const POLL_MS = 50;

/** The provider kit's checks for one plugin; register them with registerConformance(). */
export function providerConformance(fixture: ProviderFixture): ConformanceSuite {
  const baseDir = fixture.baseDir ?? process.cwd();
  const timeoutMs = fixture.callTimeoutMs ?? 10_000;
  const { check, close } = sharedSession(() => Session.open(fixture, baseDir, timeoutMs));

  return {
    name: `provider conformance: ${fixture.module}`,
    checks: [
      ...manifestChecks(fixture.module, baseDir, "provider"),
      check("provider/type", "provider.type equals the manifest name", checkType),
      check("capabilities/declared-implemented", "every declared capability's methods are implemented", checkDeclaredImplemented),
      check("capabilities/implemented-declared", "every implemented optional method's capability is declared", checkImplementedDeclared),
      check("contract/concrete-system", "concreteSystem() returns System variants, leaving its argument alone", checkConcreteSystem),
      check("contract/launch-idempotent", "launch() returns `count` VMs and is idempotent per idempotencyKey", checkIdempotentLaunch),
      check("contract/unknown-native-state", "observe() maps an unknown native state to 'unknown' and returns it as nativeState", checkUnknownNativeState),
      check("contract/finalize-placeholder", "finalize() of a placeholder (providerId null) succeeds", checkFinalizePlaceholder),
      check("contract/finalize-missing", "finalize() of a VM that no longer exists succeeds", checkFinalizeMissing),
      ...(Object.keys(FAULT_KINDS) as (keyof typeof FAULT_KINDS)[]).map((fault) =>
        check(`errors/${fault}`, `${FAULT_KINDS[fault].failure} of the cloud is a ProviderError of kind '${FAULT_KINDS[fault].kind}'`, (s) => checkFaultKind(s, fault))),
      check("contract/abort-signal", "a call the cloud holds stops when ctx.signal aborts", checkAbortSignal),
      check("pool/lifecycle", "in the worker pool: launch, observe, stop/start, finalize drive the VM machine to 'off'", checkPoolLifecycle),
      check("pool/faults", "in the worker pool: transient errors keep their kind and a hung call past its deadline makes the VM 'unknown' until it answers", checkPoolFaults),
      check("pool/restart-mid-launch", "a worker pool restarted in the middle of a launch: the same key launches no second VM", checkRestartMidLaunch),
      { id: "live/lifecycle", name: `live: one tagged VM through its life on a real cloud (${LIVE_AUTH_ENV})`, run: () => checkLive(fixture, baseDir) },
    ],
    close,
  };
}

// ------------------------------------------------------------------------------------ session

/** The test cloud and the plugin loaded against it, shared by the checks of one suite. */
class Session {
  readonly infrastructureId = `conformance-${randomUUID()}`;
  private keys = 0;
  private documentsLoaded: Promise<{ launch: Radl; requested: Radl }> | undefined;
  private currentPool: ProviderPool | undefined;
  private readonly pools = new Set<ProviderPool>();

  private constructor(
    readonly cloud: TestCloud,
    readonly spec: PluginSpec,
    private readonly baseDir: string,
    readonly type: string,
    readonly provider: CloudProvider,
    readonly timeoutMs: number,
  ) {}

  static async open(fixture: ProviderFixture, baseDir: string, timeoutMs: number): Promise<Session> {
    const cloud = await fixture.cloud();
    try {
      const spec: PluginSpec = { module: fixture.module, options: cloud.options ?? {} };
      const { loaded, manifest } = await loadAsServer(spec, baseDir);
      expect(cloud.auth.type === manifest.name, () => `the test cloud's auth line has type ${JSON.stringify(cloud.auth.type)}, but the provider answers to '${manifest.name}' (its manifest name): give the auth line type: '${manifest.name}'`);
      const provider = resolveProvider(loaded, manifest.name)!;
      const session = new Session(cloud, spec, baseDir, manifest.name, provider, timeoutMs);
      session.pool();
      return session;
    } catch (error) {
      await cloud.close?.();
      throw error;
    }
  }

  get cloudEntry(): CloudEntry {
    return cloudList([this.cloud.auth])[0].cloud;
  }

  get credentials(): AuthItem[] {
    return credentialsOfType([this.cloud.auth], this.type);
  }

  /** A fresh idempotency key, shaped like the runtime's. */
  key(purpose: string): string {
    return `${this.infrastructureId}/${purpose}/${++this.keys}`;
  }

  context(signal: AbortSignal = AbortSignal.timeout(this.timeoutMs)): OpContext {
    return { signal, cloud: this.cloudEntry, credentials: this.credentials, log: createLogger({ level: "error" }) };
  }

  /** A call on the in-process provider, given up (and failed) after the call timeout. */
  call<T>(what: string, fn: (ctx: OpContext) => Promise<T>): Promise<T> {
    return within(fn(this.context()), this.timeoutMs, what);
  }

  /** The fixture's system and its first concrete variant, each alone in the fixture's document. */
  documents(): Promise<{ launch: Radl; requested: Radl }> {
    return (this.documentsLoaded ??= (async () => {
      const radl = parseRadl(this.cloud.radl);
      const system = radl.systems[0];
      expect(system, () => "the test cloud's radl has no system: give it one system the cloud can run");
      const [concrete] = await this.call("concreteSystem()", (ctx) => this.provider.concreteSystem(system.clone(), ctx));
      expect(concrete instanceof System, () => `concreteSystem() gave no System for the test cloud's system '${system.name}', so nothing can be launched (see the concrete-system check)`);
      return { launch: withOnlySystem(radl, concrete), requested: withOnlySystem(radl, system) };
    })());
  }

  async request(key: string, count = 1): Promise<LaunchRequest> {
    const { launch, requested } = await this.documents();
    return { infrastructureId: this.infrastructureId, idempotencyKey: key, radl: launch.clone(), requestedRadl: requested.clone(), count };
  }

  async launch(key: string, count = 1): Promise<ProviderVm[]> {
    const request = await this.request(key, count);
    const results = await this.call("launch()", (ctx) => this.provider.launch(request, ctx));
    return launchedVms(results, count, "launch()").map(({ providerId, info, state }) => this.vm(providerId, info, state));
  }

  vm(providerId: string, info: Radl, state: ProviderState): ProviderVm {
    return { infrastructureId: this.infrastructureId, imId: 0, providerId, info, state };
  }

  /** Deletes what a check launched; a failure here belongs to the finalize checks, not to this one. */
  async finalizeQuietly(vms: readonly ProviderVm[]): Promise<void> {
    for (const vm of vms) await this.call("finalize()", (ctx) => this.provider.finalize(vm, true, ctx)).catch(() => undefined);
  }

  /** The worker pool of this suite. */
  pool(): ProviderPool {
    return (this.currentPool ??= this.newPool());
  }

  /**
   * A worker pool as the server starts it (one thread is enough here), already loading the
   * plugin: booting a worker takes most of a second, which the checks before its use hide.
   */
  private newPool(): ProviderPool {
    const pool = new ProviderPool({ plugins: [this.spec], baseDir: this.baseDir, logLevel: "error", launchConcurrency: 4, threads: 1 });
    this.pools.add(pool);
    const system = parseRadl(this.cloud.radl).systems[0];
    if (system) pool.call(this.type, "concreteSystem", this.cloudEntry, this.credentials, { system: singleSystemText(system) }).catch(() => undefined);
    return pool;
  }

  /** A server restart: the pool closes (letting the calls in flight end, as a shutdown does), then a new one starts. */
  async restartPool(): Promise<void> {
    const old = this.currentPool;
    this.currentPool = undefined;
    await old?.close();
    if (old) this.pools.delete(old);
    this.pool();
  }

  poolCall<Op extends ProviderOp>(op: Op, args: ProviderOps[Op]["args"]): Promise<ProviderOps[Op]["result"]> {
    return within(this.pool().call(this.type, op, this.cloudEntry, this.credentials, args), this.timeoutMs, `${op} in the worker pool`);
  }

  async close(): Promise<void> {
    try {
      await Promise.all([...this.pools].map((pool) => pool.close()));
    } finally {
      await this.cloud.close?.();
    }
  }
}

/** The successful results of a launch, or a failure saying what is wrong with them. */
function launchedVms(results: LaunchResult[], count: number, what: string): { providerId: string; info: Radl; state: ProviderState }[] {
  expect(Array.isArray(results) && results.length === count, () => `${what} asked for ${count} VMs returned ${Array.isArray(results) ? results.length : typeof results} results: return exactly one result per VM asked for`);
  return results.map((result) => {
    if (!result.ok) throw new ConformanceFailure(`${what} failed on the test cloud: ${result.error}`);
    expect(typeof result.providerId === "string" && result.providerId !== "", () => `${what} returned providerId ${JSON.stringify(result.providerId)}: return the cloud's id of the VM`);
    expect(result.info instanceof Radl, () => `${what} returned an info that is not a Radl: return the VM's description (e.g. request.radl.clone() with its live features set)`);
    return { providerId: result.providerId, info: result.info, state: providerState(result.state, what) };
  });
}

function providerState(value: unknown, what: string): ProviderState {
  expect(isProviderState(value), () => `${what} reported state ${JSON.stringify(value)}, which is not one of IM's provider states (${PROVIDER_STATES.join(", ")}): map the cloud's native states through one table whose default is 'unknown'`);
  return value;
}

/** `after` minus `before`, counting repeats: the VMs created in between. */
function created(before: readonly string[], after: readonly string[]): string[] {
  const left = [...before];
  return after.filter((id) => {
    const index = left.indexOf(id);
    if (index === -1) return true;
    left.splice(index, 1);
    return false;
  });
}

const sameIds = (a: readonly string[], b: readonly string[]) => JSON.stringify([...a].sort()) === JSON.stringify([...b].sort());
const list = (ids: readonly string[]) => `[${ids.join(", ")}]`;
const kindOf = (error: unknown) => (error instanceof ProviderError ? `ProviderError of kind '${error.kind}' (${error.message})` : describeError(error));

// ------------------------------------------------------------------------------ static checks

async function checkType(s: Session): Promise<void> {
  expect(s.provider.type === s.type, () => `provider.type is ${JSON.stringify(s.provider.type)} but the manifest name is '${s.type}': the server finds a provider by the auth line's type under its manifest name, so make type and name equal`);
}

/** The methods of `capability` the provider lacks. */
const missingMethods = (provider: CloudProvider, capability: Capability) => CAPABILITY_METHODS[capability].filter((method) => typeof provider[method] !== "function");

async function checkDeclaredImplemented(s: Session): Promise<void> {
  const declared: unknown = s.provider.capabilities;
  expect(Array.isArray(declared), () => `provider.capabilities is ${JSON.stringify(declared)}: declare the optional operations it implements, e.g. readonly capabilities = ["start", "stop"] as const`);
  const problems: string[] = [];
  for (const capability of declared as unknown[]) {
    if (typeof capability !== "string" || !(capability in CAPABILITY_METHODS)) {
      problems.push(`capabilities lists ${JSON.stringify(capability)}, which is not a capability (${Object.keys(CAPABILITY_METHODS).join(", ")}): remove it`);
      continue;
    }
    for (const method of missingMethods(s.provider, capability as Capability)) {
      problems.push(`capability '${capability}' is declared but the provider has no ${method}() method: implement ${SIGNATURES[method]} or remove '${capability}' from capabilities`);
    }
  }
  expect(problems.length === 0, () => problems.join("; "));
}

async function checkImplementedDeclared(s: Session): Promise<void> {
  const declared: readonly unknown[] = Array.isArray(s.provider.capabilities) ? s.provider.capabilities : [];
  const problems: string[] = [];
  for (const [capability, methods] of Object.entries(CAPABILITY_METHODS) as [Capability, readonly (keyof CloudProvider)[]][]) {
    if (declared.includes(capability)) continue;
    for (const method of methods.filter((m) => typeof s.provider[m] === "function")) {
      problems.push(`the provider implements ${method}() but does not declare the capability '${capability}': add '${capability}' to capabilities or remove ${method}()`);
    }
  }
  expect(problems.length === 0, () => problems.join("; "));
}

// ---------------------------------------------------------------------------- contract checks

async function checkConcreteSystem(s: Session): Promise<void> {
  const system = parseRadl(s.cloud.radl).systems[0];
  expect(system, () => "the test cloud's radl has no system: give it one system the cloud can run");
  const before = system.toString();
  const variants: unknown = await s.call("concreteSystem()", (ctx) => s.provider.concreteSystem(system, ctx));
  expect(Array.isArray(variants), () => `concreteSystem() returned ${describeValue(variants)}: return an array of System variants ([] when the cloud cannot run the system)`);
  const bad = variants.findIndex((variant) => !(variant instanceof System));
  expect(bad === -1, () => `concreteSystem() returned ${describeValue(variants[bad])} at index ${bad}: return System objects (system.clone() with the cloud's choices set)`);
  expect(variants.length > 0, () => `concreteSystem() returned [] for the test cloud's system '${system.name}': either the fixture's radl asks for something the test cloud cannot run, or concreteSystem() rejects systems the cloud can run`);
  expect(system.toString() === before, () => "concreteSystem() changed the system it was given: work on system.clone() and return the copies");
}

const describeValue = (value: unknown) => (value === null ? "null" : typeof value === "object" ? (value.constructor?.name ?? "an object") : `${typeof value} ${JSON.stringify(value)}`);

async function checkIdempotentLaunch(s: Session): Promise<void> {
  const before = await s.cloud.listVms();
  const key = s.key("idempotent");
  const first = await s.launch(key, 2);
  let second: ProviderVm[] = [];
  try {
    second = await s.launch(key, 2);
    const extra = created(before, await s.cloud.listVms()).filter((id) => !first.some((vm) => vm.providerId === id));
    const [a, b] = [first, second].map((vms) => vms.map((vm) => vm.providerId!));
    expect(sameIds(a, b) && extra.length === 0, () =>
      `two launches with idempotencyKey '${key}' returned ${list(a)} then ${list(b)}, and the cloud holds ${extra.length} VMs more than the first launch made ${list(extra)}: launch() must look for the VMs an earlier call created for request.idempotencyKey (tag them with it in the cloud) and return those instead of creating new ones`);
  } finally {
    await s.finalizeQuietly(uniqueVms([...first, ...second]));
  }
}

const uniqueVms = (vms: ProviderVm[]) => vms.filter((vm, i) => vms.findIndex((other) => other.providerId === vm.providerId) === i);

async function checkUnknownNativeState(s: Session): Promise<void> {
  const setNativeState = requireHook(s.cloud.setNativeState, "setNativeState", "that unknown native states map to 'unknown'");
  const vms = await s.launch(s.key("native-state"));
  try {
    await setNativeState(vms[0].providerId!, UNKNOWN_NATIVE_STATE);
    const observation = await s.call("observe()", (ctx) => s.provider.observe(vms[0], ctx));
    expect(observation.state === "unknown", () => `observe() mapped the native state '${UNKNOWN_NATIVE_STATE}', which the provider cannot know, to ${JSON.stringify(observation.state)}: map native states through one table whose default is 'unknown' (STATES[native] ?? "unknown")`);
    expect(observation.nativeState === UNKNOWN_NATIVE_STATE, () => `observe() returned nativeState ${JSON.stringify(observation.nativeState)} for a VM the cloud reports as '${UNKNOWN_NATIVE_STATE}': return the cloud's own state name as nativeState, for the logs`);
  } finally {
    await s.finalizeQuietly(vms);
  }
}

async function checkFinalizePlaceholder(s: Session): Promise<void> {
  const { requested } = await s.documents();
  const placeholder: ProviderVm = { infrastructureId: s.infrastructureId, imId: 0, providerId: null, info: requested, state: "failed" };
  for (const last of [false, true]) {
    await s.call("finalize()", (ctx) => s.provider.finalize(placeholder, last, ctx)).catch((error: unknown) => {
      throw new ConformanceFailure(`finalize(vm, ${last}) of a placeholder (providerId null: a VM whose launch failed) threw ${describeError(error)}: when vm.providerId is null there is no VM to delete${last ? "; delete only the shared resources" : ""}, and finalize must succeed`);
    });
  }
}

async function checkFinalizeMissing(s: Session): Promise<void> {
  const [vm] = await s.launch(s.key("finalize-missing"));
  await s.call("finalize()", (ctx) => s.provider.finalize(vm, false, ctx)).catch((error: unknown) => {
    throw new ConformanceFailure(`finalize() of a VM just launched on the test cloud threw ${describeError(error)}`);
  });
  await s.call("finalize()", (ctx) => s.provider.finalize(vm, true, ctx)).catch((error: unknown) => {
    throw new ConformanceFailure(`finalize() of a VM that no longer exists threw ${describeError(error)}: treat the cloud's "not found" as success (after a restart a VM may be finalized twice)`);
  });
}

async function checkFaultKind(s: Session, fault: keyof typeof FAULT_KINDS): Promise<void> {
  const faults = requireHook(s.cloud.faults, "faults", `how ${FAULT_KINDS[fault].failure} of the cloud is classified`);
  const { failure: what, kind, why } = FAULT_KINDS[fault];
  const request = await s.request(s.key(`fault-${fault}`));
  let outcome: { results: LaunchResult[] } | { error: unknown };
  await faults.inject(fault);
  try {
    outcome = { results: await s.call("launch()", (ctx) => s.provider.launch(request, ctx)) };
  } catch (error) {
    outcome = { error };
  } finally {
    await faults.clear();
  }
  if ("results" in outcome) {
    await s.finalizeQuietly(outcome.results.flatMap((r) => (r.ok ? [s.vm(r.providerId, r.info, r.state)] : [])));
    const failure = outcome.results.find((r) => !r.ok);
    if (failure) throw new ConformanceFailure(`launch() reported ${what} of the whole request as a per-VM result ('${failure.error}'): throw new ProviderError(message, '${kind}') instead, because ${why}`);
    throw new ConformanceFailure(`launch() succeeded while the test cloud failed every request with '${fault}': the fixture's faults.inject('${fault}') must make the cloud fail`);
  }
  const { error } = outcome;
  expect(error instanceof ProviderError && error.kind === kind, () => `launch() threw ${kindOf(error)} for ${what} of the cloud: throw new ProviderError(message, '${kind}') (from "infra-manager/core"), because ${why}`);
}

async function checkAbortSignal(s: Session): Promise<void> {
  const faults = requireHook(s.cloud.faults, "faults", "that a call the cloud holds stops when ctx.signal aborts");
  const vms = await s.launch(s.key("abort"));
  try {
    await faults.inject("hang");
    const controller = new AbortController();
    const call = s.provider.observe(vms[0], s.context(controller.signal)).then(() => "answered", () => "stopped");
    const early = await Promise.race([call, sleep(HANG_DEADLINE_MS, "held")]);
    expect(early === "held", () => `observe() ${early} while the test cloud held every request: the fixture's faults.inject('hang') must make the cloud hold requests until faults.clear()`);
    controller.abort();
    const late = await Promise.race([call, sleep(ABORT_GRACE_MS, "still waiting")]);
    expect(late === "stopped", () => `observe() was still waiting ${ABORT_GRACE_MS} ms after ctx.signal aborted: pass ctx.signal to every request to the cloud (fetch(url, { signal: ctx.signal })) so that deadlines and shutdowns can stop it`);
  } finally {
    await faults.clear();
    await s.finalizeQuietly(vms);
  }
}

// -------------------------------------------------------------------------------- pool checks

/** One VM's actor, driven by the provider's answers as the runtime drives it. */
class VmRun {
  private readonly actor;
  readonly path: VmState[];

  constructor() {
    this.actor = createActor(vmMachine, { input: {} }).start();
    this.path = [this.state];
  }

  get state(): VmState {
    return this.actor.getSnapshot().value as VmState;
  }

  get facts(): VmFacts {
    return this.actor.getSnapshot().context;
  }

  /** Sends a fact; the machine must move to the state the facts call for. */
  send(event: VmEvent, cause: string): void {
    const from = this.state;
    this.actor.send(event);
    const called = stateFromFacts(this.facts);
    if (this.state !== from) this.path.push(this.state);
    expect(this.state === called, () => `after ${cause} the VM machine stayed '${from}' while its facts call for '${called}' (edges from '${from}': ${VM_EDGES[from].join(", ")})`);
  }

  expectState(state: VmState, cause: string): void {
    expect(this.state === state, () => `after ${cause} the VM is '${this.state}', not '${state}' (states so far: ${this.path.join(" → ")})`);
  }

  stop(): void {
    this.actor.stop();
  }
}

/** A launched VM as it crosses the worker boundary, with the machine that follows it. */
interface PoolVm {
  vm: VmJson;
  run: VmRun;
}

async function poolLaunch(s: Session, key: string, run: VmRun): Promise<PoolVm> {
  const { launch, requested } = await s.documents();
  const results = await s.poolCall("launch", { infrastructureId: s.infrastructureId, idempotencyKey: key, radl: launch.toString(), requestedRadl: requested.toString(), count: 1 });
  expect(results.length === 1, () => `launch in the worker pool asked for 1 VM returned ${results.length} results: return exactly one result per VM asked for`);
  const [result] = results;
  if (!result.ok) throw new ConformanceFailure(`launch in the worker pool failed on the test cloud: ${result.error}`);
  const vm: VmJson = { infrastructureId: s.infrastructureId, imId: 0, providerId: result.providerId, info: result.info, state: providerState(result.state, "launch in the worker pool") };
  run.send({ type: "OBSERVED", providerState: vm.state }, "the launch");
  return { vm, run };
}

/** Applies an observation to the VM and its machine. */
function observed(p: PoolVm, observation: ProviderOps["observe"]["result"], cause: string): void {
  const state = providerState(observation.state, cause);
  p.vm = { ...p.vm, state, info: observation.info ?? p.vm.info };
  p.run.send({ type: "OBSERVED", providerState: state }, cause);
}

/** Observes (in the pool) until the provider reports `target`. */
async function observeUntil(s: Session, p: PoolVm, target: ProviderState): Promise<void> {
  const deadline = performance.now() + s.timeoutMs;
  for (;;) {
    const observation = await s.poolCall("observe", { vm: p.vm });
    observed(p, observation, "observe in the worker pool");
    if (p.vm.state === target) return;
    expect(performance.now() < deadline, () => `the VM did not become '${target}' within ${s.timeoutMs} ms of observe() calls: the last was '${p.vm.state}' (native state ${JSON.stringify(observation.nativeState)})`);
    await sleep(POLL_MS);
  }
}

/** Finalizes as the runtime does: deleting while the call runs, off once it succeeded. */
async function poolFinalize(s: Session, p: PoolVm): Promise<void> {
  p.run.send({ type: "FINALIZE_STARTED" }, "the finalization started");
  p.run.expectState("deleting", "the finalization started");
  await s.poolCall("finalize", { vm: p.vm, last: true });
  p.run.send({ type: "FINALIZED" }, "finalize in the worker pool");
  p.run.expectState("off", "finalize in the worker pool");
}

/** Runs `body` on a VM launched in the pool with `key`; the VM is finalized whatever happens. */
async function withPoolVm(s: Session, key: string, body: (p: PoolVm) => Promise<void>): Promise<void> {
  const run = new VmRun();
  let p: PoolVm | undefined;
  try {
    p = await poolLaunch(s, key, run);
    await body(p);
  } finally {
    if (p && p.run.state !== "off") await s.poolCall("finalize", { vm: p.vm, last: true }).catch(() => undefined);
    run.stop();
  }
}

async function checkPoolLifecycle(s: Session): Promise<void> {
  const capabilities: readonly Capability[] = s.provider.capabilities;
  await withPoolVm(s, s.key("pool-lifecycle"), async (p) => {
    await observeUntil(s, p, "running");
    p.run.expectState("running", "the provider reported 'running'");
    for (const [capability, target] of [["stop", "stopped"], ["start", "running"]] as const) {
      if (!capabilities.includes(capability)) continue;
      observed(p, await s.poolCall(capability, { vm: p.vm }), `${capability} in the worker pool`);
      await observeUntil(s, p, target);
    }
    await poolFinalize(s, p);
  });
}

async function checkPoolFaults(s: Session): Promise<void> {
  const faults = requireHook(s.cloud.faults, "faults", "how provider errors and hung calls cross the worker pool");
  await withPoolVm(s, s.key("pool-faults"), async (p) => {
    await observeUntil(s, p, "running");

    await faults.inject("transient");
    const transient = await s.poolCall("observe", { vm: p.vm }).then(() => undefined, (error: unknown) => error).finally(() => faults.clear());
    expect(transient !== undefined, () => "observe in the worker pool succeeded while the test cloud failed every request: the fixture's faults.inject('transient') must make the cloud fail");
    expect(transient instanceof ProviderError && transient.kind === "retryable", () => `observe in the worker pool failed with ${kindOf(transient)} for a transient failure: throw new ProviderError(message, 'retryable'); only the kind crosses the worker boundary, and the runtime retries by it`);
    // A retryable failure changes no fact: the VM keeps its state and the runtime asks again.
    p.run.expectState("running", "a transient failure");
    await observeUntil(s, p, "running");

    await faults.inject("hang");
    const deadline = AbortSignal.timeout(HANG_DEADLINE_MS);
    const hung = s.pool().call(s.type, "observe", s.cloudEntry, s.credentials, { vm: p.vm }).then(() => "answered", (error: unknown) => error);
    const early = await Promise.race([hung, once(deadline, "abort").then(() => "deadline")]);
    // The provider may give up by itself first; then it must say that a retry can cure it.
    expect(early === "deadline" || (early instanceof ProviderError && early.kind === "retryable"), () =>
      early === "answered"
        ? "observe in the worker pool answered while the test cloud held every request: the fixture's faults.inject('hang') must make the cloud hold requests until faults.clear()"
        : `observe in the worker pool failed with ${kindOf(early)} while the cloud held the request: a timeout is a ProviderError of kind 'retryable'`);
    p.run.send({ type: "UNREACHABLE" }, "an observe that hung past its deadline");
    p.run.expectState("unknown", "an observe that hung past its deadline");
    await faults.clear();
    await within(hung, s.timeoutMs, "the hung observe, once the cloud let it through,");
    await observeUntil(s, p, "running");
    p.run.expectState("running", "the cloud answered again");
    await poolFinalize(s, p);
  });
}

async function checkRestartMidLaunch(s: Session): Promise<void> {
  const { launch, requested } = await s.documents();
  // A warm worker, so that the launch starts at once and the restart falls in its middle.
  await s.poolCall("concreteSystem", { system: singleSystemText(requested.systems[0]) });
  const before = await s.cloud.listVms();
  const key = s.key("restart");
  const args = { infrastructureId: s.infrastructureId, idempotencyKey: key, radl: launch.toString(), requestedRadl: requested.toString(), count: 1 };
  let settled = false;
  const first = s.pool().call(s.type, "launch", s.cloudEntry, s.credentials, args).then((results) => results, () => []).finally(() => (settled = true));
  const started = performance.now();
  while (!settled && performance.now() - started < IN_FLIGHT_MS && created(before, await s.cloud.listVms()).length === 0) await sleep(5);
  await s.restartPool();
  const firstIds = (await first).flatMap((r) => (r.ok ? [r.providerId] : []));

  // After the restart the runtime runs the interrupted launch again, with the same key.
  await withPoolVm(s, key, async (p) => {
    const extra = created(before, await s.cloud.listVms()).filter((id) => id !== p.vm.providerId);
    await s.finalizeQuietly(extra.map((id) => s.vm(id, requested, "unknown")));
    expect(extra.length === 0, () =>
      `after a restart in the middle of a launch, the launch with the same idempotencyKey left ${extra.length} VM(s) more in the cloud ${list(extra)} besides the one it returned (${p.vm.providerId}): launch() must find the VMs an earlier call created for request.idempotencyKey in the cloud (tag them with it) and return those; a provider instance remembers nothing across a restart`);
    expect(firstIds.length === 0 || sameIds(firstIds, [p.vm.providerId!]), () =>
      `before the restart the launch with idempotencyKey '${key}' returned ${list(firstIds)}, after it ${p.vm.providerId}: a repeated launch must return the VMs of the first`);
    await poolFinalize(s, p);
  });
}

// -------------------------------------------------------------------------------- live check

async function checkLive(fixture: ProviderFixture, baseDir: string): Promise<void> {
  const authFile = process.env[LIVE_AUTH_ENV];
  const live = fixture.live;
  if (live && "notApplicable" in live) throw new CheckSkipped(`not applicable: ${live.notApplicable}`);
  if (!authFile) throw new CheckSkipped(`set ${LIVE_AUTH_ENV} to an IM auth file with a line for this provider's type to run one VM through its life on a real cloud`);
  expect(live, () => `${LIVE_AUTH_ENV} is set but the fixture has no live part: add live: { radl, listVmsByTag } so that the kit can launch on the real cloud and check for leaks`);

  const { loaded, manifest } = await loadAsServer({ module: fixture.module, options: live.options ?? {} }, baseDir);
  const provider = resolveProvider(loaded, manifest.name)!;
  const auth = readAuthText(readFileSync(authFile, "utf8")).find((item) => item.type === manifest.name);
  if (!auth) throw new CheckSkipped(`${LIVE_AUTH_ENV} names ${authFile}, which has no line of type '${manifest.name}'`);
  const timeoutMs = live.timeoutMs ?? 15 * 60_000;
  const pollMs = live.pollIntervalMs ?? 5000;
  const context = (): OpContext => ({ signal: AbortSignal.timeout(timeoutMs), cloud: cloudList([auth])[0].cloud, credentials: [auth], log: createLogger({ level: "warn" }) });
  const tag = { key: LIVE_TAG_KEY, value: randomUUID() };

  const radl = parseRadl(live.radl);
  const system = radl.systems[0];
  expect(system, () => "live.radl has no system: give it one system the real cloud can run");
  const [concrete] = await provider.concreteSystem(system.clone(), context());
  expect(concrete instanceof System, () => `concreteSystem() gave no variant of live.radl's system '${system.name}' for the real cloud: use an image and size it has`);
  const tags = concrete.getValue("instance_tags");
  concrete.setValue("instance_tags", `${typeof tags === "string" && tags ? `${tags},` : ""}${tag.key}=${tag.value}`);
  const results = await provider.launch({ infrastructureId: `conformance-${tag.value}`, idempotencyKey: `live/${tag.value}`, radl: withOnlySystem(radl, concrete), requestedRadl: withOnlySystem(radl, system), count: 1 }, context());
  const [launched] = launchedVms(results, 1, "launch() on the real cloud");
  let vm: ProviderVm = { infrastructureId: `conformance-${tag.value}`, imId: 0, providerId: launched.providerId, info: launched.info, state: launched.state };
  let finalized = false;
  const until = async (target: ProviderState) => {
    const deadline = performance.now() + timeoutMs;
    while (vm.state !== target) {
      expect(performance.now() < deadline, () => `the VM ${vm.providerId} did not become '${target}' within ${timeoutMs} ms (last state '${vm.state}')`);
      await sleep(pollMs);
      const observation = await provider.observe(vm, context());
      vm = { ...vm, state: providerState(observation.state, "observe() on the real cloud"), info: observation.info ?? vm.info };
    }
  };
  try {
    await until("running");
    if (provider.capabilities.includes("stop") && provider.stop) {
      vm = { ...vm, state: providerState((await provider.stop(vm, context())).state, "stop() on the real cloud") };
      await until("stopped");
    }
    if (provider.capabilities.includes("start") && provider.start) {
      vm = { ...vm, state: providerState((await provider.start(vm, context())).state, "start() on the real cloud") };
      await until("running");
    }
    await provider.finalize(vm, true, context());
    finalized = true;
  } finally {
    if (!finalized) await provider.finalize(vm, true, context()).catch(() => undefined);
  }
  const leaked = await live.listVmsByTag(tag, context());
  expect(leaked.length === 0, () => `VMs tagged ${tag.key}=${tag.value} are still in the cloud after finalize(): ${list(leaked)}: finalize() must delete the VM (and, with last = true, what was created for it); delete them by hand`);
}
