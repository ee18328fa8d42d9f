import assert from "node:assert/strict";
import { test } from "node:test";
import { createActor } from "xstate";
import {
  INITIAL_FACTS, VM_EDGES, restoreVmSnapshot, stateFromFacts, vmMachine, type VmEvent, type VmFacts, type VmSnapshot,
} from "../../../core/machines/vm.machine.ts";
import { PROVIDER_STATES, VM_STATES, type VmState } from "../../../core/vm-state.ts";

// The VM machine (IM behaviour §4.1, §4.2, §4.4): its graph is exactly VM_EDGES, the documented
// diagram is reachable through fact events, and it always rests in the state its facts call for.

type FactEvent = Exclude<VmEvent, { type: "ROUTE" }>;

/** Every fact event the runtime can send. */
const FACT_EVENTS: FactEvent[] = [
  ...PROVIDER_STATES.map((providerState): FactEvent => ({ type: "OBSERVED", providerState })),
  { type: "UNREACHABLE" },
  { type: "CONTEXT_STARTED" },
  { type: "CONTEXT_FINISHED", ok: true },
  { type: "CONTEXT_FINISHED", ok: false },
  { type: "INFRA_CONTEXT_FAILED" },
  { type: "FINALIZE_STARTED" },
  { type: "FINALIZE_FAILED" },
  { type: "FINALIZED" },
];

const describeEvent = (event: FactEvent) =>
  event.type === "OBSERVED" ? `OBSERVED(${event.providerState})` : event.type === "CONTEXT_FINISHED" ? `CONTEXT_FINISHED(${event.ok})` : event.type;

/** Every combination of facts. */
function allFacts(): VmFacts[] {
  const result: VmFacts[] = [];
  for (const providerState of PROVIDER_STATES)
    for (const configured of [null, true, false])
      for (const infraContextFailed of [false, true])
        for (const launchFailed of [false, true])
          for (const unreachable of [false, true])
            for (const deleting of [false, true])
              for (const destroyed of [false, true])
                result.push({ providerState, configured, infraContextFailed, launchFailed, unreachable, deleting, destroyed });
  return result;
}

const startFrom = (snapshot: VmSnapshot) => createActor(vmMachine, { snapshot, input: {} }).start();

/** The snapshot after one event, through a real actor restored from `snapshot`. */
function step(snapshot: VmSnapshot, event: FactEvent): VmSnapshot {
  const actor = startFrom(snapshot);
  actor.send(event);
  const next = actor.getSnapshot();
  actor.stop();
  return next;
}

const valueOf = (snapshot: VmSnapshot) => snapshot.value as VmState;
const keyOf = (snapshot: VmSnapshot) => JSON.stringify([snapshot.value, snapshot.context]);

/** Breadth-first search over fact events from `start`; the state edges seen, each with a shortest event path. */
function explore(start: VmSnapshot): { edges: Map<string, FactEvent[]>; snapshots: VmSnapshot[] } {
  const seen = new Map<string, FactEvent[]>([[keyOf(start), []]]);
  const queue: VmSnapshot[] = [start];
  const snapshots: VmSnapshot[] = [];
  const edges = new Map<string, FactEvent[]>();
  while (queue.length > 0) {
    const snapshot = queue.shift()!;
    snapshots.push(snapshot);
    const path = seen.get(keyOf(snapshot))!;
    for (const event of FACT_EVENTS) {
      const next = step(snapshot, event);
      const edge = `${valueOf(snapshot)}->${valueOf(next)}`;
      if (valueOf(next) !== valueOf(snapshot) && !edges.has(edge)) edges.set(edge, [...path, event]);
      if (!seen.has(keyOf(next))) {
        seen.set(keyOf(next), [...path, event]);
        queue.push(next);
      }
    }
  }
  return { edges, snapshots };
}

const initialActor = () => createActor(vmMachine, { input: {} }).start();

