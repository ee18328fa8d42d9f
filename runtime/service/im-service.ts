import { randomInt } from "node:crypto";
import { fromCallback } from "xstate";
import {
  Application, Feature, ImError, Radl, RadlError, aggregateState, checkRadl, cloudList, credentialsOfType, dumpRadlJson, errors,
  featuresToSimple, imCredentials, invalidRecipe, mergeRadl, parseAuth, parseRadl, parseRadlText, radlFromStructure, radlToStructure, resolveReferences,
  type AuthItem, type CloudEntry, type StoredRecord, type Store, type System, type VmFacts, type VmState,
} from "../../core/index.ts";
import { infrastructureMachine, type InfrastructureEvent, type LaunchPlan } from "../../core/machines/infrastructure.machine.ts";
import type { RuntimeLogger } from "../logger.ts";
import { singleSystemText, type ObservationJson, type VmJson } from "../workers/provider-calls.ts";
import { removeContextCache, sweepContextCaches } from "./context-cache.ts";
import { startContextualization, type ContextCaller, type ContextRun, type ContextSettings, log } from "./contextualization.ts";
import { Credentials, type Identity } from "./credentials.ts";
import { checkClouds, launchWithRetry, planDeployment, withOnlySystem, type Cloud, type DeployDefaults, type ProviderCaller } from "./deployment.ts";
import {
  Infrastructure, exportDocument, importVm, newVm, startActor,
  type InfrastructureRecord, type Vm,
} from "./infrastructure.ts";
import { pythonJsonDumps } from "./python-json.ts";
import { uuid1 } from "./uuid1.ts";

// The IM operations (IM behaviour §2), over infrastructure actors, provider calls in worker
// threads and a store. Every failure a client sees is an ImError with the reference's text.

export interface ServiceSettings {
  /** What GetVersion answers: the IM version whose API this server speaks. */
  version: string;
  /** BOOT_MODE: 0 normal, 1 read-only, 2 read and delete. */
  bootMode: 0 | 1 | 2;
  maxVmFails: number;
  /** DELAY_BETWEEN_VM_RETRIES, seconds. */
  delayBetweenVmRetries: number;
  /** VM_INFO_UPDATE_FREQUENCY, seconds. */
  vmInfoUpdateFrequency: number;
  /** VM_INFO_UPDATE_ERROR_GRACE_PERIOD, seconds. */
  vmInfoUpdateErrorGracePeriod: number;
  defaults: DeployDefaults;
  /** DEFAULT_VM_NAME, `#N#` is the VM id. */
  defaultVmName: string;
  vmInfoJson: boolean;
  context: ContextSettings;
}

export interface ServiceDependencies {
  settings: ServiceSettings;
  store: Store;
  providers: ProviderCaller;
  providerTypes: readonly string[];
  /** The contextualizer plugin's calls; null when no contextualizer is loaded. */
  contextualizer: ContextCaller | null;
  credentials: Credentials;
  log: RuntimeLogger;
}

/** An infrastructure unused for this long (ms) sleeps; the sweep looks this often. */
const IDLE_BEFORE_SLEEP_MS = 1000;
const SLEEP_SWEEP_MS = 500;
/** A write that takes this long (ms) spaces the next one of the same infrastructure. */
const EXPENSIVE_WRITE_MS = 1;
/** The next write waits this many times the last one's cost. */
const WRITE_SPACING = 2;
/** How long the actor's own changes may wait for more before they are written (ms). */
const WRITE_BEHIND_MS = 10;

interface PendingWrite {
  running: Promise<void>;
  /** Asked for again while writing: write once more. */
  again: boolean;
  /** Only writes behind are waiting. */
  behind: boolean;
  /** Ends the wait before the write. */
  hurry?: () => void;
}

/** Which BOOT_MODE values block an operation (§2): 1 blocks both columns, 2 only the first. */
export type BootRestriction = "write" | "delete" | "none";

export class ImService {
  private readonly infrastructures = new Map<string, Infrastructure>();
  private readonly contexts = new Map<string, ContextRun>();
  private readonly contextAuth = new Map<string, AuthItem[]>();
  private readonly writes = new Map<string, PendingWrite>();
  private readonly refreshes = new Map<string, Promise<void>>();
  private readonly addQueues = new Map<string, Promise<unknown>>();
  private readonly deployWaiters = new Map<string, { resolve: (ids: number[]) => void; reject: (error: Error) => void }>();
  private stopped = false;
  private sleeper: NodeJS.Timeout | undefined;
  /** When the last expensive write of an infrastructure ended and what it cost, in ms. */
  private readonly writeCosts = new WeakMap<Infrastructure, { end: number; cost: number }>();
  private readonly machine = infrastructureMachine.provide({ actors: { deploy: this.deployActor() } });

  constructor(private readonly deps: ServiceDependencies) {}

  private get settings(): ServiceSettings {
    return this.deps.settings;
  }

  // ---------------------------------------------------------------- lifecycle

  /** Loads every stored infrastructure; launches interrupted by a stop resume. */
  async start(): Promise<void> {
    this.sleeper = setInterval(() => this.sleepIdle(), SLEEP_SWEEP_MS).unref();
    const ids = await this.deps.store.list();
    const records: InfrastructureRecord[] = [];
    const destroyed = new Set<string>();
    for (let i = 0; i < ids.length; i += 64) {
      for (const record of await Promise.all(ids.slice(i, i + 64).map((id) => this.readRecord(id)))) {
        if (record?.deleted) destroyed.add(record.id);
        else if (record) records.push(record);
      }
    }
    records.sort((a, b) => a.lastDate - b.lastDate);
    for (const record of records) this.restore(record);
    // A record that could not be read keeps its folder: it may be mended.
    await sweepContextCaches(this.settings.context.cacheRoot, ids.filter((id) => !destroyed.has(id)), (dir, error) =>
      this.deps.log.warn("cannot remove a contextualization cache", { dir, error: error.message }));
  }

  private async readRecord(id: string): Promise<InfrastructureRecord | undefined> {
    try {
      return (await this.deps.store.get(id)) as InfrastructureRecord | undefined;
    } catch (error) {
      this.deps.log.error("cannot load a stored infrastructure; it is skipped", { infrastructureId: id, error: (error as Error).message });
      return undefined;
    }
  }

  private restore(record: InfrastructureRecord): void {
    // Its actor starts when first used, or now if it has a deployment to resume.
    const infrastructure = Infrastructure.sleeping(record.id, this.machine, record.actor, record.creationDate);
    infrastructure.assignRecord(record);
    this.attach(infrastructure);
    if (infrastructure.adding) infrastructure.wake();
    // Contextualization does not survive a restart: VMs it had not finished are unconfigured.
    for (const vm of infrastructure.liveVms()) {
      const facts = infrastructure.vmFacts(vm.imId);
      if (facts.configured === null && !facts.launchFailed) infrastructure.sendVm(vm.imId, { type: "CONTEXT_FINISHED", ok: false });
    }
    if (infrastructure.configured === null && !infrastructure.adding) infrastructure.configured = false;
  }

