import { createActor, type Actor } from "xstate";
import {
  parseRadlText, radlToStructure, stateFromFacts, isProviderState,
  type AuthItem, type CloudEntry, type ProviderState, type Radl, type VmEvent, type VmFacts, type VmState,
} from "../../core/index.ts";
import { infrastructureMachine, persistedInfrastructure, vmActorId, type InfrastructureSnapshot } from "../../core/machines/infrastructure.machine.ts";
import type { OwnerRecord } from "./credentials.ts";
import type { Cloud } from "./deployment.ts";

// One infrastructure held by the server: the data IM keeps (IM behaviour §5.1) and its actor,
// which owns the lifecycle and one actor per VM.

/** What IM stores per VM besides its actor's facts. */
export interface VmData {
  imId: number;
  providerId: string | null;
  cloud: CloudEntry;
  /** RADL text of the VM's current description. */
  info: string;
  requestedRadl: string;
  errorMsg: string | null;
  contMsg: string;
  /** Epoch seconds. */
  creationDate: number;
  /** Epoch milliseconds of the last successful provider refresh; 0 forces a refresh. */
  lastUpdate: number;
}

/**
 * A VM in memory: its description is a live model, changed in place as the reference does
 * (re-reading it from text would merge repeated constraints that clients see). Made by `newVm`.
 */
export interface Vm extends Omit<VmData, "info"> {
  info: Radl;
}

export const RECORD_SCHEMA_VERSION = 1;

/** The stored form of an infrastructure (our schema; ExportInfrastructure has IM's). */
export interface InfrastructureRecord {
  id: string;
  schemaVersion: typeof RECORD_SCHEMA_VERSION;
  deleted: boolean;
  owners: OwnerRecord[];
  radl: string;
  vms: VmData[];
  contMsg: string;
  configured: boolean | null;
  privateNetworks: Record<string, string>;
  snapshots: string[];
  creationDate: number;
  /** Epoch seconds of the last save. */
  lastDate: number;
  batches: number;
  vmMaster: number | null;
  actor: unknown;
  [key: string]: unknown;
}

export type InfrastructureActor = Actor<typeof infrastructureMachine>;

export class Infrastructure {
  owners: OwnerRecord[] = [];
  radl = "";
  vms: Vm[] = [];
  contMsg = "";
  configured: boolean | null = null;
  privateNetworks: Record<string, string> = {};
  snapshots: string[] = [];
  deleted = false;
  batches = 0;
  vmMaster: number | null = null;
  lastDate = 0;
  /** The clouds and the auth of the running AddResource, with the caller's credentials: memory only. */
  launchClouds = new Map<string, Cloud>();
  launchAuth: AuthItem[] = [];

  /** The running actor; undefined while the infrastructure sleeps, and once it has ended. */
  private awake: InfrastructureActor | undefined;
  /** The actor's persisted snapshot while it sleeps (it wakes from it) and once it has ended. */
  private asleep: PersistedInfrastructure | undefined;
  /** Stopped for good (shutdown, eviction): events sent to its actor are dropped. */
  private ended = false;
  private endedActor: InfrastructureActor | undefined;
  private machine: typeof infrastructureMachine | undefined;
  /** Connects a woken actor to the service (subscriptions, start); returns the disconnection. */
  private wire: ((actor: InfrastructureActor) => () => void) | undefined;
  private unwire: (() => void) | undefined;
  /** performance.now() of the last use, and of the last time it went to sleep. */
  lastActive = 0;
  private sleptAt = 0;

  constructor(
    readonly id: string,
    actor: InfrastructureActor,
    readonly creationDate: number,
  ) {
    this.awake = actor;
  }

  /**
   * An infrastructure loaded from the store whose actor starts on first use: loading stays
   * cheap, and one that is only listed or read never runs an actor.
   */
  static sleeping(id: string, machine: typeof infrastructureMachine, persisted: unknown, creationDate: number): Infrastructure {
    const infrastructure = new Infrastructure(id, undefined as never, creationDate);
    infrastructure.machine = machine;
    infrastructure.asleep = persisted as PersistedInfrastructure;
    return infrastructure;
  }

  /** The actor, woken (restored from its snapshot and connected) if the infrastructure sleeps. */
  get actor(): InfrastructureActor {
    this.lastActive = performance.now();
    if (this.awake) return this.awake;
    // A stopped actor, which drops what it is sent.
    if (this.ended) return (this.endedActor ??= startActor(this.machine!, this.id, this.asleep));
    const actor = startActor(this.machine!, this.id, this.asleep);
    this.awake = actor;
    this.asleep = undefined;
    this.unwire = this.wire?.(actor);
    return actor;
  }

  get isAwake(): boolean {
    return this.awake !== undefined;
  }

  /** Starts the actor now (a deployment to resume must not wait for a call). */
  wake(): void {
    void this.actor;
  }

  /** How the service connects the actor, now and whenever it wakes. */
  connect(machine: typeof infrastructureMachine, wire: (actor: InfrastructureActor) => () => void): void {
    this.machine = machine;
    this.wire = wire;
    if (this.awake) this.unwire = wire(this.awake);
  }