// ------------------------------------------------------------------------------ (a) the graph

test("the machine's states are IM's nine state strings, starting at pending", () => {
  assert.deepEqual(Object.keys(vmMachine.states).sort(), [...VM_STATES].sort());
  assert.equal(initialActor().getSnapshot().value, "pending");
  assert.deepEqual(Object.keys(VM_EDGES).sort(), [...VM_STATES].sort());
});

test("each state's ROUTE transitions are exactly its VM_EDGES, each guarded by the facts calling for its target", () => {
  for (const state of VM_STATES) {
    const node = vmMachine.states[state]!;
    const routes = node.on.ROUTE ?? [];
    const targets = routes.map((transition) => {
      assert.equal(transition.target?.length, 1, `${state}: one target per transition`);
      const target = transition.target![0]!.key;
      assert.deepEqual(transition.guard, { type: "factsCallFor", params: { state: target } }, `${state} -> ${target} is guarded`);
      return target;
    });
    assert.deepEqual(targets, [...VM_EDGES[state]], `${state}: transitions equal VM_EDGES`);
    assert.equal(new Set(targets).size, targets.length, `${state}: no duplicate edges`);
    assert.ok(!targets.includes(state), `${state}: no self edge`);
  }
});

test("no other edge exists: no other events, eventless or delayed transitions in the states, and the root's fact events have no target", () => {
  for (const state of VM_STATES) {
    const node = vmMachine.states[state]!;
    assert.deepEqual(Object.keys(node.on), ["ROUTE"], `${state} handles only ROUTE`);
    assert.equal(node.always?.length ?? 0, 0, `${state} has no eventless transitions`);
    assert.equal(node.after.length, 0, `${state} has no delayed transitions`);
    assert.deepEqual(Object.keys(node.states), [], `${state} is atomic`);
    assert.equal(node.invoke.length, 0, `${state} invokes nothing`);
  }
  const root = vmMachine.root;
  assert.equal(root.always?.length ?? 0, 0);
  assert.equal(root.after.length, 0);
  const rootEvents = Object.keys(root.on).sort();
  assert.deepEqual(rootEvents, [...new Set(FACT_EVENTS.map((e) => e.type))].sort(), "the root handles exactly the fact events");
  for (const type of rootEvents) {
    for (const transition of root.on[type]!) assert.equal(transition.target, undefined, `${type} only records facts and routes`);
  }
});

test("every edge of the documented diagram (§4.1) is reachable from the initial state by fact events", () => {
  const { edges } = explore(initialActor().getSnapshot());
  const diagram: [VmState, VmState][] = [
    ["pending", "running"], ["running", "configured"], ["configured", "off"], ["pending", "failed"],
    ["running", "unconfigured"], ["configured", "stopped"], ["configured", "running"], ["stopped", "pending"],
    ["configured", "deleting"],
  ];
  for (const [from, to] of diagram) {
    assert.ok(VM_EDGES[from].includes(to), `${from} -> ${to} is an allowed edge`);
    assert.ok(edges.has(`${from}->${to}`), `${from} -> ${to} is reachable`);
  }
  // Every edge the search used is an allowed one.
  for (const edge of edges.keys()) {
    const [from, to] = edge.split("->") as [VmState, VmState];
    assert.ok(VM_EDGES[from].includes(to), `${edge} is in VM_EDGES`);
  }
});