  /** Waits for pending writes and stops every actor. In-flight launches resume at the next start. */
  async stop(): Promise<void> {
    for (const context of this.contexts.values()) context.controller.abort();
    for (const infrastructure of this.infrastructures.values()) this.persist(infrastructure);
    // Flows cancelled above may still ask for writes while these run: wait for those too.
    while (this.writes.size > 0) await Promise.all([...this.writes.values()].map((w) => w.running));
    // A stopped actor's snapshot has no VMs: nothing may be written from here on (a flow that
    // was cancelled above can still ask for a write).
    this.stopped = true;
    clearInterval(this.sleeper);
    for (const infrastructure of this.infrastructures.values()) infrastructure.stopActor();
  }

  private attach(infrastructure: Infrastructure): void {
    this.infrastructures.set(infrastructure.id, infrastructure);
    // Runs now for a new infrastructure, and whenever a sleeping one wakes.
    infrastructure.connect(this.machine, (actor) => {
      // Emitted events arrive while the actor is mid-transition: handle them once it has settled
      // (a microtask runs right after the transition, without waiting for a turn of the loop).
      const finished = actor.on("deployFinished", ({ plan }) => queueMicrotask(() => {
        this.assemble(infrastructure, plan).catch((error: Error) => this.failDeploy(infrastructure, error));
      }));
      const failed = actor.on("deployFailed", ({ error }) => setImmediate(() => this.failDeploy(infrastructure, errors.operationFailed(error))));
      // Starting only emits the state it starts in, which is stored already or about to be.
      let starting = true;
      const changes = actor.subscribe({
        next: () => void (starting || this.persist(infrastructure, true)),
        error: (error) => this.deps.log.error("infrastructure actor failed", { infrastructureId: infrastructure.id, error }),
      });
      actor.start();
      starting = false;
      return () => {
        finished.unsubscribe();
        failed.unsubscribe();
        changes.unsubscribe();
      };
    });
  }

  /**
   * Idle infrastructures sleep: their actors stop (the persisted snapshot keeps their state) and
   * their VM descriptions go back to text, which keeps many of them cheap to hold. A finished
   * contextualization is forgotten, with the credentials it was using.
   */
  private sleepIdle(): void {
    const now = performance.now();
    for (const infrastructure of this.infrastructures.values()) {
      if (!infrastructure.restless || now - infrastructure.lastActive < IDLE_BEFORE_SLEEP_MS) continue;
      const { id } = infrastructure;
      if (this.writes.has(id) || this.addQueues.has(id) || this.deployWaiters.has(id) || this.contexts.get(id)?.running) continue;
      // Aborting a finished run releases anything it left waiting.
      this.contexts.get(id)?.controller.abort();
      this.contexts.delete(id);
      this.contextAuth.delete(id);
      infrastructure.sleep();
    }
  }

  /**
   * Writes the infrastructure; writes are coalesced, and only the main thread writes. A write
   * `behind` (the actor's own changes) waits a few milliseconds so that a burst of changes makes
   * one write; any other call writes at once, and so does a write behind that one joins.
   */
  persist(infrastructure: Infrastructure, behind = false): Promise<void> {
    if (this.stopped) return Promise.resolve();
    const pending = this.writes.get(infrastructure.id);
    if (pending) {
      pending.again = true;
      if (!behind) {
        pending.behind = false;
        pending.hurry?.();
      }
      return pending.running;
    }
    const entry: PendingWrite = { running: Promise.resolve(), again: false, behind };
    entry.running = (async () => {
      do {
        await this.writeSlot(infrastructure, entry);
        if (this.stopped) break;
        entry.again = false;
        entry.behind = true; // what is asked from now on is for the next write
        infrastructure.lastDate = Math.floor(Date.now() / 1000);
        const started = performance.now();
        try {
          await this.deps.store.put(infrastructure.toRecord() as StoredRecord);
        } catch (error) {
          this.deps.log.error("ERROR saving data. Changes not stored!!", { infrastructureId: infrastructure.id, error: (error as Error).message });
        }
        const cost = performance.now() - started;
        if (cost >= EXPENSIVE_WRITE_MS) this.writeCosts.set(infrastructure, { end: performance.now(), cost });
        else this.writeCosts.delete(infrastructure);
      } while (entry.again);
      this.writes.delete(infrastructure.id);
    })();
    this.writes.set(infrastructure.id, entry);
    return entry.running;
  }

