import assert from "node:assert/strict";
import { test } from "node:test";
import { createActor, fromCallback, type AnyActorRef } from "xstate";
import {
  infrastructureMachine, persistedInfrastructure, vmActorId,
  type InfrastructureEmitted, type InfrastructureEvent, type InfrastructureSnapshot, type LaunchGroup, type LaunchPlan, type VmOutcome,
} from "../../../core/machines/infrastructure.machine.ts";
import type { VmFacts } from "../../../core/machines/vm.machine.ts";

// The infrastructure machine: idle → adding (the runtime's deploy actor launches the plan) →
// idle, destroying → destroyed, and one VM child per VM. A snapshot persisted mid-deployment
// resumes the deployment with what had already been launched (the restart-resume guarantee).

type DeployInput = { id: string; plan: LaunchPlan };

interface DeployCall {
  input: DeployInput;
  sendBack: (event: InfrastructureEvent) => void;
  stopped: boolean;
}

/** The machine with a deploy actor that records its invocations; `behaviour` may throw or report. */
function withRecordingDeploy(behaviour?: (call: DeployCall) => void) {
  const calls: DeployCall[] = [];
  const deploy = fromCallback<InfrastructureEvent, DeployInput>(({ input, sendBack }) => {
    const call: DeployCall = { input: structuredClone(input), sendBack, stopped: false };
    calls.push(call);
    behaviour?.(call);
    return () => {
      call.stopped = true;
    };
  });
  return { machine: infrastructureMachine.provide({ actors: { deploy } }), calls };
}

const group = (key: string, deployIndex = 0, count = 1): LaunchGroup => ({
  key,
  deployIndex,
  system: `sys${deployIndex}`,
  cloud: { id: "dummy", type: "Dummy", server: "", port: -1, protocol: "", path: "", extra: {} },
  count,
  launchRadl: `system sys${deployIndex} ()`,
  requestedRadl: `system sys${deployIndex} ()`,
  failure: null,
});

const plan = (...keys: string[]): LaunchPlan => ({ groups: keys.map((k, i) => group(k, i)), outcomes: {}, contextualize: true });

const ok = (providerId: string): VmOutcome => ({ ok: true, providerId, info: `info ${providerId}`, state: "running" });
const failure = (error: string): VmOutcome => ({ ok: false, error, info: "requested" });

function collectEmitted(actor: { on: (type: "*", handler: (event: InfrastructureEmitted) => void) => unknown }) {
  const emitted: InfrastructureEmitted[] = [];
  actor.on("*", (event) => emitted.push(structuredClone(event)));
  return emitted;
}

const vmChild = (snapshot: InfrastructureSnapshot, imId: number) => snapshot.children[vmActorId(imId)] as AnyActorRef | undefined;
const vmValue = (snapshot: InfrastructureSnapshot, imId: number) => vmChild(snapshot, imId)?.getSnapshot().value as string | undefined;
const vmFacts = (snapshot: InfrastructureSnapshot, imId: number) => vmChild(snapshot, imId)?.getSnapshot().context as VmFacts | undefined;

test("a new infrastructure is idle, with no plan and no VMs", () => {
  const { machine, calls } = withRecordingDeploy();
  const actor = createActor(machine, { input: { id: "inf-1" } }).start();
  assert.equal(actor.getSnapshot().value, "idle");
  assert.deepEqual(actor.getSnapshot().context, { id: "inf-1", plan: null, vmCount: 0 });
  assert.equal(calls.length, 0);
});

test("ADD moves to adding and invokes the provided deploy actor with the id and the plan", () => {
  const { machine, calls } = withRecordingDeploy();
  const actor = createActor(machine, { input: { id: "inf-1" } }).start();
  const p = plan("g0", "g1");
  actor.send({ type: "ADD", plan: p });
  assert.equal(actor.getSnapshot().value, "adding");
  assert.equal(calls.length, 1);
  assert.deepEqual(calls[0]!.input, { id: "inf-1", plan: p });
  assert.deepEqual(actor.getSnapshot().context.plan, p);
});