  /**
   * Stops an idle actor and keeps its persisted snapshot, which holds all of its state (a
   * restart restores the same); VM descriptions that text rebuilds exactly are kept as text.
   * The next use wakes it. False when it is busy (adding VMs, being destroyed).
   */
  sleep(): boolean {
    if (this.ended) return false;
    if (this.awake) {
      if (!this.machine || this.awake.getSnapshot().value !== "idle") return false;
      this.asleep = this.disconnect(this.awake);
    }
    // Also for one already asleep whose VM descriptions a read has turned into models again.
    for (const vm of this.vms) sleepVmInfo(vm);
    this.sleptAt = performance.now();
    return true;
  }

  /** Awake, or asleep but used since it went to sleep. */
  get restless(): boolean {
    return this.awake !== undefined || this.lastActive > this.sleptAt;
  }

  /**
   * Stops the actor for good (shutdown, eviction), without waking one that sleeps; what it
   * held stays readable and is what a later write stores.
   */
  stopActor(): void {
    if (this.ended) return;
    this.ended = true;
    if (this.awake) {
      this.endedActor = this.awake;
      this.asleep = this.disconnect(this.awake);
    }
  }

  /** The actor's persisted snapshot, taken just before it stops. */
  private disconnect(actor: InfrastructureActor): PersistedInfrastructure {
    const persisted = persistedInfrastructure(actor) as PersistedInfrastructure;
    this.unwire?.();
    this.unwire = undefined;
    actor.stop();
    this.awake = undefined;
    return persisted;
  }

  get adding(): boolean {
    return this.awake ? this.awake.getSnapshot().matches("adding") : this.asleep!.value === "adding";
  }

  get destroying(): boolean {
    return this.awake ? this.awake.getSnapshot().matches("destroying") : this.asleep!.value === "destroying";
  }

  vmFacts(imId: number): VmFacts {
    this.lastActive = performance.now();
    if (!this.awake) return this.asleep!.children[vmActorId(imId)]!.snapshot.context;
    return (this.awake.getSnapshot().children[vmActorId(imId)]!.getSnapshot() as { context: VmFacts }).context;
  }

  vmState(imId: number): VmState {
    if (!this.awake) return this.asleep!.children[vmActorId(imId)]!.snapshot.value;
    return (this.awake.getSnapshot().children[vmActorId(imId)]!.getSnapshot() as { value: VmState }).value;
  }

  sendVm(imId: number, event: VmEvent): void {
    this.actor.send({ type: "VM", imId, event });
  }

  /** VMs that are not destroyed, in id order. */
  liveVms(): Vm[] {
    return this.vms.filter((vm) => !this.vmFacts(vm.imId).destroyed);
  }

  toRecord(): InfrastructureRecord {
    return {
      id: this.id,
      schemaVersion: RECORD_SCHEMA_VERSION,
      deleted: this.deleted,
      owners: this.owners,
      radl: this.radl,
      vms: this.vms.map(storedVm),
      contMsg: this.contMsg,
      configured: this.configured,
      privateNetworks: this.privateNetworks,
      snapshots: this.snapshots,
      creationDate: this.creationDate,
      lastDate: this.lastDate,
      batches: this.batches,
      vmMaster: this.vmMaster,
      actor: this.awake ? persistedInfrastructure(this.awake) : this.asleep,
    };
  }

  /** Copies the stored fields (not the actor) from a record. */
  assignRecord(record: InfrastructureRecord): void {
    Object.assign(this, {
      owners: record.owners,
      radl: record.radl,
      vms: record.vms.map(newVm),
      contMsg: record.contMsg,
      configured: record.configured,
      privateNetworks: record.privateNetworks,
      snapshots: record.snapshots,
      deleted: record.deleted,
      batches: record.batches,
      vmMaster: record.vmMaster,
      lastDate: record.lastDate,
    });
  }
}

/** The parts of an XState persisted snapshot that are read while an infrastructure sleeps. */
interface PersistedInfrastructure {
  value: unknown;
  children: Record<string, { snapshot: { value: VmState; context: VmFacts } } | undefined>;
}

// ---------------------------------------------------------------- VM descriptions kept as text

/** Each VM's description: its model, or RADL text not yet (or no longer) parsed. */
const descriptions = new WeakMap<Vm, Radl | string>();

/**
 * `info` of every VM, one accessor for all: the description is parsed when first read. A VM
 * object never turns a data property into an accessor, which would make V8 hold it as a slow
 * dictionary (~0.5 KiB more per VM).
 */
const INFO: PropertyDescriptor = {
  enumerable: true,
  get(this: Vm): Radl {
    const description = descriptions.get(this)!;
    if (typeof description !== "string") return description;
    const model = parseRadlText(description);
    descriptions.set(this, model);
    return model;
  },
  set(this: Vm, model: Radl): void {
    descriptions.set(this, model);
  },
};

