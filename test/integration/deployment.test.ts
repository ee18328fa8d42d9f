// The deployment flow over XML-RPC (IM behaviour §5.2-§5.5, §5.10, §5.11), checked against the
// acceptance checklist of §9 (T2-T32) with a scriptable "Mock" cloud plugin that records every
// call it gets in a file (test/fixtures/plugins/mock-provider.ts).
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { auth, dummyCloud, IM_ITEM, mockCloud, startMockServer, type MockServer } from "../fixtures/mock-cloud.ts";
import type { MockCall } from "../fixtures/plugins/mock-provider.ts";
import { pollUntil } from "../fixtures/xmlrpc-client.ts";

const TWO_DEPLOYMENTS = "Two deployments that have to be launched in the same cloud provider are asked to be deployed in different cloud providers";
const NOT_FOUND = "Invalid infrastructure ID or access not granted.";
const SLOW_LAUNCH_MS = 1500;
const SLOW_FINALIZE_MS = 2000;

/** Per-cloud behaviour of the Mock plugin, keyed by the cloud's host. */
const MOCK_CLOUDS = {
  fail: { launchError: "e1" },
  ost: { schemes: ["ost"] },
  mock0only: { schemes: ["mock0"] },
  mock1only: { schemes: ["mock1"] },
  mem500: { memoryMb: 500 },
  mem1000: { memoryMb: 1000 },
  slow: { launchLatencyMs: SLOW_LAUNCH_MS },
  nofinalize: { finalizeError: "cannot delete" },
  slowdel: { finalizeLatencyMs: SLOW_FINALIZE_MS },
  slower: { launchLatencyMs: 2 * SLOW_LAUNCH_MS },
};

type State = { state: string; vm_states: Record<string, string> };

/** The server most tests use. */
let im: MockServer;
/** One launch at a time, one attempt per VM, and VM refreshes that always ask the provider. */
let seq: MockServer;
before(async () => {
  [im, seq] = await Promise.all([
    startMockServer({ mock: { clouds: MOCK_CLOUDS }, im: { MAX_SIMULTANEOUS_LAUNCHES: 3, MAX_VM_FAILS: 3 } }),
    startMockServer({ mock: { clouds: MOCK_CLOUDS }, im: { MAX_SIMULTANEOUS_LAUNCHES: 1, MAX_VM_FAILS: 1, VM_INFO_UPDATE_FREQUENCY: 0 } }),
  ]);
});
after(async () => {
  await Promise.all([im?.close(), seq?.close()]);
});

const IMAGE_LIST = "disk.0.image.url = ['one://localhost/image', 'http://localhost:443/image']";

/** The two-system RADL of the reference's T2/T4 tests; `deploys` are its deploy lines. */
function frontWn(deploys: string, image = IMAGE_LIST): string {
  return `network publica (outbound = 'yes')
network privada ()
system front (
cpu.arch = 'x86_64' and cpu.count >= 1 and memory.size >= 512m and
net_interface.0.connection = 'publica' and net_interface.1.connection = 'privada' and
${image} and disk.0.os.credentials.username = 'ubuntu'
)
system wn (
cpu.arch = 'x86_64' and cpu.count >= 1 and memory.size >= 512m and
net_interface.0.connection = 'privada' and
${image} and disk.0.os.credentials.username = 'ubuntu'
)
${deploys}
contextualize ()`;
}

/** A system without networks. */
function plain(name: string, image = "mock0://linux.for.ev.er/image", extra = ""): string {
  return `system ${name} (cpu.count >= 1 and memory.size >= 512m and disk.0.image.url = '${image}'${extra ? ` and ${extra}` : ""})`;
}

const of = (inf: string, op: MockCall["op"]) => (call: MockCall) => call.inf === inf && call.op === op;

async function launches(inf: string): Promise<MockCall[]> {
  return im.calls(of(inf, "launch"));
}

// ---------------------------------------------------------------- cloud selection errors

test("T2: deploys tied by a private network but pinned to different clouds fail, even without cloud credentials", async () => {
  const radl = frontWn("deploy front 1 cloud0\ndeploy wn 1 cloud1");
  const withoutClouds = await im.fails("CreateInfrastructure", radl, auth());
  assert.ok(withoutClouds.startsWith(TWO_DEPLOYMENTS), withoutClouds);
  const withClouds = await im.fails("CreateInfrastructure", radl, auth(mockCloud("cloud0"), mockCloud("cloud1")));
  assert.ok(withClouds.startsWith(TWO_DEPLOYMENTS), withClouds);
  assert.deepEqual(await im.calls((c) => c.op === "launch" && (c.cloud === "cloud0" || c.cloud === "cloud1")), [], "nothing was launched");
});