  /**
   * Lets the changes of this turn of the event loop join the write, and for a write behind, of
   * the next few milliseconds; after an expensive write (a large infrastructure in the middle of
   * a deployment), waits a multiple of its cost, so that writing one infrastructure never takes
   * most of the event loop. A call that cannot wait cuts the wait short.
   */
  private async writeSlot(infrastructure: Infrastructure, entry: PendingWrite): Promise<void> {
    // A write behind waits for the next turn of the event loop, one asked for explicitly only for
    // the rest of this one (a caller may be waiting).
    await (entry.behind ? new Promise((resolve) => setImmediate(resolve)) : Promise.resolve());
    const last = this.writeCosts.get(infrastructure);
    let wait = last ? last.end + last.cost * WRITE_SPACING - performance.now() : 0;
    if (entry.behind) wait = Math.max(wait, WRITE_BEHIND_MS);
    if (wait <= 0) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        entry.hurry = undefined;
        resolve();
      };
      const timer = setTimeout(done, wait);
      entry.hurry = done;
    });
  }

  // ---------------------------------------------------------------- common checks

  private checkBootMode(restriction: BootRestriction): void {
    const mode = this.settings.bootMode;
    if ((restriction === "write" && mode !== 0) || (restriction === "delete" && mode === 1)) throw errors.disabled();
  }

  /** Steps 1-3 of §2.0: the auth shape and ids, BOOT_MODE, the IM credentials. */
  private async caller(auth: unknown, restriction: BootRestriction = "none"): Promise<{ auth: AuthItem[]; identities: Identity[] }> {
    const items = parseAuth(auth);
    this.checkBootMode(restriction);
    return { auth: items, identities: await this.deps.credentials.identities(items) };
  }

  /** Steps 1-4: the caller and an infrastructure the caller may use. */
  private async access(infId: unknown, auth: unknown, restriction: BootRestriction = "none") {
    const caller = await this.caller(auth, restriction);
    const infrastructure = typeof infId === "string" ? this.infrastructures.get(infId) : undefined;
    if (!infrastructure) throw errors.infrastructureNotFound();
    if (!(await this.deps.credentials.isAuthorized(caller.identities, infrastructure.owners))) throw errors.accessDenied();
    if (infrastructure.deleted) throw errors.deletedInfrastructure();
    return { ...caller, infrastructure };
  }

  /** Step 5: a VM id (string or int, parsed like Python's int()). */
  private vm(infrastructure: Infrastructure, vmId: unknown): Vm {
    const text = typeof vmId === "number" && Number.isInteger(vmId) ? String(vmId) : typeof vmId === "string" ? vmId : "";
    if (!/^\s*[+-]?\d+\s*$/.test(text)) throw errors.invalidVmId();
    const vm = infrastructure.vms[Number(text)];
    if (!vm) throw errors.invalidVmId();
    if (infrastructure.vmFacts(vm.imId).destroyed) throw errors.deletedVm();
    return vm;
  }

  // ---------------------------------------------------------------- the operations

  getVersion(): string {
    return this.settings.version;
  }

  async getInfrastructureList(auth: unknown, filter?: unknown): Promise<string[]> {
    const { identities } = await this.caller(auth);
    let pattern: RegExp | undefined;
    if (filter !== undefined && filter !== null && typeof filter !== "string") throw errors.badParameter("first argument must be string or compiled pattern");
    if (typeof filter === "string" && filter !== "") {
      try {
        pattern = new RegExp(filter);
      } catch (error) {
        throw errors.badParameter((error as Error).message);
      }
    }
    const authorized = this.deps.credentials.authorizer(identities);
    const ids: string[] = [];
    for (const infrastructure of [...this.infrastructures.values()].reverse()) {
      if (pattern && !pattern.test(infrastructure.radl)) continue;
      if (await authorized(infrastructure.owners)) ids.push(infrastructure.id);
    }
    return ids;
  }

  async createInfrastructure(radlText: unknown, auth: unknown, asyncCall: unknown): Promise<string> {
    const caller = await this.caller(auth, "write");
    const radl = parseChecked(radlText);
    const id = uuid1();
    const infrastructure = new Infrastructure(id, startActor(this.machine, id), Math.floor(Date.now() / 1000));
    infrastructure.owners = await Promise.all(caller.identities.map((identity) => this.deps.credentials.ownerRecord(identity)));
    this.attach(infrastructure);
    const asynchronous = truthy(asyncCall);
    // An asynchronous caller gets the id at once, so the infrastructure is stored first; a
    // synchronous one waits for the deployment, whose plan is stored before any launch.
    if (asynchronous) await this.persist(infrastructure);
    const adding = this.addResourceTo(infrastructure, radl, caller.auth, true);
    if (asynchronous) {
      // The reference leaves some async failures without a trace; log every one (RECOMMEND).
      adding.catch((error: Error) => {
        if (!infrastructure.contMsg.includes(error.message)) log(infrastructure, error.message);
        infrastructure.configured = false;
        this.persist(infrastructure);
      });
      return infrastructure.id;
    }
    try {
      await adding;
    } catch (error) {
      infrastructure.deleted = true;
      await this.persist(infrastructure);
      this.evict(infrastructure);
      throw error;
    }
    return infrastructure.id;
  }

  async addResource(infId: unknown, radlText: unknown, auth: unknown, context: unknown = true): Promise<number[]> {
    const { infrastructure, auth: items } = await this.access(infId, auth, "write");
    return this.addResourceTo(infrastructure, radlText, items, truthy(context));
  }

  /**
   * AddResource (§5.2), one at a time per infrastructure. `radl` is the call's RADL text, or the
   * document that CreateInfrastructure has parsed and checked already.
   */
  private addResourceTo(infrastructure: Infrastructure, radl: unknown, auth: AuthItem[], context: boolean): Promise<number[]> {
    const previous = this.addQueues.get(infrastructure.id) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(() => this.addResourceNow(infrastructure, radl, auth, context));
    this.addQueues.set(infrastructure.id, next);
    const forget = () => {
      if (this.addQueues.get(infrastructure.id) === next) this.addQueues.delete(infrastructure.id);
    };
    next.then(forget, forget);
    return next;
  }

  private async addResourceNow(infrastructure: Infrastructure, radl: unknown, auth: AuthItem[], context: boolean): Promise<number[]> {
    const fail = (logLine: string, error: Error): never => {
      infrastructure.configured = false;
      log(infrastructure, logLine);
      this.persist(infrastructure);
      throw error;
    };
    let incoming: Radl;
    try {
      const stored = parseRadlText(infrastructure.radl);
      // CreateInfrastructure's document is checked already, and a new infrastructure resolves
      // nothing in it: checking it again would only spend the recipes' YAML budget twice.
      const checked = radl instanceof Radl;
      incoming = resolveReferences(checked ? radl : parseChecked(radl), stored);
      if (!checked) checkRadl(incoming);
      const merged = mergeRadl(stored, incoming);
      checkRadl(merged);
      infrastructure.radl = merged.toString();
    } catch (error) {
      const wrapped = error instanceof RadlError ? errors.invalidRadl(error.message) : (error as Error);
      return fail(`Error parsing RADL: ${wrapped.message}`, wrapped);
    }
    if (incoming.deploys.length === 0) {
      log(infrastructure, "Infrastructure without any deploy. Exiting.");
      if (infrastructure.configured === null) infrastructure.configured = false;
      this.persist(infrastructure);
      return [];
    }
    const clouds = cloudList(auth).map(({ cloud }) => ({ cloud, credentials: credentialsOfType(auth, cloud.type) }));
    checkClouds(clouds, this.deps.providerTypes);
    let groups;
    try {
      groups = await planDeployment({
        infrastructureId: infrastructure.id, batch: infrastructure.batches, radl: incoming, clouds,
        privateNetworks: infrastructure.privateNetworks, defaults: this.settings.defaults, caller: this.deps.providers,
      });
    } catch (error) {
      if (error instanceof ImError && error.code === "NO_CLOUD_PROVIDER") fail("No cloud provider available", error);
      if (error instanceof ImError && error.code === "OPERATION_FAILED") fail(`Error getting VM images: ${error.message}`, error);
      throw error;
    }
    if (infrastructure.destroying) throw errors.infrastructureDeleted();
    infrastructure.batches++;
    infrastructure.launchClouds = new Map(clouds.map((cloud) => [cloud.cloud.id, cloud]));
    infrastructure.launchAuth = auth;
    const done = new Promise<number[]>((resolve, reject) => this.deployWaiters.set(infrastructure.id, { resolve, reject }));
    infrastructure.actor.send({ type: "ADD", plan: { groups, outcomes: {}, contextualize: context } });
    return done;
  }

  /** Runs the plan's unfinished launch groups in the worker pool and reports each one. */
  private deployActor() {
    return fromCallback<InfrastructureEvent, { id: string; plan: LaunchPlan }>(({ input, sendBack }) => {
      const controller = new AbortController();
      let finished = false;
      const run = async () => {
        const infrastructure = this.infrastructures.get(input.id);
        // The plan is on disk before any launch starts, so a restart finds every launch key.
        if (infrastructure) await this.persist(infrastructure);
        const pending = input.plan.groups.filter((group) => !input.plan.outcomes[group.key]);
        await Promise.all(pending.map(async (group) => {
          // After a restart the caller's credentials are gone: providers get the cloud alone.
          const cloud = infrastructure?.launchClouds.get(group.cloud.id) ?? { cloud: group.cloud, credentials: [] };
          const outcomes = await launchWithRetry(group, input.id, cloud, this.deps.providers, {
            maxAttempts: this.settings.maxVmFails, delayMs: this.settings.delayBetweenVmRetries * 1000, signal: controller.signal,
          });
          if (!controller.signal.aborted) sendBack({ type: "GROUP_LAUNCHED", key: group.key, outcomes });
        }));
        finished = true;
        if (!controller.signal.aborted) sendBack({ type: "DEPLOY_FINISHED" });
      };
      run().catch((error: Error) => {
        finished = true;
        if (!controller.signal.aborted) sendBack({ type: "DEPLOY_FAILED", error: error.message });
      });
      // Leaving `adding` stops this actor: a run still going stops waiting between retries. A
      // finished one has nothing left to stop, and an abort is not free (an exception, an event).
      return () => {
        if (!finished) controller.abort();
      };
    });
  }

  /** Adds the launched VMs in deploy order, then contextualizes (§5.2 steps 9-11). */
  private async assemble(infrastructure: Infrastructure, plan: LaunchPlan): Promise<void> {
    const newIds: number[] = [];
    const failures: string[] = [];
    const now = Math.floor(Date.now() / 1000);
    for (const group of [...plan.groups].sort((a, b) => a.deployIndex - b.deployIndex)) {
      const cloud: CloudEntry = group.cloud;
      for (const outcome of plan.outcomes[group.key] ?? []) {
        const imId = infrastructure.vms.length;
        const vm = newVm({
          imId, providerId: outcome.ok ? outcome.providerId : null, cloud, info: outcome.info, requestedRadl: group.requestedRadl,
          errorMsg: outcome.ok ? null : outcome.error, contMsg: "", creationDate: now, lastUpdate: outcome.ok ? Date.now() : 0,
        });
        if (outcome.ok) setNewPassword(vm.info);
        else failures.push(outcome.error);
        infrastructure.vms.push(vm);
        infrastructure.actor.send({ type: "ADD_VM", facts: outcome.ok ? { providerState: outcome.state } : { launchFailed: true } });
        newIds.push(imId);
        if (outcome.ok) this.recordPrivateNetworks(infrastructure, vm);
      }
    }
    const waiter = this.deployWaiters.get(infrastructure.id);
    this.deployWaiters.delete(infrastructure.id);
    const auth = infrastructure.launchAuth;
    infrastructure.launchClouds = new Map();
    infrastructure.launchAuth = [];
    if (newIds.length > 0 && failures.length === newIds.length) {
      log(infrastructure, "All VMs failed. No contextualize.");
      await this.finalizeVms(infrastructure, newIds.map((id) => infrastructure.vms[id]), [], []);
      for (const failure of failures) log(infrastructure, failure);
      if (infrastructure.liveVms().length === 0) infrastructure.configured = false;
      this.persist(infrastructure);
      waiter?.reject(errors.operationFailed(`Error adding VMs: ${failures.map((f) => `${f}\n`).join("")}`));
      return;
    }
    if (plan.contextualize) this.contextualize(infrastructure, auth);
    this.persist(infrastructure, true);
    waiter?.resolve(newIds);
  }

  private failDeploy(infrastructure: Infrastructure, error: Error): void {
    log(infrastructure, error.message);
    infrastructure.configured = false;
    this.persist(infrastructure);
    const waiter = this.deployWaiters.get(infrastructure.id);
    this.deployWaiters.delete(infrastructure.id);
    waiter?.reject(error);
  }

  private recordPrivateNetworks(infrastructure: Infrastructure, vm: Vm): void {
    const radl = vm.info;
    for (const id of radl.systems[0]?.getNetworkIds() ?? []) {
      const network = radl.getNetwork(id) ?? parseRadlText(infrastructure.radl).getNetwork(id);
      if (network && !network.isPublic()) infrastructure.privateNetworks[id] = vm.cloud.id;
    }
  }

  /** Contextualizes with the caller's credentials; a run that goes on uses the latest ones. */
  private contextualize(infrastructure: Infrastructure, auth: AuthItem[], vmList: readonly unknown[] | null = null): void {
    // Destroyed or exported with delete while the caller was busy (a RemoveResource, say).
    if (this.infrastructures.get(infrastructure.id) !== infrastructure) return;
    this.contextAuth.set(infrastructure.id, auth);
    const owner = imCredentials(auth)[0];
    const host = {
      settings: this.settings.context,
      refresh: (inf: Infrastructure) => this.refreshAll(inf, this.contextAuth.get(inf.id) ?? []),
      persist: (inf: Infrastructure) => void this.persist(inf, true),
      connection: (inf: Infrastructure, vm: Vm) => {
        const credentials = credentialsOfType(this.contextAuth.get(inf.id) ?? [], vm.cloud.type);
        return this.deps.providers.call(vm.cloud.type, "connectionInfo", vm.cloud, credentials, { vm: vmJson(inf, vm) });
      },
      contextualizer: this.deps.contextualizer,
      ownerAuth: owner?.username && owner.password ? `${owner.username}:${owner.password}` : (owner?.token as string | undefined),
    };
    this.contexts.set(infrastructure.id, startContextualization(host, infrastructure, this.contexts.get(infrastructure.id), vmList));
  }

  async destroyInfrastructure(infId: unknown, auth: unknown, force: unknown, asyncCall: unknown): Promise<string> {
    const { infrastructure, auth: items } = await this.access(infId, auth, "delete");
    if (infrastructure.adding || this.addQueues.has(infrastructure.id) || infrastructure.destroying) throw errors.invalidState();
    infrastructure.actor.send({ type: "DESTROY_STARTED" });
    this.cancelContextualization(infrastructure.id);
    const asynchronous = truthy(asyncCall);
    // A synchronous caller gets its answer once the outcome is stored.
    if (asynchronous) await this.persist(infrastructure);
    const destroy = this.destroy(infrastructure, items, truthy(force));
    if (asynchronous) {
      destroy.catch((error: Error) => this.deps.log.warn("asynchronous destroy failed", { infrastructureId: infrastructure.id, error: error.message }));
      return "";
    }
    await destroy;
    return "";
  }

  private async destroy(infrastructure: Infrastructure, auth: AuthItem[], force: boolean): Promise<void> {
    const messages: string[] = [];
    await this.finalizeVms(infrastructure, infrastructure.liveVms().reverse(), auth, messages);
    if (messages.length > 0 && !force) {
      infrastructure.actor.send({ type: "DESTROY_FAILED" });
      await this.persist(infrastructure);
      throw errors.operationFailed(`Error destroying the infrastructure: \n${messages.map((m) => `${m}\n`).join("")}`);
    }
    infrastructure.deleted = true;
    infrastructure.actor.send({ type: "DESTROYED" });
    await this.persist(infrastructure);
    this.evict(infrastructure);
  }

  private evict(infrastructure: Infrastructure): void {
    this.cancelContextualization(infrastructure.id);
    // A cancelled playbook that writes to it as it stops may leave it again: the next start sweeps it.
    removeContextCache(this.settings.context.cacheRoot, infrastructure.id).catch((error: Error) =>
      this.deps.log.warn("cannot remove a contextualization cache", { infrastructureId: infrastructure.id, error: error.message }));
    this.contexts.delete(infrastructure.id);
    this.contextAuth.delete(infrastructure.id);
    this.infrastructures.delete(infrastructure.id);
    infrastructure.stopActor();
  }

  /** Cancels the infrastructure's contextualization if it is still running. */
  private cancelContextualization(id: string): void {
    const context = this.contexts.get(id);
    if (context?.running) context.controller.abort();
  }

  /**
   * Finalizes VMs in the given order, all at once. `last` tells a provider that no other VM of
   * its cloud remains, so shared resources (and auto-delete snapshots) can go (§5.10).
   */
  private async finalizeVms(infrastructure: Infrastructure, vms: Vm[], auth: AuthItem[], messages: string[]): Promise<number> {
    const cloudKey = (vm: Vm) => `${vm.cloud.type}\u0000${vm.cloud.server}`;
    const deleting = new Set(vms.map((vm) => vm.imId));
    const remainingOutside = new Set(infrastructure.liveVms().filter((vm) => !deleting.has(vm.imId)).map(cloudKey));
    const lastOfCloud = new Map<string, number>();
    for (const vm of vms) lastOfCloud.set(cloudKey(vm), vm.imId);
    let finalized = 0;
    await Promise.all(vms.map(async (vm) => {
      if (infrastructure.vmFacts(vm.imId).destroyed) {
        finalized++;
        return;
      }
      const last = lastOfCloud.get(cloudKey(vm)) === vm.imId && !remainingOutside.has(cloudKey(vm));
      infrastructure.sendVm(vm.imId, { type: "FINALIZE_STARTED" });
      try {
        const credentials = credentialsOfType(auth, vm.cloud.type);
        await this.deps.providers.call(vm.cloud.type, "finalize", vm.cloud, credentials, { vm: vmJson(infrastructure, vm), last });
        if (last) await this.deleteSnapshots(infrastructure, vm.cloud, credentials);
        infrastructure.sendVm(vm.imId, { type: "FINALIZED" });
        finalized++;
      } catch (error) {
        infrastructure.sendVm(vm.imId, { type: "FINALIZE_FAILED" });
        messages.push((error as Error).message);
      }
    }));
    return finalized;
  }

  private async deleteSnapshots(infrastructure: Infrastructure, cloud: CloudEntry, credentials: AuthItem[]): Promise<void> {
    for (const url of infrastructure.snapshots.splice(0)) {
      try {
        await this.deps.providers.call(cloud.type, "deleteImage", cloud, credentials, { url });
      } catch (error) {
        this.deps.log.warn("cannot delete a snapshot", { infrastructureId: infrastructure.id, url, error: (error as Error).message });
      }
    }
  }

  async removeResource(infId: unknown, vmIds: unknown, auth: unknown, context: unknown = true): Promise<number> {
    const { infrastructure, auth: items } = await this.access(infId, auth, "write");
    let ids: unknown[];
    if (typeof vmIds === "string") ids = vmIds.split(",");
    else if (typeof vmIds === "number") ids = [vmIds];
    else if (Array.isArray(vmIds)) ids = vmIds;
    else throw errors.badParameter("Incorrect parameter type to RemoveResource function: expected: str, int or list of str.");
    const vms = ids.map((id) => this.vm(infrastructure, id));
    const messages: string[] = [];
    const removed = await this.finalizeVms(infrastructure, vms, items, messages);
    if (truthy(context) && removed > 0) this.contextualize(infrastructure, items);
    await this.persist(infrastructure);
    if (messages.length > 0) throw errors.operationFailed(`Error removing resources: [${messages.map(pyStr).join(", ")}]`);
    return removed;
  }

  async getInfrastructureInfo(infId: unknown, auth: unknown): Promise<string[]> {
    const { infrastructure } = await this.access(infId, auth);
    return infrastructure.liveVms().map((vm) => String(vm.imId));
  }

  async getInfrastructureState(infId: unknown, auth: unknown): Promise<{ state: VmState; vm_states: Record<string, VmState> }> {
    const { infrastructure, auth: items } = await this.access(infId, auth);
    await this.refreshAll(infrastructure, items);
    const vms = infrastructure.liveVms();
    const states = vms.map((vm) => infrastructure.vmState(vm.imId));
    return {
      state: aggregateState(states, infrastructure.configured, infrastructure.destroying),
      vm_states: Object.fromEntries(vms.map((vm, i) => [String(vm.imId), states[i]])),
    };
  }

  async getInfrastructureContMsg(infId: unknown, auth: unknown, headeronly: unknown = false): Promise<string> {
    const { infrastructure } = await this.access(infId, auth);
    let message = infrastructure.contMsg;
    if (truthy(headeronly)) return message;
    for (const vm of infrastructure.liveVms()) {
      const vmMessage = vmContMsg(vm);
      if (vmMessage) message += `VM ${vm.imId}:\n${vmMessage}\n${"*".repeat(75)}\n`;
    }
    return message;
  }

  async getInfrastructureRadl(infId: unknown, auth: unknown): Promise<string> {
    const { infrastructure } = await this.access(infId, auth);
    return infrastructure.radl;
  }

  async getVmInfo(infId: unknown, vmId: unknown, auth: unknown): Promise<string> {
    const { infrastructure, auth: items } = await this.access(infId, auth);
    const vm = this.vm(infrastructure, vmId);
    await this.refresh(infrastructure, vm, items);
    const view = withOnlySystem(vm.info, vm.info.systems[0]);
    view.configures = [];
    view.deploys = [];
    view.contextualize.items = null;
    return this.settings.vmInfoJson ? dumpRadlJson(view, false) : view.toString();
  }

  async getVmProperty(infId: unknown, vmId: unknown, property: unknown, auth: unknown): Promise<unknown> {
    const { infrastructure, auth: items } = await this.access(infId, auth);
    const vm = this.vm(infrastructure, vmId);
    await this.refresh(infrastructure, vm, items);
    const system = vm.info.systems[0];
    const name = String(property);
    const feature = system.getFeature(name);
    if (feature) return feature.type === "float" ? new FloatValue(feature.getValue() as number) : feature.getValue();
    const contains = system.getContains(name);
    // A missing property is Python's None, which the transport cannot marshal (golden #16).
    return contains.length ? contains.map((f) => featuresToSimple(f.value as System)) : undefined;
  }

  async getVmContMsg(infId: unknown, vmId: unknown, auth: unknown): Promise<string> {
    const { infrastructure } = await this.access(infId, auth);
    return vmContMsg(this.vm(infrastructure, vmId));
  }

  async alterVm(infId: unknown, vmId: unknown, radlText: unknown, auth: unknown): Promise<string> {
    const { infrastructure, auth: items } = await this.access(infId, auth, "write");
    const vm = this.vm(infrastructure, vmId);
    const radl = parseOnly(radlText);
    const name = vm.info.systems[0].name;
    const system = radl.getSystem(name);
    if (!system) throw errors.operationFailed(`Incorrect RADL no system with name ${name} provided.`);
    let observation: ObservationJson;
    try {
      observation = await this.deps.providers.call(vm.cloud.type, "alter", vm.cloud, credentialsOfType(items, vm.cloud.type), {
        vm: vmJson(infrastructure, vm), system: singleSystemText(system),
      });
    } catch (error) {
      throw errors.operationFailed(`Error modifying the information about the VM ${vm.imId}: ${(error as Error).message}`);
    }
    this.applyObservation(infrastructure, vm, observation);
    vm.lastUpdate = 0;
    await this.refresh(infrastructure, vm, items);
    await this.persist(infrastructure);
    return vm.info.toString();
  }

  async stopInfrastructure(infId: unknown, auth: unknown): Promise<string> {
    return this.everyVm(infId, auth, "stop", "Error stopping the infrastructure: ");
  }

  async startInfrastructure(infId: unknown, auth: unknown): Promise<string> {
    return this.everyVm(infId, auth, "start", "Error starting the infrastructure: ");
  }

  private async everyVm(infId: unknown, auth: unknown, op: "stop" | "start", prefix: string): Promise<string> {
    const { infrastructure, auth: items } = await this.access(infId, auth, "write");
    const messages: string[] = [];
    await Promise.all(infrastructure.liveVms().reverse().map(async (vm) => {
      try {
        await this.vmOperation(infrastructure, vm, items, op);
      } catch (error) {
        messages.push((error as Error).message);
      }
    }));
    if (messages.length) throw errors.operationFailed(prefix + messages.map((m) => `${m}\n`).join(""));
    return "";
  }

  async vmLifecycle(infId: unknown, vmId: unknown, auth: unknown, op: "stop" | "start" | "reboot"): Promise<string> {
    const { infrastructure, auth: items } = await this.access(infId, auth, "write");
    const vm = this.vm(infrastructure, vmId);
    const verb = { stop: "stopping", start: "starting", reboot: "rebooting" }[op];
    try {
      await this.vmOperation(infrastructure, vm, items, op);
    } catch (error) {
      throw errors.operationFailed(`Error ${verb} the VM: ${(error as Error).message}`);
    }
    return "";
  }

  private async vmOperation(infrastructure: Infrastructure, vm: Vm, auth: AuthItem[], op: "stop" | "start" | "reboot"): Promise<void> {
    const observation = await this.deps.providers.call(vm.cloud.type, op, vm.cloud, credentialsOfType(auth, vm.cloud.type), { vm: vmJson(infrastructure, vm) });
    this.applyObservation(infrastructure, vm, observation);
    vm.lastUpdate = 0;
  }

  async reconfigure(infId: unknown, radlText: unknown, auth: unknown, vmList?: unknown): Promise<string> {
    const { infrastructure, auth: items } = await this.access(infId, auth, "write");
    const radl = parseOnly(radlText);
    const invalid = invalidRecipe(radl.configures);
    if (invalid) throw errors.operationFailed(`Error parsing YAML: ${invalid.problem}`);
    const stored = parseRadlText(infrastructure.radl);
    for (const configure of radl.configures) stored.add(configure, "replace");
    stored.add(radl.contextualize);
    for (const system of radl.systems) {
      const current = stored.getSystem(system.name);
      if (current) mergeReconfiguredSystem(current, system);
    }
    infrastructure.radl = stored.toString();
    this.contextualize(infrastructure, items, Array.isArray(vmList) ? vmList : null);
    await this.persist(infrastructure);
    return "";
  }

  async exportInfrastructure(infId: unknown, del: unknown, auth: unknown): Promise<string> {
    const { infrastructure } = await this.access(infId, auth, truthy(del) ? "delete" : "none");
    const document = pythonJsonDumps(exportDocument(infrastructure));
    if (truthy(del)) {
      infrastructure.deleted = true;
      await this.persist(infrastructure);
      this.evict(infrastructure);
    }
    return document;
  }

  async importInfrastructure(text: unknown, auth: unknown): Promise<string> {
    const { identities } = await this.caller(auth, "write");
    if (typeof text !== "string") throw errors.importFailed(`the JSON object must be str, bytes or bytearray, not ${describeType(text)}`);
    let document: Record<string, unknown>;
    try {
      document = JSON.parse(text) as Record<string, unknown>;
      if (typeof document !== "object" || document === null || Array.isArray(document)) throw new Error("the document is not a JSON object");
    } catch (error) {
      throw errors.importFailed((error as Error).message);
    }
    const id = document.id;
    if (typeof id !== "string" || !/^[A-Za-z0-9_.-]+$/.test(id)) throw errors.importFailed("'id'");
    if (this.infrastructures.has(id)) throw errors.existingId();
    let vms: ReturnType<typeof importVm>[];
    try {
      if (typeof document.radl !== "string") throw new Error("'radl'");
      parseRadlText(document.radl);
      if (!Array.isArray(document.vm_list)) throw new Error("'vm_list'");
      vms = document.vm_list.map((vm, index) => importVm(vm as Record<string, unknown>, index));
    } catch (error) {
      throw errors.importFailed((error as Error).message);
    }
    const infrastructure = new Infrastructure(id, startActor(this.machine, id), typeof document.creation_date === "number" ? document.creation_date : Math.floor(Date.now() / 1000));
    infrastructure.owners = await Promise.all(identities.map((identity) => this.deps.credentials.ownerRecord(identity)));
    infrastructure.radl = document.radl as string;
    infrastructure.contMsg = typeof document.cont_out === "string" ? document.cont_out : "";
    infrastructure.configured = document.configured === true ? true : document.configured === false ? false : null;
    infrastructure.privateNetworks = (document.private_networks ?? {}) as Record<string, string>;
    infrastructure.snapshots = Array.isArray(document.snapshots) ? document.snapshots.map(String) : [];
    infrastructure.vmMaster = typeof document.vm_master === "number" ? document.vm_master : null;
    this.attach(infrastructure);
    for (const { data, facts } of vms) {
      infrastructure.vms.push(newVm({ ...data, imId: infrastructure.vms.length }));
      infrastructure.actor.send({ type: "ADD_VM", facts });
    }
    await this.persist(infrastructure);
    return id;
  }

  async createDiskSnapshot(infId: unknown, vmId: unknown, diskNum: unknown, imageName: unknown, autoDelete: unknown, auth: unknown): Promise<string> {
    const { infrastructure, auth: items } = await this.access(infId, auth, "write");
    const vm = this.vm(infrastructure, vmId);
    let url: string;
    try {
      url = await this.deps.providers.call(vm.cloud.type, "createSnapshot", vm.cloud, credentialsOfType(items, vm.cloud.type), {
        vm: vmJson(infrastructure, vm), disk: Number(diskNum), imageName: String(imageName), autoDelete: truthy(autoDelete),
      });
    } catch (error) {
      throw errors.operationFailed(`Error creating snapshot: ${(error as Error).message}`);
    }
    if (truthy(autoDelete)) infrastructure.snapshots.push(url);
    await this.persist(infrastructure);
    return url;
  }

  async getCloudImageList(cloudId: unknown, auth: unknown, filters?: unknown): Promise<Record<string, unknown>[]> {
    const { cloud, credentials } = await this.cloudOf(cloudId, auth);
    const plainFilters = typeof filters === "object" && filters !== null ? Object.fromEntries(Object.entries(filters).map(([k, v]) => [k, String(v)])) : {};
    return this.deps.providers.call(cloud.type, "listImages", cloud, credentials, { filters: plainFilters });
  }

  async getCloudQuotas(cloudId: unknown, auth: unknown): Promise<Record<string, { used: number; limit: number }>> {
    const { cloud, credentials } = await this.cloudOf(cloudId, auth);
    return this.deps.providers.call(cloud.type, "getQuotas", cloud, credentials, {});
  }

  private async cloudOf(cloudId: unknown, auth: unknown): Promise<Cloud> {
    const { auth: items } = await this.caller(auth);
    const entry = cloudList(items).find(({ cloud }) => cloud.id === cloudId);
    if (!entry) throw errors.cloudNotFound(String(cloudId));
    const cloud = { cloud: entry.cloud, credentials: credentialsOfType(items, entry.cloud.type) };
    checkClouds([cloud], this.deps.providerTypes);
    return cloud;
  }

  async changeInfrastructureAuth(infId: unknown, newAuth: unknown, overwrite: unknown, auth: unknown): Promise<string> {
    const { infrastructure } = await this.access(infId, auth);
    // im-client 1.8.4 sends one struct where IM expects a list of them; take it as a list of one.
    const items = typeof newAuth === "object" && newAuth !== null && !Array.isArray(newAuth) ? [newAuth] : newAuth;
    let identities: Identity[];
    try {
      identities = await this.deps.credentials.identities(parseAuth(items));
    } catch (error) {
      throw errors.operationFailed(`Invalid new infrastructure data provided: ${(error as Error).message}`);
    }
    const owners = await Promise.all(identities.map((identity) => this.deps.credentials.ownerRecord(identity)));
    if (truthy(overwrite)) infrastructure.owners = owners;
    else if (!(await this.deps.credentials.isAuthorized(identities, infrastructure.owners))) infrastructure.owners = [...infrastructure.owners, ...owners];
    await this.persist(infrastructure);
    return "";
  }

  async getInfrastructureOwners(infId: unknown, auth: unknown): Promise<string[]> {
    const { infrastructure } = await this.access(infId, auth);
    return infrastructure.owners.map((owner) => owner.username);
  }

  async estimateResources(radlText: unknown, auth: unknown): Promise<Record<string, unknown>> {
    const { auth: items } = await this.caller(auth);
    const radl = parseChecked(radlText);
    if (radl.deploys.length === 0) return {};
    const clouds = cloudList(items).map(({ cloud }) => ({ cloud, credentials: credentialsOfType(items, cloud.type) }));
    checkClouds(clouds, this.deps.providerTypes);
    const groups = await planDeployment({ infrastructureId: "estimate", batch: 0, radl, clouds, privateNetworks: {}, defaults: this.settings.defaults, caller: this.deps.providers });
    const estimate: Record<string, { cloudType: string; cloudEndpoint: string; compute: Record<string, number>[]; storage: Record<string, unknown>[] }> = {};
    for (const group of groups) {
      const cloud = group.cloud;
      const entry = (estimate[cloud.id] ??= { cloudType: cloud.type, cloudEndpoint: endpoint(cloud), compute: [], storage: [] });
      if (!group.launchRadl) continue;
      const launch = parseRadlText(group.launchRadl);
      const system = launch.systems[0];
      for (let i = 0; i < group.count; i++) {
        entry.compute.push(computeEstimate(system, launch));
        entry.storage.push(...storageEstimate(system));
      }
    }
    return estimate;
  }

  async getStats(initDate: unknown, endDate: unknown, auth: unknown): Promise<Record<string, unknown>[]> {
    const { identities } = await this.caller(auth);
    const from = initDate ? parseDay(initDate) / 1000 : 0;
    const to = endDate ? parseDay(endDate) / 1000 + 86399 : Number.POSITIVE_INFINITY;
    const authorized = this.deps.credentials.authorizer(identities);
    const stats: Record<string, unknown>[] = [];
    for (const id of await this.deps.store.list()) {
      const record = this.infrastructures.get(id)?.toRecord() ?? (await this.readRecord(id));
      if (!record || record.creationDate < from || record.creationDate > to) continue;
      if (!(await authorized(record.owners))) continue;
      stats.push(statsOf(record));
    }
    return stats;
  }

  // ---------------------------------------------------------------- VM refresh (§4.2)

  private async refreshAll(infrastructure: Infrastructure, auth: AuthItem[]): Promise<void> {
    await Promise.all(infrastructure.liveVms().map((vm) => this.refresh(infrastructure, vm, auth)));
  }

  /** Asks the provider for the VM's state when the last answer is too old; one call at a time per VM. */
  private refresh(infrastructure: Infrastructure, vm: Vm, auth: AuthItem[]): Promise<void> {
    const key = `${infrastructure.id}/${vm.imId}`;
    const running = this.refreshes.get(key);
    if (running) return running;
    const facts = infrastructure.vmFacts(vm.imId);
    if ((facts.launchFailed && vm.providerId === null) || facts.destroyed || facts.deleting) return Promise.resolve();
    const promise = this.refreshNow(infrastructure, vm, auth, facts).finally(() => this.refreshes.delete(key));
    this.refreshes.set(key, promise);
    return promise;
  }

  private async refreshNow(infrastructure: Infrastructure, vm: Vm, auth: AuthItem[], facts: VmFacts): Promise<void> {
    const now = Date.now();
    if (now - vm.lastUpdate >= this.settings.vmInfoUpdateFrequency * 1000) {
      try {
        const observation = await this.deps.providers.call(vm.cloud.type, "observe", vm.cloud, credentialsOfType(auth, vm.cloud.type), { vm: vmJson(infrastructure, vm) });
        this.applyObservation(infrastructure, vm, observation);
        vm.lastUpdate = Date.now();
      } catch (error) {
        this.deps.log.warn("cannot refresh a VM", { infrastructureId: infrastructure.id, vm: vm.imId, error: (error as Error).message });
        if (vm.lastUpdate === 0 || now - vm.lastUpdate >= this.settings.vmInfoUpdateErrorGracePeriod * 1000) {
          if (!facts.unreachable) infrastructure.sendVm(vm.imId, { type: "UNREACHABLE" });
        }
      }
    }
    this.writeLiveFeatures(infrastructure, vm);
  }

  private applyObservation(infrastructure: Infrastructure, vm: Vm, observation: ObservationJson): void {
    if (observation.info) vm.info = radlFromStructure(observation.info);
    infrastructure.sendVm(vm.imId, { type: "OBSERVED", providerState: observation.state });
  }

  /** The VM's RADL carries its state and a default DNS name (§4.2 step 7). */
  private writeLiveFeatures(infrastructure: Infrastructure, vm: Vm): void {
    const system = vm.info.systems[0];
    if (!system) return;
    const state = infrastructure.vmState(vm.imId);
    let changed = false;
    if (system.getValue("state") !== state) {
      system.setValue("state", state);
      changed = true;
    }
    if (system.hasFeature("net_interface.0.connection") && !system.hasFeature("net_interface.0.dns_name")) {
      system.setValue("net_interface.0.dns_name", this.settings.defaultVmName.replaceAll("#N#", String(vm.imId)));
      changed = true;
    }
    if (changed) this.persist(infrastructure, true);
  }
}