/** A VM with the fields of `data`, in their order; `info` is a model, or RADL text parsed when first read. */
export function newVm(data: Omit<VmData, "info"> & { info: Radl | string }): Vm {
  const vm: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(data)) {
    if (key === "info") Object.defineProperty(vm, key, INFO);
    else vm[key] = value;
  }
  descriptions.set(vm as unknown as Vm, data.info);
  return vm as unknown as Vm;
}

/**
 * Keeps a VM's description as text when parsing the text gives back the same model (the same
 * structure, lines aside); a description with repeated constraints, which text would merge,
 * stays a model.
 */
function sleepVmInfo(vm: Vm): void {
  const model = descriptions.get(vm)!;
  if (typeof model === "string") return;
  const text = model.toString();
  let reread: Radl;
  try {
    reread = parseRadlText(text);
  } catch {
    return;
  }
  if (structureWithoutLines(reread) === structureWithoutLines(model)) descriptions.set(vm, text);
}

function structureWithoutLines(radl: Radl): string {
  return JSON.stringify(radlToStructure(radl), (key, value) => (key === "line" ? undefined : value));
}

/** The stored form of a VM, without building a model that is still text. */
function storedVm(vm: Vm): VmData {
  const data: Record<string, unknown> = {};
  for (const key of Object.keys(vm)) data[key] = key === "info" ? descriptions.get(vm)!.toString() : (vm as unknown as Record<string, unknown>)[key];
  return data as unknown as VmData;
}

/** IM's export format (§7.3), which ImportInfrastructure reads back. */
export function exportDocument(infrastructure: Infrastructure): Record<string, unknown> {
  return {
    id: infrastructure.id,
    vm_list: infrastructure.vms.map((vm) => {
      const facts = infrastructure.vmFacts(vm.imId);
      return {
        last_update: Math.floor(vm.lastUpdate / 1000),
        destroy: facts.destroyed,
        state: stateFromFacts({ ...facts, destroyed: false }),
        id: vm.providerId,
        im_id: vm.imId,
        creation_im_id: vm.imId,
        cloud: vm.cloud,
        info: vm.info.toString(),
        requested_radl: vm.requestedRadl,
        cont_out: vm.contMsg,
        configured: facts.configured,
        ctxt_pid: null,
        ssh_connect_errors: 0,
        creating: false,
        error_msg: vm.errorMsg,
        deleting: facts.deleting,
        creation_date: vm.creationDate,
      };
    }),
    auth: infrastructure.owners.map((owner) => ({ type: "InfrastructureManager", username: owner.username, salt: owner.salt, hash: owner.hash, admin: false })),
    radl: infrastructure.radl,
    private_networks: infrastructure.privateNetworks,
    system_counter: 0,
    deleted: infrastructure.deleted,
    vm_master: infrastructure.vmMaster,
    vm_id: 0,
    cont_out: infrastructure.contMsg,
    ansible_configured: null,
    configured: infrastructure.configured,
    extra_info: {},
    snapshots: infrastructure.snapshots,
    creation_date: infrastructure.creationDate,
  };
}

/** The VM data and facts of an exported VM; a VM whose contextualization had not finished is unconfigured. */
export function importVm(vm: Record<string, unknown>, index: number): { data: VmData; facts: Partial<VmFacts> } {
  const text = (key: string) => {
    if (typeof vm[key] !== "string") throw new Error(`'${key}'`);
    return vm[key] as string;
  };
  const info = text("info");
  parseRadlText(info);
  const state = typeof vm.state === "string" ? vm.state : "unknown";
  const providerState: ProviderState = isProviderState(state) ? state : state === "configured" || state === "unconfigured" ? "running" : "unknown";
  const providerId = typeof vm.id === "string" ? vm.id : vm.id == null ? null : String(vm.id);
  const cloud = (typeof vm.cloud === "object" && vm.cloud !== null ? vm.cloud : {}) as CloudEntry;
  const data: VmData = {
    imId: typeof vm.im_id === "number" ? vm.im_id : index,
    providerId,
    cloud: { id: String(cloud.id ?? ""), type: String(cloud.type ?? ""), server: String(cloud.server ?? ""), port: Number(cloud.port ?? -1), protocol: String(cloud.protocol ?? ""), path: String(cloud.path ?? ""), extra: {} },
    info,
    requestedRadl: typeof vm.requested_radl === "string" ? vm.requested_radl : info,
    errorMsg: typeof vm.error_msg === "string" ? vm.error_msg : null,
    contMsg: typeof vm.cont_out === "string" ? vm.cont_out : "",
    creationDate: typeof vm.creation_date === "number" ? vm.creation_date : 0,
    lastUpdate: 0,
  };
  const facts: Partial<VmFacts> = {
    providerState,
    configured: vm.configured === true,
    launchFailed: state === "failed" && providerId === null,
    destroyed: vm.destroy === true,
  };
  return { data, facts };
}

/** An infrastructure actor, new or restored from a stored snapshot. */
export function startActor(machine: typeof infrastructureMachine, id: string, snapshot?: unknown): InfrastructureActor {
  const actor = snapshot
    ? createActor(machine, { snapshot: snapshot as InfrastructureSnapshot, input: undefined as never })
    : createActor(machine, { input: { id } });
  return actor;
}