test("T3: a private network bound to cloud0 pins later VMs on it; pinning them to cloud1 fails", async () => {
  // cloud1 first: without the binding, ties would go to it (§5.4).
  const clouds = auth(mockCloud("cloud1", "t3-cloud1"), mockCloud("cloud0", "t3-cloud0"));
  const inf = await im.ok<string>("CreateInfrastructure", frontWn("deploy front 1 cloud0\ndeploy wn 1", "disk.0.image.url = 'mock0://linux.for.ev.er/image'"), clouds);
  const first = await launches(inf);
  assert.deepEqual(first.map((c) => [c.system, c.cloudId]).sort(), [["front", "cloud0"], ["wn", "cloud0"]]);

  const pinned = await im.fails("AddResource", inf, "network privada\nsystem wn\ndeploy wn 1 cloud1", clouds);
  assert.ok(pinned.startsWith(TWO_DEPLOYMENTS), pinned);
  assert.equal((await launches(inf)).length, 2, "nothing was launched");

  assert.deepEqual(await im.ok("AddResource", inf, "network privada\nsystem wn\ndeploy wn 1", clouds, false), [2]);
  const added = (await launches(inf)).slice(2);
  assert.deepEqual(added.map((c) => [c.system, c.cloudId]), [["wn", "cloud0"]]);
  await im.ok("DestroyInfrastructure", inf, clouds);

  // The same with two Dummy clouds, as in the checklist.
  const dummies = auth(dummyCloud("cloud0"), dummyCloud("cloud1"));
  const dummyInf = await im.ok<string>("CreateInfrastructure", frontWn("deploy front 1 cloud0\ndeploy wn 1"), dummies);
  const refused = await im.fails("AddResource", dummyInf, "network privada\nsystem wn\ndeploy wn 1 cloud1", dummies);
  assert.ok(refused.startsWith(TWO_DEPLOYMENTS), refused);
  assert.deepEqual(await im.ok("GetInfrastructureInfo", dummyInf, dummies), ["0", "1"]);
  await im.ok("DestroyInfrastructure", dummyInf, dummies);
});

test("T4a: an IM item without username fails with the exact message", async () => {
  const message = await im.fails("CreateInfrastructure", frontWn("deploy front 1"), [{ type: "InfrastructureManager", password: "p" }, dummyCloud("dummy")]);
  assert.equal(message, "No username nor token for the InfrastructureManager.");
});

test("T4b: deploy lines with no cloud credentials fail with exactly 'No cloud provider available'", async () => {
  assert.equal(await im.fails("CreateInfrastructure", frontWn("deploy front 1"), [IM_ITEM]), "No cloud provider available");
});

test("a deploy pinned to a cloud id missing from the auth fails with `No auth data for cloud with ID`", async () => {
  const message = await im.fails("CreateInfrastructure", `${plain("s0")}\ndeploy s0 1 nosuch`, auth(mockCloud("cloud0", "t4-noauth")));
  assert.equal(message, "No auth data for cloud with ID: nosuch");
});

test("T4c: a cloud that cannot run any of the images fails with the no-concrete-system message", async () => {
  const radl = frontWn("deploy front 1");
  const message = await im.fails("CreateInfrastructure", radl, auth(mockCloud("ost")));
  const vmError = "Error launching the VMs of type front to cloud ID ost of type Mock. Error, no concrete system to deploy: front in cloud: ost. Check if a correct image is being used";
  assert.ok(message.startsWith(`Error adding VMs: ${vmError}`), message);
  assert.equal(message, `Error adding VMs: ${vmError}\n`);
  assert.deepEqual(await im.calls((c) => c.cloud === "ost" && c.op === "launch"), [], "no launch without a concrete system");
  const finalized = await im.calls((c) => c.cloud === "ost" && c.op === "finalize");
  assert.equal(finalized.length, 1, "the failed placeholder is finalized");
  assert.equal(finalized[0].providerId, null);
});

