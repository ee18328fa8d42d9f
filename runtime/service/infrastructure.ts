import { createActor, type Actor } from "xstate";
import {
  parseRadlText, stateFromFacts, isProviderState,
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
 * (re-reading it from text would merge repeated constraints that clients see).
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

  constructor(
    readonly id: string,
    readonly actor: InfrastructureActor,
    readonly creationDate: number,
  ) {}

  get snapshot(): InfrastructureSnapshot {
    return this.actor.getSnapshot();
  }

  get adding(): boolean {
    return this.snapshot.matches("adding");
  }

  get destroying(): boolean {
    return this.snapshot.matches("destroying");
  }

  vmFacts(imId: number): VmFacts {
    return (this.snapshot.children[vmActorId(imId)]!.getSnapshot() as { context: VmFacts }).context;
  }

  vmState(imId: number): VmState {
    return (this.snapshot.children[vmActorId(imId)]!.getSnapshot() as { value: VmState }).value;
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
      vms: this.vms.map((vm) => ({ ...vm, info: vm.info.toString() })),
      contMsg: this.contMsg,
      configured: this.configured,
      privateNetworks: this.privateNetworks,
      snapshots: this.snapshots,
      creationDate: this.creationDate,
      lastDate: this.lastDate,
      batches: this.batches,
      vmMaster: this.vmMaster,
      actor: persistedInfrastructure(this.actor),
    };
  }

  /** Copies the stored fields (not the actor) from a record. */
  assignRecord(record: InfrastructureRecord): void {
    Object.assign(this, {
      owners: record.owners,
      radl: record.radl,
      vms: record.vms.map((vm) => ({ ...vm, info: parseRadlText(vm.info) })),
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
