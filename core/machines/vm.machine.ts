import { assign, raise, setup, type SnapshotFrom } from "xstate";
import { VM_STATES, type ProviderState, type VmState } from "../vm-state.ts";

/**
 * What IM knows about a VM; its visible state follows from these facts (IM behaviour §4.2):
 * the provider's state, overlaid with contextualization results, deletion and reachability.
 */
export interface VmFacts {
  providerState: ProviderState;
  /** This VM's contextualization result: null while it runs (or before it ran). */
  configured: boolean | null;
  /** The infrastructure-level contextualization failed, so running VMs are unconfigured. */
  infraContextFailed: boolean;
  /** A placeholder for a VM whose launch failed: never refreshed. */
  launchFailed: boolean;
  /** No successful refresh within the grace period. */
  unreachable: boolean;
  deleting: boolean;
  destroyed: boolean;
}

export const INITIAL_FACTS: VmFacts = {
  providerState: "pending",
  configured: null,
  infraContextFailed: false,
  launchFailed: false,
  unreachable: false,
  deleting: false,
  destroyed: false,
};

/** The IM state the facts call for. */
export function stateFromFacts(facts: VmFacts): VmState {
  // A placeholder for a failed launch is never refreshed: it shows failed until it is gone.
  if (facts.launchFailed) return "failed";
  if (facts.destroyed) return "off";
  if (facts.deleting) return "deleting";
  if (facts.unreachable) return "unknown";
  if (facts.providerState !== "running") return facts.providerState;
  if (facts.infraContextFailed) return "unconfigured";
  if (facts.configured === null) return "running";
  return facts.configured ? "configured" : "unconfigured";
}

/**
 * The transitions the VM machine allows: the documented diagram (pending→running→configured→off,
 * pending→failed, running→unconfigured, configured→stopped, configured→running, stopped→pending,
 * configured→deleting) plus what IM behaviour §4.4 needs: provider-reported changes between any
 * live states, contextualization results and restarts, unreachable VMs, and deletion.
 */
export const VM_EDGES: Readonly<Record<VmState, readonly VmState[]>> = {
  pending: ["running", "configured", "unconfigured", "stopped", "off", "failed", "unknown", "deleting"],
  running: ["configured", "unconfigured", "pending", "stopped", "off", "failed", "unknown", "deleting"],
  configured: ["running", "unconfigured", "pending", "stopped", "off", "failed", "unknown", "deleting"],
  unconfigured: ["running", "configured", "pending", "stopped", "off", "failed", "unknown", "deleting"],
  stopped: ["pending", "running", "configured", "unconfigured", "off", "failed", "unknown", "deleting"],
  off: ["pending", "running", "configured", "unconfigured", "stopped", "failed", "unknown", "deleting"],
  failed: ["deleting", "off", "pending", "running", "configured", "unconfigured", "stopped", "unknown"],
  unknown: ["pending", "running", "configured", "unconfigured", "stopped", "off", "failed", "deleting"],
  deleting: ["off", "pending", "running", "configured", "unconfigured", "stopped", "failed", "unknown"],
};

export type VmEvent =
  | { type: "OBSERVED"; providerState: ProviderState }
  | { type: "UNREACHABLE" }
  | { type: "CONTEXT_STARTED" }
  | { type: "CONTEXT_FINISHED"; ok: boolean }
  | { type: "INFRA_CONTEXT_FAILED" }
  | { type: "FINALIZE_STARTED" }
  | { type: "FINALIZE_FAILED" }
  | { type: "FINALIZED" }
  | { type: "ROUTE" };

type FactEvent = Exclude<VmEvent, { type: "ROUTE" }>;

/** How each event changes the facts; every change is followed by a ROUTE to the new state. */
function updateFacts(facts: VmFacts, event: FactEvent): Partial<VmFacts> {
  switch (event.type) {
    case "OBSERVED": return { providerState: event.providerState, unreachable: false };
    case "UNREACHABLE": return { unreachable: true };
    case "CONTEXT_STARTED": return { configured: null, infraContextFailed: false };
    case "CONTEXT_FINISHED": return { configured: event.ok };
    case "INFRA_CONTEXT_FAILED": return { infraContextFailed: true, configured: facts.configured ?? false };
    case "FINALIZE_STARTED": return { deleting: true };
    case "FINALIZE_FAILED": return { deleting: false };
    case "FINALIZED": return { deleting: false, destroyed: true };
  }
}

const FACT_EVENTS = ["OBSERVED", "UNREACHABLE", "CONTEXT_STARTED", "CONTEXT_FINISHED", "INFRA_CONTEXT_FAILED", "FINALIZE_STARTED", "FINALIZE_FAILED", "FINALIZED"] as const;

const machineSetup = setup({
  types: { context: {} as VmFacts, input: {} as Partial<VmFacts>, events: {} as VmEvent },
  actions: {
    recordFacts: assign(({ context, event }) => updateFacts(context, event as FactEvent)),
    route: raise({ type: "ROUTE" }),
  },
  guards: {
    factsCallFor: ({ context }, params: { state: VmState }) => stateFromFacts(context) === params.state,
  },
});

/**
 * One VM. Its top-level states are IM's nine state strings; events report facts (a provider
 * observation, a contextualization result, a finalization) and the machine moves along an
 * allowed edge to the state the facts call for. Pure: the runtime performs the I/O.
 */
export const vmMachine = machineSetup.createMachine({
  id: "vm",
  context: ({ input }) => ({ ...INITIAL_FACTS, ...input }),
  initial: "pending",
  entry: "route",
  on: Object.fromEntries(FACT_EVENTS.map((type) => [type, { actions: ["recordFacts", "route"] as const }])),
  states: Object.fromEntries(
    VM_STATES.map((state) => [
      state,
      { on: { ROUTE: VM_EDGES[state].map((target) => ({ guard: { type: "factsCallFor", params: { state: target } }, target })) } },
    ]),
  ) as Record<VmState, object>,
});

export type VmSnapshot = SnapshotFrom<typeof vmMachine>;

/** The snapshot of a VM restored from stored facts, in the state they call for. */
export function restoreVmSnapshot(facts: VmFacts): VmSnapshot {
  return vmMachine.resolveState({ value: stateFromFacts(facts), context: facts });
}