test("T4d: the Dummy cloud accepts any image URL, lists included", async () => {
  const dummy = auth(dummyCloud("dummy"));
  const inf = await im.ok<string>("CreateInfrastructure", frontWn("deploy front 1\ndeploy wn 1"), dummy);
  assert.deepEqual(await im.ok("GetInfrastructureInfo", inf, dummy), ["0", "1"]);
  const single = await im.ok<string>("CreateInfrastructure", frontWn("deploy front 1", "disk.0.image.url = 'whatever://any/where'"), dummy);
  assert.deepEqual(await im.ok("GetInfrastructureInfo", single, dummy), ["0"]);
  await im.ok("DestroyInfrastructure", inf, dummy);
  await im.ok("DestroyInfrastructure", single, dummy);
});

test("T4e: a launch that always fails is tried MAX_VM_FAILS times, and its placeholder is finalized once", async () => {
  const clouds = auth(mockCloud("cloud0", "fail"));
  const since = Date.now();
  const message = await im.fails("CreateInfrastructure", `${plain("s0")}\ndeploy s0 1\ncontextualize ()`, clouds);
  const vmError = "Error launching the VMs of type s0 to cloud ID cloud0 of type Mock. Attempt 1: e1\nAttempt 2: e1\nAttempt 3: e1";
  assert.ok(message.includes(vmError), message);
  assert.equal(message, `Error adding VMs: ${vmError}\n\n`);
  const tried = await im.calls((c) => c.cloud === "fail" && c.op === "launch" && c.time >= since);
  assert.equal(tried.length, 3);
  assert.ok(tried.every((c) => c.count === 1 && c.inf === tried[0].inf));
  assert.equal(new Set(tried.map((c) => c.key)).size, 3, "an attempt after an answered one has a key of its own");
  const finalized = await im.calls(of(tried[0].inf!, "finalize"));
  assert.equal(finalized.length, 1, "finalize is called exactly once");
  assert.equal(finalized[0].providerId, null);
  assert.equal(finalized[0].imId, 0);
  // A failed synchronous create deletes the infrastructure.
  assert.equal(await im.fails("GetInfrastructureInfo", tried[0].inf, clouds), NOT_FOUND);
});

test("T4f: an asynchronous create whose launch fails (MAX_VM_FAILS=1) shows the error in its log and is failed", { timeout: 30_000 }, async () => {
  const clouds = auth(mockCloud("cloud0", "fail"));
  const inf = await seq.ok<string>("CreateInfrastructure", `${plain("s0")}\ndeploy s0 1`, clouds, true);
  assert.equal(typeof inf, "string");
  const expected = "Error launching the VMs of type s0 to cloud ID cloud0 of type Mock. Attempt 1: e1";
  const log = await pollUntil(() => seq.ok<string>("GetInfrastructureContMsg", inf, clouds), (text) => text.includes(expected), 10_000, "the launch error in the log");
  assert.ok(!log.includes("Attempt 2"), log);
  const state = await seq.ok<State>("GetInfrastructureState", inf, clouds);
  assert.equal(state.state, "failed");
  assert.equal((await seq.calls(of(inf, "launch"))).length, 1);
});

// ---------------------------------------------------------------- AddResource, placement, parallelism

test("T7: AddResource returns [0], then [1] for a reference to the stored system", async () => {
  const clouds = auth(mockCloud("cloud0", "t7"));
  const inf = await im.ok<string>("CreateInfrastructure", "", clouds);
  assert.deepEqual(await im.ok("AddResource", inf, `${plain("s0", "mock0://linux.for.ev.er/t7")}\ndeploy s0 1`, clouds, false), [0]);
  assert.deepEqual(await im.ok("AddResource", inf, "system s0\ndeploy s0 1", clouds, false), [1]);
  assert.deepEqual(await im.ok("GetInfrastructureInfo", inf, clouds), ["0", "1"]);
  const launched = await launches(inf);
  assert.deepEqual(launched.map((c) => [c.system, c.image, c.count]), [["s0", "mock0://linux.for.ev.er/t7", 1], ["s0", "mock0://linux.for.ev.er/t7", 1]],
    "the reference is resolved to the stored definition");
  await im.ok("DestroyInfrastructure", inf, clouds);
});

