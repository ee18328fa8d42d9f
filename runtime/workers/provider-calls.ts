import {
  ProviderError, defaultConnectionInfo, parseRadlText, radlFromStructure, radlToStructure,
  type AuthItem, type CloudEntry, type CloudProvider, type ConnectionInfo, type Logger, type OpContext, type ProviderState, type ProviderVm, type Radl, type RadlStructure,
} from "../../core/index.ts";

// The provider operations that run as worker tasks, and their JSON form: documents travel as
// RADL text, a VM's description as an exact structure (text would merge repeated constraints),
// errors as `{ ok: false, error }` envelopes (a thrown object would lose its class on the way).

/** A VM as it crosses the worker boundary. */
export interface VmJson {
  infrastructureId: string;
  imId: number;
  providerId: string | null;
  info: RadlStructure;
  state: ProviderState;
}

export interface ObservationJson {
  state: ProviderState;
  nativeState?: string;
  info?: RadlStructure;
}

export type LaunchResultJson = { ok: true; providerId: string; info: RadlStructure; state: ProviderState; nativeState?: string } | { ok: false; error: string };

/** Every operation: its arguments and its result, as JSON. */
export interface ProviderOps {
  concreteSystem: { args: { system: string }; result: string[] };
  launch: { args: { infrastructureId: string; idempotencyKey: string; radl: string; requestedRadl: string; count: number }; result: LaunchResultJson[] };
  observe: { args: { vm: VmJson }; result: ObservationJson };
  finalize: { args: { vm: VmJson; last: boolean }; result: null };
  start: { args: { vm: VmJson }; result: ObservationJson };
  stop: { args: { vm: VmJson }; result: ObservationJson };
  reboot: { args: { vm: VmJson }; result: ObservationJson };
  alter: { args: { vm: VmJson; system: string }; result: ObservationJson };
  createSnapshot: { args: { vm: VmJson; disk: number; imageName: string; autoDelete: boolean }; result: string };
  deleteImage: { args: { url: string }; result: null };
  listImages: { args: { filters: Record<string, string> }; result: Record<string, unknown>[] };
  getQuotas: { args: Record<string, never>; result: Record<string, { used: number; limit: number }> };
  connectionInfo: { args: { vm: VmJson }; result: ConnectionInfo | null };
}

export type ProviderOp = keyof ProviderOps;

export interface ProviderTask<Op extends ProviderOp = ProviderOp> {
  type: string;
  op: Op;
  cloud: CloudEntry;
  credentials: AuthItem[];
  args: ProviderOps[Op]["args"];
  /** Epoch milliseconds when the call is given up, and what its ctx.signal aborts with then. */
  deadline: { at: number; reason: string };
}

/**
 * Posted on the pool's broadcast channel once the grace period of its close is over: the
 * signals of every call in flight abort with SHUTDOWN_REASON, and calls that have not started
 * yet fail at once.
 */
export interface PoolShutdown {
  shutdown: true;
}

export const SHUTDOWN_REASON = "The server is shutting down";

export type Envelope<T> = { ok: true; value: T } | { ok: false; error: { code: string; message: string } };

/** The message shown when a provider lacks an optional operation. */
export function unsupported(type: string, op: ProviderOp): string {
  return `Operation ${op} not supported by the ${type} provider`;
}

/** Runs one operation against a provider and wraps the outcome. */
export async function runProviderOp(provider: CloudProvider, task: ProviderTask, log: Logger, signal: AbortSignal): Promise<Envelope<unknown>> {
  const ctx: OpContext = { signal, cloud: task.cloud, credentials: task.credentials, log };
  try {
    return { ok: true, value: await dispatch(provider, task, ctx) };
  } catch (error) {
    const code = error instanceof ProviderError ? error.kind : "terminal";
    return { ok: false, error: { code, message: error instanceof Error ? error.message : String(error) } };
  }
}

async function dispatch(provider: CloudProvider, task: ProviderTask, ctx: OpContext): Promise<unknown> {
  const need = <F>(fn: F | undefined): F => {
    if (!fn) throw new ProviderError(unsupported(provider.type, task.op));
    return fn;
  };
  const args = task.args as Record<string, unknown>;
  const vm = () => vmFromJson(args.vm as VmJson);
  switch (task.op) {
    case "concreteSystem": {
      const system = parseRadlText(args.system as string).systems[0];
      return (await provider.concreteSystem(system, ctx)).map((s) => singleSystemText(s));
    }
    case "launch": {
      const a = args as ProviderOps["launch"]["args"];
      const results = await provider.launch(
        { infrastructureId: a.infrastructureId, idempotencyKey: a.idempotencyKey, radl: parseRadlText(a.radl), requestedRadl: parseRadlText(a.requestedRadl), count: a.count },
        ctx,
      );
      return results.map((r) => (r.ok ? { ...r, info: radlToStructure(r.info) } : r));
    }
    case "observe": return observationJson(await provider.observe(vm(), ctx));
    case "finalize": return (await provider.finalize(vm(), args.last as boolean, ctx), null);
    case "start": return observationJson(await need(provider.start).call(provider, vm(), ctx));
    case "stop": return observationJson(await need(provider.stop).call(provider, vm(), ctx));
    case "reboot": return observationJson(await need(provider.reboot).call(provider, vm(), ctx));
    case "alter": {
      const system = parseRadlText(args.system as string).systems[0];
      return observationJson(await need(provider.alter).call(provider, vm(), system, ctx));
    }
    case "createSnapshot": {
      const a = args as ProviderOps["createSnapshot"]["args"];
      return need(provider.createSnapshot).call(provider, vm(), a.disk, a.imageName, a.autoDelete, ctx);
    }
    case "deleteImage": return (await need(provider.deleteImage).call(provider, args.url as string, ctx), null);
    case "listImages": return need(provider.listImages).call(provider, args.filters as Record<string, string>, ctx);
    case "getQuotas": return need(provider.getQuotas).call(provider, ctx);
    case "connectionInfo": return provider.connectionInfo ? provider.connectionInfo(vm()) : defaultConnectionInfo(vm());
  }
}

export function vmFromJson(vm: VmJson): ProviderVm {
  return { ...vm, info: radlFromStructure(vm.info) };
}

function observationJson(observation: { state: ProviderState; nativeState?: string; info?: Radl }): ObservationJson {
  const { info, ...rest } = observation;
  return info ? { ...rest, info: radlToStructure(info) } : rest;
}

/** A system alone as RADL text, the form systems take across the worker boundary. */
export function singleSystemText(system: { toString(): string; name: string; reference: boolean }): string {
  return system.reference ? `system ${system.name}` : `system ${system.name} (\n${system}\n)`;
}