// ---------------------------------------------------------------- helpers

/** A number that was a float in RADL (`1.0`), so that clients receive a double. */
export class FloatValue {
  constructor(readonly value: number) {}
}

/** Python truthiness of an XML-RPC flag: false, 0, "", nil and empty collections are false. */
export function truthy(value: unknown): boolean {
  if (Array.isArray(value)) return value.length > 0;
  if (value && typeof value === "object") return Object.keys(value).length > 0;
  return Boolean(value);
}

function parseOnly(text: unknown): Radl {
  if (typeof text !== "string") throw errors.invalidRadl(`Invalid RADL: a string was expected, not ${describeType(text)}.`);
  try {
    return parseRadl(text);
  } catch (error) {
    if (error instanceof RadlError) throw errors.invalidRadl(error.message);
    throw error;
  }
}

/** A `YYYY-MM-DD` date at local midnight, in epoch milliseconds; Python's strptime error otherwise. */
function parseDay(value: unknown): number {
  const day = typeof value === "string" && /^\d{4}-\d{2}-\d{2}$/.test(value) ? Date.parse(`${value}T00:00:00`) : Number.NaN;
  if (Number.isNaN(day)) throw errors.badParameter(`time data ${pyStr(String(value))} does not match format '%Y-%m-%d'`);
  return day;
}

