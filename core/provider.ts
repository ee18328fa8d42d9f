import type { AuthItem, CloudEntry } from "./auth.ts";
import type { Radl, System } from "./radl/index.ts";
import type { ProviderState } from "./vm-state.ts";

// The contract of a cloud provider plugin (IM behaviour §6.2). Providers run inside worker
// threads; everything they receive and return is rebuilt from plain JSON on each call.

export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/** What every provider call gets besides its arguments. */
export interface OpContext {
  /** Aborted when the call outlives its deadline, or the server shuts down (after a grace period). */
  signal: AbortSignal;
  /** The cloud the call is for: the caller's auth entry, parsed (§3.5). */
  cloud: CloudEntry;
  /** The caller's credentials of this provider's type, selected per call and never stored. */
  credentials: readonly AuthItem[];
  /** Bound to the infrastructure and VM; secrets are redacted. */
  log: Logger;
}

/** A VM as providers see it. */
export interface ProviderVm {
  infrastructureId: string;
  imId: number;
  /** The cloud's id of the VM; null for a placeholder whose launch failed. */
  providerId: string | null;
  /** The VM's current description: its networks and its system (live features included). */
  info: Radl;
  /** The last state the provider reported. */
  state: ProviderState;
}

export interface LaunchRequest {
  infrastructureId: string;
  /**
   * Identifies this launch: a second call with the same key (after a restart, say) must return
   * the VMs the first created instead of creating more.
   */
  idempotencyKey: string;
  /** The RADL to launch: the networks and the concrete system. */
  radl: Radl;
  /** The same with the system as the user wrote it. */
  requestedRadl: Radl;
  count: number;
}

/** One launched VM, or why it could not be launched. */
export type LaunchResult =
  | { ok: true; providerId: string; info: Radl; state: ProviderState; nativeState?: string }
  | { ok: false; error: string };

/** A VM's state as the cloud reports it; `info` when the description changed (IPs, say). */
export interface Observation {
  state: ProviderState;
  /** The cloud's own state name, for logs. */
  nativeState?: string;
  info?: Radl;
}

export interface ImageInfo {
  uri: string;
  name: string;
  [key: string]: unknown;
}

export type Quotas = Record<string, { used: number; limit: number }>;

/** How a contextualizer reaches a VM; null when it cannot be reached (e.g. a fake address). */
export interface ConnectionInfo {
  host: string;
  port: number;
  username: string;
  password?: string;
  privateKey?: string;
  /** A jump host, for VMs without a public address. */
  proxy?: ConnectionInfo;
}

/** Optional operations, declared so that callers and the conformance kit know what to expect. */
export type Capability = "start" | "stop" | "reboot" | "alter" | "snapshot" | "images" | "quotas";

export interface CloudProvider {
  /** The IM auth `type` this provider answers to, e.g. `Dummy`, `OpenStack`. */
  readonly type: string;
  readonly capabilities: readonly Capability[];
  /**
   * The variants of `system` this cloud can run (one per usable image, say); empty when it
   * cannot run it at all.
   */
  concreteSystem(system: System, ctx: OpContext): Promise<System[]>;
  /** Creates `count` VMs and returns exactly `count` results. Idempotent per key. */
  launch(request: LaunchRequest, ctx: OpContext): Promise<LaunchResult[]>;
  /** Reads the VM from the cloud (IM's updateVMInfo). Unknown native states map to `unknown`. */
  observe(vm: ProviderVm, ctx: OpContext): Promise<Observation>;
  /** Deletes the VM; must succeed for a placeholder without provider id. `last`: also delete shared resources. */
  finalize(vm: ProviderVm, last: boolean, ctx: OpContext): Promise<void>;
  start?(vm: ProviderVm, ctx: OpContext): Promise<Observation>;
  stop?(vm: ProviderVm, ctx: OpContext): Promise<Observation>;
  reboot?(vm: ProviderVm, ctx: OpContext): Promise<Observation>;
  /** Resizes or modifies the VM after `system` (which holds only the VM's system). */
  alter?(vm: ProviderVm, system: System, ctx: OpContext): Promise<Observation & { info: Radl }>;
  /** Returns the new image's URL. */
  createSnapshot?(vm: ProviderVm, disk: number, imageName: string, autoDelete: boolean, ctx: OpContext): Promise<string>;
  deleteImage?(url: string, ctx: OpContext): Promise<void>;
  listImages?(filters: Record<string, string>, ctx: OpContext): Promise<ImageInfo[]>;
  getQuotas?(ctx: OpContext): Promise<Quotas>;
  /**
   * How to reach the VM over SSH; null when it cannot be reached (a fake address, say).
   * Without it, the VM's public address (else its private one) and credentials are used.
   */
  connectionInfo?(vm: ProviderVm): ConnectionInfo | null;
}

/** How a provider failure should be treated. */
export type ProviderErrorKind = "retryable" | "quota" | "auth" | "terminal";

/** The error providers throw; its message is what IM users see. */
export class ProviderError extends Error {
  constructor(
    message: string,
    readonly kind: ProviderErrorKind = "terminal",
  ) {
    super(message);
    this.name = "ProviderError";
  }
}