test("T8: 20 VMs of a system without networks are 20 launch calls of 1 VM", async () => {
  const clouds = auth(mockCloud("cloud0", "t8"));
  const inf = await im.ok<string>("CreateInfrastructure", `${plain("s0")}\ndeploy s0 20\ncontextualize ()`, clouds);
  assert.deepEqual(await im.ok("GetInfrastructureInfo", inf, clouds), Array.from({ length: 20 }, (_, i) => String(i)));
  const launched = await launches(inf);
  assert.equal(launched.length, 20);
  assert.ok(launched.every((c) => c.count === 1), JSON.stringify(launched.map((c) => c.count)));
  await im.ok("DestroyInfrastructure", inf, clouds);
});

test("T9: each system goes to the only cloud that accepts its image scheme, one VM per launch", async () => {
  const clouds = auth(mockCloud("cloud0", "mock0only"), mockCloud("cloud1", "mock1only"));
  const radl = `${plain("s0", "mock0://linux.for.ev.er/image")}\n${plain("s1", "mock1://linux.for.ev.er/image")}\ndeploy s0 2\ndeploy s1 5\ncontextualize ()`;
  const inf = await im.ok<string>("CreateInfrastructure", radl, clouds);
  assert.deepEqual(await im.ok("GetInfrastructureInfo", inf, clouds), ["0", "1", "2", "3", "4", "5", "6"]);
  const launched = await launches(inf);
  assert.equal(launched.length, 7);
  assert.ok(launched.every((c) => c.count === 1));
  assert.deepEqual(launched.filter((c) => c.system === "s0").map((c) => c.cloudId), ["cloud0", "cloud0"]);
  assert.deepEqual(launched.filter((c) => c.system === "s1").map((c) => c.cloudId), Array(5).fill("cloud1"));
  await im.ok("DestroyInfrastructure", inf, clouds);
});

test("a configure given to a system `with cloud_init` reaches that system's launches as user data (§5.7.4)", async () => {
  const clouds = auth(mockCloud("cloud0"));
  const radl = `${plain("booted")}\n${plain("other")}
configure boot (
@begin
runcmd:
  - [ touch, /tmp/booted ]
@end
)
configure later (
@begin
---
- tasks: []
@end
)
deploy booted 1
deploy other 1
contextualize (
  system booted configure boot with cloud_init
  system other configure later
)`;
  const inf = await im.ok<string>("CreateInfrastructure", radl, clouds);
  const launched = await launches(inf);
  assert.equal(launched.find((c) => c.system === "booted")?.cloudInit, "\nruncmd:\n  - [ touch, /tmp/booted ]\n");
  assert.equal(launched.find((c) => c.system === "other")?.cloudInit, undefined, "an Ansible item is no user data");
  await im.ok("DestroyInfrastructure", inf, clouds);
});

test("T10: soft features choose the cloud offering the preferred memory, whatever the auth order", async () => {
  const radl = `system s0 (disk.0.image.url = 'mock0://linux.for.ev.er/image' and soft 10 (memory.size <= 500M))
system s1 (disk.0.image.url = 'mock0://linux.for.ev.er/image' and soft 10 (memory.size >= 800M))
deploy s0 1
deploy s1 1
contextualize ()`;
  for (const clouds of [auth(mockCloud("small", "mem500"), mockCloud("big", "mem1000")), auth(mockCloud("big", "mem1000"), mockCloud("small", "mem500"))]) {
    const inf = await im.ok<string>("CreateInfrastructure", radl, clouds);
    const placed = Object.fromEntries((await launches(inf)).map((c) => [c.system, c.cloudId]));
    assert.deepEqual(placed, { s0: "small", s1: "big" }, `auth order ${clouds.slice(1).map((c) => c.id).join(", ")}`);
    await im.ok("DestroyInfrastructure", inf, clouds);
  }
});

const T11_RADL = `network privada ()
system front (net_interface.0.connection = 'privada' and disk.0.image.url = 'mock0://linux.for.ev.er/front')
system wn (net_interface.0.connection = 'privada' and disk.0.image.url = 'mock0://linux.for.ev.er/wn')
deploy front 1
deploy wn 3
deploy wn 2
contextualize ()`;

/** The most launches of the infrastructure that ran at the same time, from their start and end records. */
async function launchOverlap(server: MockServer, inf: string): Promise<number> {
  const events = (await server.calls((c) => c.inf === inf && (c.op === "launch" || c.op === "launchDone")))
    .map((c) => ({ time: c.time, delta: c.op === "launch" ? 1 : -1 }))
    .sort((a, b) => a.time - b.time || a.delta - b.delta);
  let running = 0;
  let most = 0;
  for (const { delta } of events) most = Math.max(most, (running += delta));
  return most;
}