function describeType(value: unknown): string {
  if (value === null || value === undefined) return "nil";
  if (Array.isArray(value)) return "an array";
  if (Buffer.isBuffer(value)) return "base64 data";
  return typeof value === "object" ? "a struct" : `a ${typeof value}`;
}

function parseChecked(text: unknown): Radl {
  const radl = parseOnly(text);
  try {
    checkRadl(radl);
  } catch (error) {
    if (error instanceof RadlError) throw errors.invalidRadl(error.message);
    throw error;
  }
  return radl;
}

function vmJson(infrastructure: Infrastructure, vm: Vm): VmJson {
  return { infrastructureId: infrastructure.id, imId: vm.imId, providerId: vm.providerId, info: radlToStructure(vm.info), state: infrastructure.vmFacts(vm.imId).providerState };
}

function vmContMsg(vm: Vm): string {
  return vm.errorMsg ? `${vm.errorMsg}\n${vm.contMsg}` : vm.contMsg;
}

const ALPHANUMERIC = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

/** A launched VM with an image password gets a random new one, applied by contextualization. */
function setNewPassword(info: Radl): void {
  const system = info.systems[0];
  if (!system || !system.getValue("disk.0.os.credentials.password") || system.getValue("disk.0.os.credentials.new.password")) return;
  system.setValue("disk.0.os.credentials.new.password", Array.from({ length: 8 }, () => ALPHANUMERIC[randomInt(ALPHANUMERIC.length)]).join(""));
}