test("GROUP_LAUNCHED records each group's outcomes in the plan", () => {
  const { machine, calls } = withRecordingDeploy();
  const actor = createActor(machine, { input: { id: "inf-1" } }).start();
  actor.send({ type: "ADD", plan: plan("g0", "g1", "g2") });
  calls[0]!.sendBack({ type: "GROUP_LAUNCHED", key: "g1", outcomes: [ok("a"), failure("quota")] });
  actor.send({ type: "GROUP_LAUNCHED", key: "g0", outcomes: [ok("b")] });
  const { context, value } = actor.getSnapshot();
  assert.equal(value, "adding");
  assert.deepEqual(context.plan!.outcomes, { g1: [ok("a"), failure("quota")], g0: [ok("b")] });
  assert.equal(context.plan!.groups.length, 3, "the groups are kept");
  assert.equal(calls.length, 1, "recording an outcome does not restart the deployment");
  assert.equal(calls[0]!.stopped, false);
});

test("GROUP_LAUNCHED outside a deployment is ignored", () => {
  const { machine } = withRecordingDeploy();
  const actor = createActor(machine, { input: { id: "inf-1" } }).start();
  actor.send({ type: "GROUP_LAUNCHED", key: "g0", outcomes: [ok("a")] });
  assert.equal(actor.getSnapshot().value, "idle");
  assert.equal(actor.getSnapshot().context.plan, null);
});

test("DEPLOY_FINISHED emits deployFinished with the plan and its outcomes, and returns to idle", () => {
  const { machine, calls } = withRecordingDeploy();
  const actor = createActor(machine, { input: { id: "inf-1" } }).start();
  const emitted = collectEmitted(actor);
  const p = plan("g0", "g1");
  actor.send({ type: "ADD", plan: p });
  calls[0]!.sendBack({ type: "GROUP_LAUNCHED", key: "g0", outcomes: [ok("a")] });
  calls[0]!.sendBack({ type: "GROUP_LAUNCHED", key: "g1", outcomes: [failure("no")] });
  calls[0]!.sendBack({ type: "DEPLOY_FINISHED" });
  assert.deepEqual(emitted, [{ type: "deployFinished", plan: { ...p, outcomes: { g0: [ok("a")], g1: [failure("no")] } } }]);
  assert.equal(actor.getSnapshot().value, "idle");
  assert.equal(actor.getSnapshot().context.plan, null);
  assert.equal(calls[0]!.stopped, true, "the deploy actor is stopped on leaving adding");
  assert.equal(actor.getSnapshot().status, "active");

  // A second AddResource invokes a fresh deployment.
  actor.send({ type: "ADD", plan: plan("h0") });
  assert.equal(calls.length, 2);
  assert.deepEqual(calls[1]!.input.plan, plan("h0"));
});

test("DEPLOY_FAILED emits deployFailed with the plan and the error, and returns to idle", () => {
  const { machine, calls } = withRecordingDeploy();
  const actor = createActor(machine, { input: { id: "inf-1" } }).start();
  const emitted = collectEmitted(actor);
  const p = plan("g0");
  actor.send({ type: "ADD", plan: p });
  calls[0]!.sendBack({ type: "GROUP_LAUNCHED", key: "g0", outcomes: [ok("a")] });
  calls[0]!.sendBack({ type: "DEPLOY_FAILED", error: "the store is gone" });
  assert.deepEqual(emitted, [{ type: "deployFailed", plan: { ...p, outcomes: { g0: [ok("a")] } }, error: "the store is gone" }]);
  assert.equal(actor.getSnapshot().value, "idle");
  assert.equal(actor.getSnapshot().context.plan, null);
  assert.equal(actor.getSnapshot().status, "active");
  assert.equal(calls[0]!.stopped, true);
});

