import { assign, emit, fromCallback, sendTo, setup, spawnChild, type SnapshotFrom } from "xstate";
import type { CloudEntry } from "../auth.ts";
import type { ProviderState } from "../vm-state.ts";
import { vmMachine, type VmEvent, type VmFacts } from "./vm.machine.ts";

// One infrastructure: its lifecycle (idle, adding VMs, being destroyed, destroyed) and one
// spawned VM actor per VM. Launches run in the `adding` state as an invoked actor that the
// runtime provides; after a restart the restored actor re-invokes it, and the launches that had
// not reported back run again with the same idempotency keys, so no VM is created twice.

/** One launch call: `count` VMs of one deploy line on one cloud (IM behaviour §5.4, §5.5). */
export interface LaunchGroup {
  /** Identifies the launch across restarts; attempts add a suffix. */
  key: string;
  /** Position of the deploy line, for numbering the VMs in deploy order. */
  deployIndex: number;
  system: string;
  /** The chosen cloud (its parsed auth entry, no credentials). */
  cloud: CloudEntry;
  count: number;
  /** RADL text: the networks and the concrete system; null when the cloud cannot run it. */
  launchRadl: string | null;
  requestedRadl: string;
  /** Why the group cannot launch at all (no concrete system, no username). */
  failure: string | null;
}

/** What became of one VM of a group. */
export type VmOutcome =
  | { ok: true; providerId: string; info: string; state: ProviderState }
  | { ok: false; error: string; info: string };

export interface LaunchPlan {
  groups: LaunchGroup[];
  /** Outcomes per group key, filled in as launches report back. */
  outcomes: Record<string, VmOutcome[]>;
  /** Contextualize once the VMs are assembled. */
  contextualize: boolean;
}

export interface InfrastructureContext {
  id: string;
  plan: LaunchPlan | null;
  /** Ids of the VM actors spawned so far; a VM's IM id is its position. */
  vmCount: number;
}

export type InfrastructureEvent =
  | { type: "ADD"; plan: LaunchPlan }
  | { type: "GROUP_LAUNCHED"; key: string; outcomes: VmOutcome[] }
  | { type: "DEPLOY_FINISHED" }
  | { type: "DEPLOY_FAILED"; error: string }
  | { type: "ADD_VM"; facts: Partial<VmFacts> }
  | { type: "VM"; imId: number; event: VmEvent }
  | { type: "DESTROY_STARTED" }
  | { type: "DESTROY_FAILED" }
  | { type: "DESTROYED" };

export type InfrastructureEmitted =
  | { type: "deployFinished"; plan: LaunchPlan }
  | { type: "deployFailed"; plan: LaunchPlan; error: string };

export const vmActorId = (imId: number) => `vm-${imId}`;

export const infrastructureMachine = setup({
  types: {
    context: {} as InfrastructureContext,
    input: {} as { id: string },
    events: {} as InfrastructureEvent,
    emitted: {} as InfrastructureEmitted,
  },
  actors: {
    vm: vmMachine,
    /** Provided by the runtime: launches the plan's unfinished groups and reports each one. */
    deploy: fromCallback<InfrastructureEvent, { id: string; plan: LaunchPlan }>(() => {
      throw new Error("the runtime provides the deploy actor");
    }),
  },
}).createMachine({
  id: "infrastructure",
  context: ({ input }) => ({ id: input.id, plan: null, vmCount: 0 }),
  initial: "idle",
  on: {
    ADD_VM: {
      actions: [
        spawnChild("vm", { id: ({ context }) => vmActorId(context.vmCount), input: ({ event }) => (event as Extract<InfrastructureEvent, { type: "ADD_VM" }>).facts }),
        assign({ vmCount: ({ context }) => context.vmCount + 1 }),
      ],
    },
    VM: { actions: sendTo(({ event }) => vmActorId(event.imId), ({ event }) => event.event) },
  },
  states: {
    idle: {
      on: {
        ADD: { target: "adding", actions: assign({ plan: ({ event }) => event.plan }) },
        DESTROY_STARTED: "destroying",
      },
    },
    adding: {
      invoke: {
        src: "deploy",
        input: ({ context }) => ({ id: context.id, plan: context.plan! }),
        onError: {
          target: "idle",
          actions: [emit(({ context, event }) => ({ type: "deployFailed" as const, plan: context.plan!, error: String(event.error) })), assign({ plan: null })],
        },
      },
      on: {
        GROUP_LAUNCHED: {
          actions: assign({
            plan: ({ context, event }) => ({ ...context.plan!, outcomes: { ...context.plan!.outcomes, [event.key]: event.outcomes } }),
          }),
        },
        DEPLOY_FINISHED: {
          target: "idle",
          actions: [emit(({ context }) => ({ type: "deployFinished" as const, plan: context.plan! })), assign({ plan: null })],
        },
        DEPLOY_FAILED: {
          target: "idle",
          actions: [emit(({ context, event }) => ({ type: "deployFailed" as const, plan: context.plan!, error: event.error })), assign({ plan: null })],
        },
      },
    },
    destroying: {
      on: {
        DESTROY_FAILED: "idle",
        DESTROYED: "destroyed",
      },
    },
    destroyed: { type: "final" },
  },
});

export type InfrastructureSnapshot = SnapshotFrom<typeof infrastructureMachine>;

/**
 * The actor's persisted snapshot, with the running deploy actor's input brought up to date.
 * XState restores an invoked actor with the input it was started with; a resumed deployment
 * must see the groups that have already reported, so that it launches only the others.
 */
export function persistedInfrastructure(actor: { getPersistedSnapshot(): unknown; getSnapshot(): { context: InfrastructureContext } }): unknown {
  const snapshot = actor.getPersistedSnapshot() as { children?: Record<string, { src?: unknown; snapshot?: { input?: { plan?: LaunchPlan } } }> };
  const { plan } = actor.getSnapshot().context;
  for (const [key, child] of Object.entries(snapshot.children ?? {})) {
    // A copy: a callback actor's persisted snapshot is its live one.
    if (child.src === "deploy" && child.snapshot?.input && plan) snapshot.children![key] = { ...child, snapshot: { ...child.snapshot, input: { ...child.snapshot.input, plan } } };
  }
  return snapshot;
}