test("T11: deploys on one private network are one launch call each (n = 1, 3, 2); one at a time with MAX_SIMULTANEOUS_LAUNCHES=1", { timeout: 30_000 }, async () => {
  const clouds = auth(mockCloud("cloud0", "slow"));
  const started = Date.now();
  const inf = await seq.ok<string>("CreateInfrastructure", T11_RADL, clouds);
  const elapsed = Date.now() - started;
  assert.deepEqual(await seq.ok("GetInfrastructureInfo", inf, clouds), ["0", "1", "2", "3", "4", "5"]);
  const launched = await seq.calls(of(inf, "launch"));
  assert.deepEqual(launched.map((c) => c.count), [1, 3, 2]);
  assert.deepEqual(launched.map((c) => c.system), ["front", "wn", "wn"]);
  const done = await seq.calls(of(inf, "launchDone"));
  for (let i = 1; i < launched.length; i++) assert.ok(launched[i].time >= done[i - 1].time, `launch ${i} started before launch ${i - 1} ended`);
  assert.equal(await launchOverlap(seq, inf), 1);
  assert.ok(elapsed >= 3 * SLOW_LAUNCH_MS - 50, `three ${SLOW_LAUNCH_MS} ms launches one after another took ${elapsed} ms`);
  await seq.ok("DestroyInfrastructure", inf, clouds);
});

test("T11: with MAX_SIMULTANEOUS_LAUNCHES=3 the three launches overlap, and the VMs keep deploy order", { timeout: 30_000 }, async () => {
  const clouds = auth(mockCloud("cloud0", "slow"));
  const inf = await im.ok<string>("CreateInfrastructure", T11_RADL, clouds);
  assert.deepEqual(await im.ok("GetInfrastructureInfo", inf, clouds), ["0", "1", "2", "3", "4", "5"]);
  const launched = await launches(inf);
  assert.deepEqual(launched.map((c) => c.count).sort(), [1, 2, 3]);
  assert.equal(launched.reduce((sum, c) => sum + c.count!, 0), 6);
  assert.equal(await launchOverlap(im, inf), 3, "all three launches ran at the same time");
  const systems = [];
  for (const id of ["0", "1", "2", "3", "4", "5"]) systems.push(/^system (\w+)/m.exec(await im.ok<string>("GetVMInfo", inf, id, clouds))?.[1]);
  assert.deepEqual(systems, ["front", "wn", "wn", "wn", "wn", "wn"]);
  await im.ok("DestroyInfrastructure", inf, clouds);
});

test("T12: with identical clouds every VM goes to the cloud listed first in the auth", async () => {
  const clouds = auth(mockCloud("cloudB", "t12b"), mockCloud("cloudA", "t12a"));
  const radl = `${frontWn("deploy front 1\ndeploy wn 2", "disk.0.image.url = 'mock0://linux.for.ev.er/image'")}\n${plain("s0")}\ndeploy s0 3`;
  const inf = await im.ok<string>("CreateInfrastructure", radl, clouds);
  const launched = await launches(inf);
  assert.equal(launched.length, 5);
  assert.deepEqual([...new Set(launched.map((c) => c.cloudId))], ["cloudB"]);
  await im.ok("DestroyInfrastructure", inf, clouds);
});

test("T30: an asynchronous create returns before the launch ends; meanwhile it is pending with no VMs and cannot be destroyed", { timeout: 30_000 }, async () => {
  const clouds = auth(mockCloud("cloud0", "slower"));
  const inf = await im.ok<string>("CreateInfrastructure", `${plain("s0")}\ndeploy s0 2\ncontextualize ()`, clouds, true);
  assert.deepEqual(await im.calls(of(inf, "launchDone")), [], "the call did not wait for the launch");
  assert.deepEqual(await im.ok("GetInfrastructureState", inf, clouds), { state: "pending", vm_states: {} });
  assert.deepEqual(await im.ok("GetInfrastructureInfo", inf, clouds), []);
  await pollUntil(() => launches(inf), (calls) => calls.length > 0, 10_000, "the launch to start");
  assert.equal(await im.fails("DestroyInfrastructure", inf, clouds), "Invalid State to perform this operation.", "no destroy while VMs are being added (§5.10)");
  assert.equal((await im.calls(of(inf, "launchDone"))).length, 0, "the destroy was refused while the launch was still running");
  await pollUntil(() => im.ok<string[]>("GetInfrastructureInfo", inf, clouds), (ids) => ids.length === 2, 15_000, "the two VMs");
  assert.equal((await launches(inf)).length, 2);
  assert.equal(await im.ok("DestroyInfrastructure", inf, clouds), "");
});