test("a deploy actor that throws emits deployFailed; the infrastructure actor never ends in error", () => {
  let attempt = 0;
  const { machine, calls } = withRecordingDeploy(() => {
    attempt += 1;
    if (attempt === 1) throw new Error("launcher exploded");
  });
  const actor = createActor(machine, { input: { id: "inf-1" } }).start();
  const errors: unknown[] = [];
  actor.subscribe({ error: (error) => errors.push(error) });
  const emitted = collectEmitted(actor);
  const p = plan("g0");
  actor.send({ type: "ADD", plan: p });
  assert.equal(emitted.length, 1);
  const [event] = emitted;
  assert.equal(event!.type, "deployFailed");
  assert.deepEqual(event!.type === "deployFailed" && event.plan, p);
  assert.match(event!.type === "deployFailed" ? event.error : "", /launcher exploded/);
  const snapshot = actor.getSnapshot();
  assert.equal(snapshot.value, "idle");
  assert.equal(snapshot.status, "active");
  assert.equal(snapshot.error, undefined);
  assert.deepEqual(errors, []);
  assert.equal(snapshot.context.plan, null);

  // The infrastructure is still usable.
  actor.send({ type: "ADD", plan: plan("g1") });
  assert.equal(actor.getSnapshot().value, "adding");
  assert.equal(calls.length, 2);
  calls[1]!.sendBack({ type: "DEPLOY_FINISHED" });
  assert.equal(actor.getSnapshot().value, "idle");
  assert.equal(actor.getSnapshot().status, "active");
});

test("the default deploy actor (not provided) also ends as deployFailed, not as an actor error", () => {
  const actor = createActor(infrastructureMachine, { input: { id: "inf-1" } }).start();
  const emitted = collectEmitted(actor);
  actor.send({ type: "ADD", plan: plan("g0") });
  assert.equal(emitted.length, 1);
  assert.equal(emitted[0]!.type, "deployFailed");
  assert.equal(actor.getSnapshot().status, "active");
  assert.equal(actor.getSnapshot().value, "idle");
});

test("ADD_VM spawns VM children numbered in order, and VM events reach only the addressed VM", () => {
  const { machine } = withRecordingDeploy();
  const actor = createActor(machine, { input: { id: "inf-1" } }).start();
  actor.send({ type: "ADD_VM", facts: { providerState: "running" } });
  actor.send({ type: "ADD_VM", facts: { providerState: "running", configured: true } });
  actor.send({ type: "ADD_VM", facts: { providerState: "failed", launchFailed: true } });
  let snapshot = actor.getSnapshot();
  assert.equal(snapshot.context.vmCount, 3);
  assert.deepEqual(Object.keys(snapshot.children).filter((id) => id.startsWith("vm-")).sort(), ["vm-0", "vm-1", "vm-2"]);
  assert.equal(vmValue(snapshot, 0), "running");
  assert.equal(vmValue(snapshot, 1), "configured");
  assert.equal(vmValue(snapshot, 2), "failed");
  assert.equal(vmFacts(snapshot, 2)!.launchFailed, true);

  actor.send({ type: "VM", imId: 0, event: { type: "CONTEXT_FINISHED", ok: false } });
  actor.send({ type: "VM", imId: 1, event: { type: "OBSERVED", providerState: "stopped" } });
  snapshot = actor.getSnapshot();
  assert.equal(vmValue(snapshot, 0), "unconfigured");
  assert.equal(vmValue(snapshot, 1), "stopped");
  assert.equal(vmValue(snapshot, 2), "failed");

  actor.send({ type: "VM", imId: 1, event: { type: "FINALIZE_STARTED" } });
  assert.equal(vmValue(actor.getSnapshot(), 1), "deleting");
  actor.send({ type: "VM", imId: 1, event: { type: "FINALIZED" } });
  assert.equal(vmValue(actor.getSnapshot(), 1), "off");
  assert.equal(vmFacts(actor.getSnapshot(), 1)!.destroyed, true);
  assert.equal(actor.getSnapshot().status, "active");
});