test("the documented lifecycle, event by event", () => {
  const actor = initialActor();
  const expectSequence: [FactEvent, VmState][] = [
    [{ type: "OBSERVED", providerState: "running" }, "running"],
    [{ type: "CONTEXT_FINISHED", ok: true }, "configured"],
    [{ type: "CONTEXT_STARTED" }, "running"],
    [{ type: "CONTEXT_FINISHED", ok: true }, "configured"],
    [{ type: "OBSERVED", providerState: "stopped" }, "stopped"],
    [{ type: "OBSERVED", providerState: "pending" }, "pending"],
    // StartVM: running again, and configured per the previous result, without re-contextualizing (§4.4).
    [{ type: "OBSERVED", providerState: "running" }, "configured"],
    [{ type: "UNREACHABLE" }, "unknown"],
    [{ type: "OBSERVED", providerState: "running" }, "configured"],
    [{ type: "FINALIZE_STARTED" }, "deleting"],
    [{ type: "FINALIZE_FAILED" }, "configured"],
    [{ type: "FINALIZE_STARTED" }, "deleting"],
    [{ type: "FINALIZED" }, "off"],
    [{ type: "OBSERVED", providerState: "running" }, "off"],
  ];
  for (const [event, expected] of expectSequence) {
    actor.send(event);
    assert.equal(actor.getSnapshot().value, expected, `after ${describeEvent(event)}`);
  }
  assert.equal(actor.getSnapshot().status, "active");
});

test("pending -> failed, running -> unconfigured, and the infrastructure-level failure", () => {
  const failed = initialActor();
  failed.send({ type: "OBSERVED", providerState: "failed" });
  assert.equal(failed.getSnapshot().value, "failed");

  const unconfigured = initialActor();
  unconfigured.send({ type: "OBSERVED", providerState: "running" });
  unconfigured.send({ type: "CONTEXT_FINISHED", ok: false });
  assert.equal(unconfigured.getSnapshot().value, "unconfigured");

  const infra = initialActor();
  infra.send({ type: "OBSERVED", providerState: "running" });
  infra.send({ type: "INFRA_CONTEXT_FAILED" });
  assert.equal(infra.getSnapshot().value, "unconfigured");
  infra.send({ type: "CONTEXT_STARTED" });
  assert.equal(infra.getSnapshot().value, "running", "a new contextualization clears the failure");
});

test("the machine always rests in the state its facts call for, after any fact event from any facts", () => {
  const mismatches: string[] = [];
  for (const facts of allFacts()) {
    const start = restoreVmSnapshot(facts);
    for (const event of FACT_EVENTS) {
      const next = step(start, event);
      const expected = stateFromFacts(next.context);
      if (next.value !== expected) {
        mismatches.push(`${start.value} + ${describeEvent(event)}: machine ${String(next.value)}, facts call for ${expected} (${JSON.stringify(next.context)})`);
      }
    }
  }
  assert.deepEqual(mismatches.slice(0, 10), [], `${mismatches.length} mismatches`);
});

test("along every path from the initial state the machine agrees with its facts", () => {
  const { snapshots } = explore(initialActor().getSnapshot());
  assert.ok(snapshots.length > 50, "the search explores many situations");
  for (const snapshot of snapshots) assert.equal(snapshot.value, stateFromFacts(snapshot.context), JSON.stringify(snapshot.context));
});

test("input facts are routed to at once: a VM created from facts starts in their state", () => {
  for (const facts of allFacts()) {
    const actor = createActor(vmMachine, { input: facts }).start();
    assert.equal(actor.getSnapshot().value, stateFromFacts(facts), JSON.stringify(facts));
    actor.stop();
  }
  assert.deepEqual(initialActor().getSnapshot().context, INITIAL_FACTS);
});

// ------------------------------------------------------------------------------ (b) facts → state

const facts = (overrides: Partial<VmFacts>): VmFacts => ({ ...INITIAL_FACTS, ...overrides });