test("MAX_SIMULTANEOUS_LAUNCHES limits launches only: other provider calls do not queue behind a slow launch (§5.5, §8)", { timeout: 30_000 }, async () => {
  const dummy = auth(dummyCloud("dummy"));
  const idle = await seq.ok<string>("CreateInfrastructure", `${plain("s0")}\ndeploy s0 1\ncontextualize ()`, dummy);
  const clouds = auth(mockCloud("cloud0", "slower"));
  const busy = await seq.ok<string>("CreateInfrastructure", `${plain("s0")}\ndeploy s0 1\ncontextualize ()`, clouds, true);
  try {
    await pollUntil(() => seq.calls(of(busy, "launch")), (calls) => calls.length > 0, 10_000, "the slow launch to start");
    const timed = async (call: () => Promise<unknown>) => {
      const started = Date.now();
      await call();
      return Date.now() - started;
    };
    // VM_INFO_UPDATE_FREQUENCY is 0 on this server, so the state call asks the Dummy provider.
    const [stateMs, quotasMs] = await Promise.all([
      timed(() => seq.ok("GetInfrastructureState", idle, dummy)),
      timed(() => seq.ok("GetCloudQuotas", "dummy", dummy)),
    ]);
    assert.ok(stateMs < SLOW_LAUNCH_MS && quotasMs < SLOW_LAUNCH_MS,
      `GetInfrastructureState took ${stateMs} ms and GetCloudQuotas ${quotasMs} ms during a ${2 * SLOW_LAUNCH_MS} ms launch of another infrastructure`);
  } finally {
    await pollUntil(() => seq.ok<string[]>("GetInfrastructureInfo", busy, clouds), (ids) => ids.length === 1, 15_000, "the slow launch to end");
    await seq.ok("DestroyInfrastructure", busy, clouds);
    await seq.ok("DestroyInfrastructure", idle, dummy);
  }
});

// ---------------------------------------------------------------- modify and lifecycle

test("T15: RemoveResource ['0','1'] of 4 VMs returns 2 and leaves ['2','3']; ids are not reused", async () => {
  const dummy = auth(dummyCloud("dummy"));
  const radl = "network publica (outbound = 'yes')\nsystem s0 (net_interface.0.connection = 'publica')\ndeploy s0 4\ncontextualize ()";
  const inf = await im.ok<string>("CreateInfrastructure", radl, dummy);
  assert.deepEqual(await im.ok("GetInfrastructureInfo", inf, dummy), ["0", "1", "2", "3"]);
  assert.equal(await im.ok("RemoveResource", inf, ["0", "1"], dummy), 2);
  assert.deepEqual(await im.ok("GetInfrastructureInfo", inf, dummy), ["2", "3"]);
  assert.equal(await im.fails("GetVMInfo", inf, "0", dummy), "Deleted VM.");
  assert.deepEqual(await im.ok("AddResource", inf, "network publica\nsystem s0\ndeploy s0 1", dummy, false), [4]);
  await im.ok("DestroyInfrastructure", inf, dummy);
});

test("T18: AlterVM resizes the VM's system, and a RADL without it fails with the exact message", async () => {
  const dummy = auth(dummyCloud("dummy"));
  const radl = "network publica (outbound = 'yes')\nsystem s0 (cpu.count = 1 and memory.size = 512M and net_interface.0.connection = 'publica')\ndeploy s0 1\ncontextualize ()";
  const inf = await im.ok<string>("CreateInfrastructure", radl, dummy);
  await im.ok("AlterVM", inf, "0", "system s1 (cpu.count = 4 and memory.size = 4096M)\nsystem s0 (cpu.count = 2 and memory.size = 1024M)", dummy);
  assert.equal(await im.ok("GetVMProperty", inf, "0", "cpu.count", dummy), 2);
  assert.match(await im.ok<string>("GetVMInfo", inf, "0", dummy), /memory\.size = 1024M/);
  assert.equal(await im.fails("AlterVM", inf, "0", "system s1 (cpu.count = 2 and memory.size = 1024M)", dummy), "Incorrect RADL no system with name s0 provided.");
  await im.ok("DestroyInfrastructure", inf, dummy);
});