test("VM children live through a deployment and VMs can be added while adding", () => {
  const { machine, calls } = withRecordingDeploy();
  const actor = createActor(machine, { input: { id: "inf-1" } }).start();
  actor.send({ type: "ADD_VM", facts: { providerState: "running", configured: true } });
  actor.send({ type: "ADD", plan: plan("g0") });
  actor.send({ type: "ADD_VM", facts: {} });
  calls[0]!.sendBack({ type: "DEPLOY_FINISHED" });
  const snapshot = actor.getSnapshot();
  assert.equal(snapshot.value, "idle");
  assert.equal(snapshot.context.vmCount, 2);
  assert.equal(vmValue(snapshot, 0), "configured");
  assert.equal(vmValue(snapshot, 1), "pending");
  assert.equal(snapshot.children.deploy, undefined);
});

test("DESTROY_STARTED → destroying; DESTROY_FAILED → idle; DESTROYED → destroyed (final)", () => {
  const { machine } = withRecordingDeploy();
  const actor = createActor(machine, { input: { id: "inf-1" } }).start();
  actor.send({ type: "ADD_VM", facts: { providerState: "running" } });
  actor.send({ type: "DESTROY_STARTED" });
  assert.equal(actor.getSnapshot().value, "destroying");
  actor.send({ type: "DESTROY_FAILED" });
  assert.equal(actor.getSnapshot().value, "idle");
  assert.equal(actor.getSnapshot().status, "active");
  assert.equal(vmValue(actor.getSnapshot(), 0), "running", "a failed destroy keeps the VMs");

  actor.send({ type: "DESTROY_STARTED" });
  // VMs are finalised while destroying.
  actor.send({ type: "VM", imId: 0, event: { type: "FINALIZE_STARTED" } });
  assert.equal(vmValue(actor.getSnapshot(), 0), "deleting");
  actor.send({ type: "DESTROYED" });
  assert.equal(actor.getSnapshot().value, "destroyed");
  assert.equal(actor.getSnapshot().status, "done");
});

test("DESTROY_FAILED and DESTROYED outside destroying are ignored", () => {
  const { machine } = withRecordingDeploy();
  const actor = createActor(machine, { input: { id: "inf-1" } }).start();
  actor.send({ type: "DESTROYED" });
  actor.send({ type: "DESTROY_FAILED" });
  assert.equal(actor.getSnapshot().value, "idle");
  assert.equal(actor.getSnapshot().status, "active");
});

/** What the store keeps (runtime/service/infrastructure.ts toRecord), through JSON. */
const persist = (actor: Parameters<typeof persistedInfrastructure>[0]) => JSON.parse(JSON.stringify(persistedInfrastructure(actor))) as InfrastructureSnapshot;

test("an idle snapshot restores idle with its VMs and does not invoke deploy", () => {
  const first = withRecordingDeploy();
  const actor = createActor(first.machine, { input: { id: "inf-1" } }).start();
  actor.send({ type: "ADD_VM", facts: { providerState: "running", configured: true } });
  actor.send({ type: "ADD_VM", facts: { providerState: "stopped" } });
  const persisted = persist(actor);
  actor.stop();

  const second = withRecordingDeploy();
  const restored = createActor(second.machine, { snapshot: persisted, input: undefined as never }).start();
  const snapshot = restored.getSnapshot();
  assert.equal(snapshot.value, "idle");
  assert.equal(snapshot.context.id, "inf-1");
  assert.equal(snapshot.context.vmCount, 2);
  assert.equal(vmValue(snapshot, 0), "configured");
  assert.equal(vmValue(snapshot, 1), "stopped");
  assert.equal(second.calls.length, 0);
  // Restored VMs still take events, and new ones continue the numbering.
  restored.send({ type: "VM", imId: 1, event: { type: "OBSERVED", providerState: "running" } });
  restored.send({ type: "ADD_VM", facts: {} });
  assert.equal(vmValue(restored.getSnapshot(), 1), "running");
  assert.equal(vmValue(restored.getSnapshot(), 2), "pending");
});