/** Reconfigure takes only new credentials and applications from a system (§5.8). */
function mergeReconfiguredSystem(current: System, requested: System): void {
  for (const suffix of ["password", "public_key", "private_key"]) {
    const prop = `disk.0.os.credentials.new.${suffix}`;
    const value = requested.getValue(prop);
    if (value !== undefined && value !== current.getValue(prop)) current.setValue(prop, value);
  }
  const baseName = (app: Application) => String(app.getValue("name") ?? "").split(",")[0];
  for (const app of requested.getApplications()) {
    const kept = current.getContains("disk.0.applications").filter((f) => baseName(new Application((f.value as System).features)) !== baseName(app));
    current.delValue("disk.0.applications");
    for (const feature of kept) current.addFeature(feature);
    current.addFeature(Feature.contains("disk.0.applications", app));
  }
}

function pyStr(text: string): string {
  return `'${text.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
}

function endpoint(cloud: CloudEntry): string {
  const protocol = cloud.protocol || "http";
  const port = cloud.port > 0 ? cloud.port : protocol === "https" ? 443 : 80;
  return `${protocol}://${cloud.server}:${port}${cloud.path}`;
}

function numberOf(system: System, prop: string, unit?: string): number {
  const feature = system.getFeature(prop);
  return feature?.isNumber ? (feature.getValue(unit) as number) : 0;
}