test("T21: CreateDiskSnapshot returns the provider's URL, with one provider call", async () => {
  const clouds = auth(mockCloud("cloud0", "t21"));
  const inf = await im.ok<string>("CreateInfrastructure", `${plain("s0")}\ndeploy s0 1\ncontextualize ()`, clouds);
  assert.equal(await im.ok("CreateDiskSnapshot", inf, "0", 0, "test", false, clouds), "mock0://linux.for.ev.er/test");
  const snapshots = await im.calls(of(inf, "createSnapshot"));
  assert.equal(snapshots.length, 1);
  assert.equal(snapshots[0].imId, 0);
  assert.equal(snapshots[0].imageName, "test");
  await im.ok("DestroyInfrastructure", inf, clouds);
});

test("T29: finalize's `last` flag is true for the last VM of each cloud, on RemoveResource and then on Destroy", async () => {
  const clouds = auth(mockCloud("cloud0", "server0"), mockCloud("cloud1", "server1"));
  const inf = await im.ok<string>("CreateInfrastructure", `${plain("s0")}\n${plain("s1")}\ndeploy s0 2 cloud0\ndeploy s1 2 cloud1\ncontextualize ()`, clouds);
  const placed = (await launches(inf)).map((c) => [c.system, c.cloud]).sort();
  assert.deepEqual(placed, [["s0", "server0"], ["s0", "server0"], ["s1", "server1"], ["s1", "server1"]]);

  assert.equal(await im.ok("RemoveResource", inf, ["0", "1"], clouds), 2);
  const removed = await im.calls(of(inf, "finalize"));
  assert.deepEqual(Object.fromEntries(removed.map((c) => [c.imId, [c.cloud, c.last]])), { 0: ["server0", false], 1: ["server0", true] });
  assert.equal(removed.length, 2, "cloud1's VMs are not finalized");

  await im.ok("DestroyInfrastructure", inf, clouds);
  const destroyed = (await im.calls(of(inf, "finalize"))).slice(2);
  assert.equal(destroyed.length, 2, "only the remaining VMs are finalized");
  assert.deepEqual(Object.fromEntries(destroyed.map((c) => [c.imId, [c.cloud, c.last]])), { 3: ["server1", false], 2: ["server1", true] });
});

test("T31: a destroy whose finalize fails keeps the infrastructure; force=true deletes it", async () => {
  const clouds = auth(mockCloud("cloud0", "nofinalize"));
  const inf = await im.ok<string>("CreateInfrastructure", `${plain("s0")}\ndeploy s0 1\ncontextualize ()`, clouds);
  assert.equal(await im.fails("RemoveResource", inf, ["0"], clouds), "Error removing resources: ['cannot delete']");
  const message = await im.fails("DestroyInfrastructure", inf, clouds);
  assert.ok(message.startsWith("Error destroying the infrastructure: \n"), message);
  assert.equal(message, "Error destroying the infrastructure: \ncannot delete\n");
  assert.deepEqual(await im.ok("GetInfrastructureInfo", inf, clouds), ["0"], "the infrastructure and its VM stay");
  const state = await im.ok<State>("GetInfrastructureState", inf, clouds);
  assert.notEqual(state.state, "deleting");
  assert.notEqual(state.vm_states["0"], "deleting");
  assert.equal(await im.ok("DestroyInfrastructure", inf, clouds, true), "");
  assert.equal(await im.fails("GetInfrastructureInfo", inf, clouds), NOT_FOUND);
  assert.equal((await im.calls(of(inf, "finalize"))).length, 3);
});

test("T32: an asynchronous destroy returns at once, shows `deleting`, and the infrastructure goes later", { timeout: 30_000 }, async () => {
  const clouds = auth(mockCloud("cloud0", "slowdel"));
  const inf = await im.ok<string>("CreateInfrastructure", `${plain("s0")}\ndeploy s0 1\ncontextualize ()`, clouds);
  const started = Date.now();
  assert.equal(await im.ok("DestroyInfrastructure", inf, clouds, false, true), "");
  assert.ok(Date.now() - started < SLOW_FINALIZE_MS, `the call waited ${Date.now() - started} ms for a ${SLOW_FINALIZE_MS} ms finalize`);
  assert.equal((await im.ok<State>("GetInfrastructureState", inf, clouds)).state, "deleting");
  const gone = await pollUntil(() => im.client.call<[boolean, unknown]>("GetInfrastructureState", inf, clouds), ([ok]) => !ok, 15_000, "the destroy to finish");
  assert.deepEqual(gone, [false, NOT_FOUND]);
  assert.equal((await im.calls(of(inf, "finalize"))).length, 1);
});