test("stateFromFacts follows §4.2", () => {
  const table: [string, Partial<VmFacts>, VmState][] = [
    ["a destroyed VM is off", { destroyed: true }, "off"],
    ["destroyed wins over a running configured VM", { destroyed: true, providerState: "running", configured: true }, "off"],
    ["destroyed wins over deleting and unreachable", { destroyed: true, deleting: true, unreachable: true }, "off"],
    ["a VM being finalised is deleting", { deleting: true, providerState: "running", configured: true }, "deleting"],
    ["deleting wins over unreachable", { deleting: true, unreachable: true }, "deleting"],
    ["a launch-failed placeholder is failed", { launchFailed: true, providerState: "failed" }, "failed"],
    ["a launch-failed placeholder is never refreshed, so never unknown", { launchFailed: true, unreachable: true }, "failed"],
    ["an unreachable VM is unknown", { unreachable: true, providerState: "running", configured: true }, "unknown"],
    ["an unreachable stopped VM is unknown", { unreachable: true, providerState: "stopped" }, "unknown"],
    ["running with contextualization pending is running", { providerState: "running", configured: null }, "running"],
    ["running and configured", { providerState: "running", configured: true }, "configured"],
    ["running and contextualization failed", { providerState: "running", configured: false }, "unconfigured"],
    ["infrastructure contextualization failed: unconfigured", { providerState: "running", infraContextFailed: true }, "unconfigured"],
    ["infrastructure failure overrides the VM's success", { providerState: "running", configured: true, infraContextFailed: true }, "unconfigured"],
    ["infrastructure failure with the VM failed too", { providerState: "running", configured: false, infraContextFailed: true }, "unconfigured"],
  ];
  for (const [name, overrides, expected] of table) assert.equal(stateFromFacts(facts(overrides)), expected, name);
});

test("stateFromFacts: every other provider state passes through, whatever the contextualization", () => {
  for (const providerState of PROVIDER_STATES.filter((s) => s !== "running")) {
    for (const configured of [null, true, false]) {
      for (const infraContextFailed of [false, true]) {
        assert.equal(stateFromFacts(facts({ providerState, configured, infraContextFailed })), providerState, `${providerState} ${configured} ${infraContextFailed}`);
      }
    }
  }
});

test("stateFromFacts over every combination: configured/unconfigured only for provider running, deleting only while finalising, plain facts pass through", () => {
  for (const f of allFacts()) {
    const state = stateFromFacts(f);
    if (state === "configured" || state === "unconfigured") assert.equal(f.providerState, "running");
    if (state === "deleting") assert.ok(f.deleting && !f.destroyed);
    if (!f.destroyed && !f.deleting && !f.launchFailed && !f.unreachable && f.providerState !== "running") assert.equal(state, f.providerState);
  }
});

// ------------------------------------------------------------------------------ (c) restore

test("restoreVmSnapshot gives the facts' state and keeps the facts", () => {
  for (const f of allFacts()) {
    const snapshot = restoreVmSnapshot(f);
    assert.equal(snapshot.value, stateFromFacts(f), JSON.stringify(f));
    assert.deepEqual(snapshot.context, f);
    const actor = startFrom(snapshot);
    assert.equal(actor.getSnapshot().value, stateFromFacts(f), "a restored actor starts in that state");
    assert.equal(actor.getSnapshot().status, "active");
    actor.stop();
  }
});

test("a restored VM goes on from its facts", () => {
  const actor = startFrom(restoreVmSnapshot(facts({ providerState: "stopped", configured: true })));
  assert.equal(actor.getSnapshot().value, "stopped");
  actor.send({ type: "OBSERVED", providerState: "running" });
  assert.equal(actor.getSnapshot().value, "configured");
  actor.send({ type: "FINALIZED" });
  assert.equal(actor.getSnapshot().value, "off");
});

test("a persisted VM snapshot survives JSON and resumes in the same state", () => {
  const actor = initialActor();
  actor.send({ type: "OBSERVED", providerState: "running" });
  actor.send({ type: "CONTEXT_FINISHED", ok: false });
  const persisted = JSON.parse(JSON.stringify(actor.getPersistedSnapshot())) as VmSnapshot;
  const restored = startFrom(persisted);
  assert.equal(restored.getSnapshot().value, "unconfigured");
  restored.send({ type: "CONTEXT_STARTED" });
  assert.equal(restored.getSnapshot().value, "running");
});