function computeEstimate(system: System, radl: Radl): Record<string, number> {
  const compute: Record<string, number> = { cpuCores: numberOf(system, "cpu.count"), memoryInMegabytes: numberOf(system, "memory.size", "M") };
  const disk = numberOf(system, "disk.0.free_size", "G") + numberOf(system, "disk.0.size", "G");
  if (disk) compute.diskSizeInGigabytes = disk;
  if (system.getNetworkIds().some((id) => radl.getNetwork(id)?.isPublic())) compute.publicIP = 1;
  if (system.hasFeature("gpu.count")) compute.GPU = numberOf(system, "gpu.count");
  return compute;
}

function storageEstimate(system: System): Record<string, unknown>[] {
  const disks: Record<string, unknown>[] = [];
  for (let k = 0; ; k++) {
    if (k > 0 && !system.hasFeature(`disk.${k}.size`) && !system.hasFeature(`disk.${k}.content`)) break;
    if (!system.hasFeature(`disk.${k}.size`)) continue;
    const disk: Record<string, unknown> = { sizeInGigabytes: numberOf(system, `disk.${k}.size`, "G") };
    const type = system.getValue(`disk.${k}.type`);
    if (type !== undefined) disk.type = type;
    disks.push(disk);
  }
  return disks;
}

function statsOf(record: InfrastructureRecord): Record<string, unknown> {
  const systems = record.vms.map((vm) => parseRadlText(vm.info).systems[0]);
  const hosts = new Set(record.vms.map((vm) => vm.cloud.server));
  return {
    creation_date: localDateTime(record.creationDate),
    tosca_name: "",
    vm_count: record.vms.length,
    cpu_count: systems.reduce((sum, s) => sum + (s ? numberOf(s, "cpu.count") : 0), 0),
    memory_size: systems.reduce((sum, s) => sum + (s ? numberOf(s, "memory.size", "M") : 0), 0),
    cloud_type: record.vms[0]?.cloud.type ?? "",
    cloud_host: record.vms[0]?.cloud.server ?? "",
    hybrid: hosts.size > 1,
    deleted: record.deleted,
    im_user: record.owners[0]?.username ?? "",
    inf_id: record.id,
    last_date: localDateTime(record.lastDate),
  };
}

function localDateTime(epochSeconds: number): string {
  const d = new Date(epochSeconds * 1000);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}