test("partial failure: the call succeeds, failed VMs stay as `failed` placeholders, the aggregate is failed", async () => {
  const clouds = auth(mockCloud("good", "partial-ok"), mockCloud("bad", "fail"));
  const radl = `${plain("s0")}\n${plain("s1")}\ndeploy s0 1 good\ndeploy s1 2 bad\ncontextualize ()`;
  const inf = await im.ok<string>("CreateInfrastructure", radl, clouds);
  assert.deepEqual(await im.ok("GetInfrastructureInfo", inf, clouds), ["0", "1", "2"]);
  const state = await im.ok<State>("GetInfrastructureState", inf, clouds);
  assert.equal(state.state, "failed");
  assert.equal(state.vm_states["1"], "failed");
  assert.equal(state.vm_states["2"], "failed");
  assert.notEqual(state.vm_states["0"], "failed");
  const error = await im.ok<string>("GetVMContMsg", inf, "2", clouds);
  assert.ok(error.startsWith("Error launching the VMs of type s1 to cloud ID bad of type Mock. Attempt 1: e1\nAttempt 2: e1\nAttempt 3: e1"), error);
  assert.deepEqual(await im.calls(of(inf, "finalize")), [], "placeholders are kept when some VMs succeeded");
  await im.ok("DestroyInfrastructure", inf, clouds);
  assert.equal((await im.calls(of(inf, "finalize"))).length, 3, "destroy finalizes the placeholders too");
});

test("a provider call past its deadline (timeouts.providerCallSeconds) fails with the deadline's message, and its signal stops the provider", { timeout: 60_000 }, async () => {
  const clouds = { hang: { launchLatencyMs: 120_000 }, hangdel: { finalizeLatencyMs: 120_000 } };
  // One worker thread: the warm-up below then warms every thread there is.
  const timed = await startMockServer({ mock: { clouds }, im: { MAX_VM_FAILS: 2 }, config: { providerCallTimeoutSeconds: 1, workerThreads: 1 } });
  try {
    // Deadlines count the worker thread's boot too: the first calls go once it is up.
    await pollUntil(() => timed.client.call<[boolean, unknown]>("CreateInfrastructure", `${plain("s0")}\ndeploy s0 1\ncontextualize ()`, auth(mockCloud("c9"))), ([ok]) => ok, 30_000, "a first deployment");
    // A launch that never answers is retried (MAX_VM_FAILS) and ends a failed placeholder.
    const hung = await timed.fails("CreateInfrastructure", `${plain("s0")}\ndeploy s0 1\ncontextualize ()`, auth(mockCloud("c0", "hang")));
    const deadline = "The Mock provider did not finish launch within 1 s";
    assert.ok(hung.includes(`Attempt 1: Error: ${deadline}\nAttempt 2: Error: ${deadline}\n`), hung);
    const aborted = await pollUntil(() => timed.calls((c) => c.op === "aborted"), (calls) => calls.length === 2, 10_000, "both launches to see their signal abort");
    assert.deepEqual(aborted.map((c) => [c.of, c.reason]), [["launch", deadline], ["launch", deadline]]);
    // The retry of a request cut off by its deadline has the same key: it finds what the first made.
    const keys = (await timed.calls((c) => c.op === "launch" && c.cloudId === "c0")).map((c) => c.key);
    assert.equal(keys.length, 2);
    assert.equal(keys[0], keys[1]);

    // A finalize that never answers fails the destroy, which keeps the infrastructure.
    const del = auth(mockCloud("c1", "hangdel"));
    const inf = await timed.ok<string>("CreateInfrastructure", `${plain("s0")}\ndeploy s0 1\ncontextualize ()`, del);
    const started = Date.now();
    assert.equal(await timed.fails("DestroyInfrastructure", inf, del), "Error destroying the infrastructure: \nThe Mock provider did not finish finalize within 1 s\n");
    assert.ok(Date.now() - started < 10_000, `the destroy took ${Date.now() - started} ms`);
    assert.deepEqual(await timed.ok("GetInfrastructureInfo", inf, del), ["0"]);
  } finally {
    await timed.close();
  }
});