test("restart-resume: a snapshot persisted while adding re-invokes deploy with the outcomes recorded so far", () => {
  const first = withRecordingDeploy();
  const actor = createActor(first.machine, { input: { id: "inf-1" } }).start();
  actor.send({ type: "ADD_VM", facts: { providerState: "running", configured: true } });
  const p = plan("g0", "g1", "g2");
  actor.send({ type: "ADD", plan: p });
  first.calls[0]!.sendBack({ type: "GROUP_LAUNCHED", key: "g0", outcomes: [ok("a")] });
  first.calls[0]!.sendBack({ type: "GROUP_LAUNCHED", key: "g2", outcomes: [failure("quota")] });
  const persisted = persist(actor);
  actor.stop(); // the process dies

  const second = withRecordingDeploy();
  const restored = createActor(second.machine, { snapshot: persisted, input: undefined as never }).start();
  const emitted = collectEmitted(restored);
  assert.equal(restored.getSnapshot().value, "adding");
  assert.equal(second.calls.length, 1, "the deployment is resumed");
  const { input } = second.calls[0]!;
  assert.equal(input.id, "inf-1");
  assert.deepEqual(input.plan.groups, p.groups);
  assert.deepEqual(input.plan.outcomes, { g0: [ok("a")], g2: [failure("quota")] }, "the deploy actor sees what was already launched");
  assert.deepEqual(input.plan.groups.filter((g) => !input.plan.outcomes[g.key]).map((g) => g.key), ["g1"], "only the unfinished group is left to launch");
  assert.equal(vmValue(restored.getSnapshot(), 0), "configured", "the VMs are restored too");

  second.calls[0]!.sendBack({ type: "GROUP_LAUNCHED", key: "g1", outcomes: [ok("b")] });
  second.calls[0]!.sendBack({ type: "DEPLOY_FINISHED" });
  assert.deepEqual(emitted, [{ type: "deployFinished", plan: { ...p, outcomes: { g0: [ok("a")], g2: [failure("quota")], g1: [ok("b")] } } }]);
  assert.equal(restored.getSnapshot().value, "idle");
});

test("restart-resume: the recorded outcomes survive in the restored context", () => {
  const first = withRecordingDeploy();
  const actor = createActor(first.machine, { input: { id: "inf-1" } }).start();
  actor.send({ type: "ADD", plan: plan("g0", "g1") });
  first.calls[0]!.sendBack({ type: "GROUP_LAUNCHED", key: "g0", outcomes: [ok("a")] });
  const persisted = persist(actor);
  actor.stop();
  const second = withRecordingDeploy();
  const restored = createActor(second.machine, { snapshot: persisted, input: undefined as never }).start();
  assert.deepEqual(restored.getSnapshot().context.plan!.outcomes, { g0: [ok("a")] });
});

test("persisting is repeatable, leaves the deployment running, and outside adding there is no deploy child", () => {
  const { machine, calls } = withRecordingDeploy();
  const actor = createActor(machine, { input: { id: "inf-1" } }).start();
  assert.deepEqual(Object.keys((persistedInfrastructure(actor) as InfrastructureSnapshot).children ?? {}), []);
  actor.send({ type: "ADD", plan: plan("g0", "g1") });
  calls[0]!.sendBack({ type: "GROUP_LAUNCHED", key: "g0", outcomes: [ok("a")] });
  const first = persist(actor);
  calls[0]!.sendBack({ type: "GROUP_LAUNCHED", key: "g1", outcomes: [ok("b")] });
  const second = persist(actor);
  const deployInput = (snapshot: InfrastructureSnapshot) =>
    (Object.values(snapshot.children) as unknown as { src: string; snapshot: { input: DeployInput } }[]).find((c) => c.src === "deploy")!.snapshot.input;
  assert.deepEqual(Object.keys(deployInput(first).plan.outcomes), ["g0"]);
  assert.deepEqual(Object.keys(deployInput(second).plan.outcomes), ["g0", "g1"], "each persist brings the deploy input up to date");
  assert.deepEqual(persist(actor), second);
  assert.equal(actor.getSnapshot().value, "adding");
  assert.deepEqual(actor.getSnapshot().context.plan!.outcomes, { g0: [ok("a")], g1: [ok("b")] });
  assert.equal(calls.length, 1);
  calls[0]!.sendBack({ type: "DEPLOY_FINISHED" });
  const idle = persist(actor);
  assert.equal(idle.value, "idle");
  assert.deepEqual(Object.keys(idle.children ?? {}), []);
});
