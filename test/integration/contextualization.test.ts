// The contextualization flow over XML-RPC (IM behaviour §5.7, §4.4): when it is disabled, its
// effect on VM states, the master VM and its SSH wait, the time limit, and the log format.
// Dummy VMs have the fake address 10.0.0.1; nothing may dial it (the network guard would fail
// the test), so the SSH wait always runs out.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { auth, dummyCloud, mockCloud, startMockServer, type MockServer } from "../fixtures/mock-cloud.ts";
import { pollUntil } from "../fixtures/xmlrpc-client.ts";

const DISABLED = "Contextualization disabled by the RADL/TOSCA template.\n\n";
const SSH_TIMEOUT = "Contextualization Error: Error Waiting the Master VM to have the SSH active: Timeout waiting SSH access.";
const NO_MASTER = "Contextualization Error: No correct Master VM found. Check if there a linux VM with Public IP.";
const MAX_TIME = "ERROR: Max contextualization time passed.";
const LINE = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})\.(\d{6}): (.*)$/;
const WAIT_SSH_S = 2;
const WAIT_RUNNING_S = 2;

type State = { state: string; vm_states: Record<string, string> };

const DUMMY = auth(dummyCloud("dummy"));

let im: MockServer;
before(async () => {
  im = await startMockServer({
    mock: { clouds: { fail: { launchError: "boom" } } },
    im: { WAIT_SSH_ACCCESS_TIMEOUT: WAIT_SSH_S, WAIT_RUNNING_VM_TIMEOUT: WAIT_RUNNING_S, MAX_VM_FAILS: 2 },
  });
});
after(async () => {
  await im?.close();
});

const PUBLIC = "network publica (outbound = 'yes')";
const PRIVATE = "network privada ()";
const CONFIGURE_NODE = `configure node (
@begin
---
- tasks:
  - debug: msg="hello"
@end
)`;

function node(network: string, extra = ""): string {
  return `system node (cpu.count >= 1 and memory.size >= 512m and net_interface.0.connection = '${network}' and disk.0.os.name = 'linux'${extra ? ` and ${extra}` : ""})`;
}

/** The timestamped lines of an infrastructure log as [epoch ms, message]; any other line fails. */
function logLines(log: string): [number, string][] {
  return log.split("\n").filter(Boolean).map((line) => {
    const match = LINE.exec(line);
    assert.ok(match, `not a 'YYYY-MM-DD HH:MM:SS.ffffff: message' line: ${JSON.stringify(line)}`);
    const [, y, mo, d, h, mi, s, us, message] = match;
    return [new Date(+y, +mo - 1, +d, +h, +mi, +s, Math.floor(+us / 1000)).getTime(), message];
  });
}

/** Asserts that `wanted` occur in this order among the log's messages; returns their times. */
function inOrder(lines: [number, string][], wanted: string[]): number[] {
  const times: number[] = [];
  let from = 0;
  for (const message of wanted) {
    const at = lines.findIndex(([, m], i) => i >= from && m === message);
    assert.ok(at >= 0, `log line '${message}' missing (or out of order) in:\n${lines.map(([, m]) => m).join("\n")}`);
    times.push(lines[at][0]);
    from = at + 1;
  }
  return times;
}

const state = (server: MockServer, inf: string, clouds = DUMMY) => server.ok<State>("GetInfrastructureState", inf, clouds);
const contMsg = (server: MockServer, inf: string, clouds = DUMMY, headeronly = false) => server.ok<string>("GetInfrastructureContMsg", inf, clouds, headeronly);
const allVms = (wanted: string) => (answer: State) => Object.keys(answer.vm_states).length > 0 && Object.values(answer.vm_states).every((s) => s === wanted);

test("contextualize (): every VM is configured at once and the log is exactly the disabled header", async () => {
  const inf = await im.ok<string>("CreateInfrastructure", `${PUBLIC}\n${node("publica")}\n${CONFIGURE_NODE}\ndeploy node 2\ncontextualize ()`, DUMMY);
  assert.deepEqual(await state(im, inf), { state: "configured", vm_states: { 0: "configured", 1: "configured" } });
  assert.equal(await contMsg(im, inf), DISABLED);
  assert.equal(await contMsg(im, inf, DUMMY, true), DISABLED);
  assert.equal(await im.ok("GetVMContMsg", inf, "0", DUMMY), "");
  // Interface 0 has an address, so the background IP wait succeeds and nothing changes.
  await new Promise((resolve) => setTimeout(resolve, (WAIT_RUNNING_S + 1) * 1000));
  assert.deepEqual(await state(im, inf), { state: "configured", vm_states: { 0: "configured", 1: "configured" } });
  assert.equal(await contMsg(im, inf), DISABLED);
  await im.ok("DestroyInfrastructure", inf, DUMMY);
});

test("default contextualization with a public network: running, the master steps, then the SSH timeout makes every VM unconfigured", { timeout: 30_000 }, async () => {
  const inf = await im.ok<string>("CreateInfrastructure", `${PUBLIC}\n${node("publica")}\n${CONFIGURE_NODE}\ndeploy node 2`, DUMMY);
  const created = Date.now();
  const first = await state(im, inf);
  assert.deepEqual(first, { state: "running", vm_states: { 0: "running", 1: "running" } });

  const done = await pollUntil(() => state(im, inf), allVms("unconfigured"), 15_000, "every VM unconfigured");
  assert.equal(done.state, "unconfigured");
  assert.ok(Date.now() - created >= WAIT_SSH_S * 1000 - 100, "not before the SSH wait ran out");

  const log = await contMsg(im, inf, DUMMY, true);
  const lines = logLines(log);
  const [, , sshWait, sshError] = inOrder(lines, ["Select master VM", "Wait master VM to boot", "Wait master VM to have the SSH active.", SSH_TIMEOUT]);
  assert.ok(sshError - sshWait >= WAIT_SSH_S * 1000 - 100, `the SSH wait lasted ${sshError - sshWait} ms, WAIT_SSH_ACCCESS_TIMEOUT is ${WAIT_SSH_S} s`);
  assert.ok(log.endsWith(`: ${SSH_TIMEOUT}\n`), log);
  assert.ok(!log.includes(DISABLED.trim()));
  await im.ok("DestroyInfrastructure", inf, DUMMY);
});

test("only private networks: `No correct Master VM found` and the VMs are unconfigured right away", { timeout: 30_000 }, async () => {
  const inf = await im.ok<string>("CreateInfrastructure", `${PRIVATE}\n${node("privada")}\n${CONFIGURE_NODE}\ndeploy node 2`, DUMMY);
  const created = Date.now();
  const done = await pollUntil(() => state(im, inf), allVms("unconfigured"), 5_000, "every VM unconfigured");
  assert.equal(done.state, "unconfigured");
  assert.ok(Date.now() - created < WAIT_SSH_S * 1000 + 3000, "without waiting for anything");
  const lines = logLines(await contMsg(im, inf, DUMMY, true));
  inOrder(lines, ["Select master VM", NO_MASTER]);
  assert.ok(!lines.some(([, m]) => m === "Wait master VM to boot"), "no master to wait for");
  await im.ok("DestroyInfrastructure", inf, DUMMY);
});

test("only VMs with disk.0.os.name = 'linux' can be the master: without it, `No correct Master VM found`", { timeout: 30_000 }, async () => {
  const inf = await im.ok<string>("CreateInfrastructure", `${PUBLIC}\nsystem node (net_interface.0.connection = 'publica')\n${CONFIGURE_NODE}\ndeploy node 1`, DUMMY);
  const done = await pollUntil(() => state(im, inf), allVms("unconfigured"), 5_000, "the VM unconfigured");
  assert.equal(done.state, "unconfigured");
  inOrder(logLines(await contMsg(im, inf, DUMMY, true)), ["Select master VM", NO_MASTER]);
  await im.ok("DestroyInfrastructure", inf, DUMMY);
});

test("contextualize 1 (…) with a longer SSH wait: `ERROR: Max contextualization time passed.` and the VMs unconfigured", { timeout: 30_000 }, async () => {
  const slowSsh = await startMockServer({ im: { WAIT_SSH_ACCCESS_TIMEOUT: 30 } });
  try {
    const radl = `${PUBLIC}\n${node("publica")}\n${CONFIGURE_NODE}\ndeploy node 1\ncontextualize 1 ( system node configure node step 1 )`;
    const inf = await slowSsh.ok<string>("CreateInfrastructure", radl, DUMMY);
    const created = Date.now();
    const done = await pollUntil(() => state(slowSsh, inf), allVms("unconfigured"), 10_000, "the VM unconfigured");
    assert.equal(done.state, "unconfigured");
    assert.ok(Date.now() - created < 10_000);
    const log = await contMsg(slowSsh, inf, DUMMY, true);
    inOrder(logLines(log), ["Select master VM", "Wait master VM to have the SSH active.", MAX_TIME]);
    assert.ok(!log.includes("Timeout waiting SSH access."), log);
    await slowSsh.ok("DestroyInfrastructure", inf, DUMMY);
  } finally {
    await slowSsh.close();
  }
});

test("a contextualization that joins a run still waiting for its master restarts its time limit (§5.7.2)", { timeout: 30_000 }, async () => {
  const slowSsh = await startMockServer({ im: { WAIT_SSH_ACCCESS_TIMEOUT: 30 } });
  try {
    const radl = `${PUBLIC}\n${node("publica")}\n${CONFIGURE_NODE}\ndeploy node 1\ncontextualize 3 ( system node configure node step 1 )`;
    const inf = await slowSsh.ok<string>("CreateInfrastructure", radl, DUMMY);
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const joined = Date.now();
    assert.equal(await slowSsh.ok("Reconfigure", inf, "", DUMMY), "");
    await pollUntil(() => state(slowSsh, inf), allVms("unconfigured"), 10_000, "the VM unconfigured");
    const [expired] = inOrder(logLines(await contMsg(slowSsh, inf)), [MAX_TIME]);
    // 3 s from the Reconfigure, not from the create (the log's times have millisecond precision).
    assert.ok(expired - joined >= 2900, `the limit ran out ${expired - joined} ms after the Reconfigure`);
    await slowSsh.ok("DestroyInfrastructure", inf, DUMMY);
  } finally {
    await slowSsh.close();
  }
});

test("every system with an empty configure: contextualization is disabled", async () => {
  const radl = `${PUBLIC}\n${node("publica")}\nsystem front (net_interface.0.connection = 'publica')\nconfigure node ()\nconfigure front ()\ndeploy node 1\ndeploy front 1`;
  const inf = await im.ok<string>("CreateInfrastructure", radl, DUMMY);
  assert.deepEqual(await state(im, inf), { state: "configured", vm_states: { 0: "configured", 1: "configured" } });
  assert.equal(await contMsg(im, inf), DISABLED);
  await im.ok("DestroyInfrastructure", inf, DUMMY);
});

test("a VM whose system has an empty configure is configured at once, while the others are contextualized", { timeout: 30_000 }, async () => {
  const radl = `${PUBLIC}\n${node("publica")}\n${CONFIGURE_NODE}\nsystem front (net_interface.0.connection = 'publica')\nconfigure front ()\ndeploy front 1\ndeploy node 1`;
  const inf = await im.ok<string>("CreateInfrastructure", radl, DUMMY);
  assert.deepEqual((await state(im, inf)).vm_states, { 0: "configured", 1: "running" });
  assert.equal(await im.ok("GetVMContMsg", inf, "0", DUMMY), "Contextualization disabled");
  await pollUntil(() => state(im, inf), (s) => s.vm_states["1"] === "unconfigured", 15_000, "VM 1 unconfigured");
  inOrder(logLines(await contMsg(im, inf, DUMMY, true)), ["Select master VM", SSH_TIMEOUT]);
  await im.ok("DestroyInfrastructure", inf, DUMMY);
});

test("AddResource with context=false leaves the new VM running and the others as they were", { timeout: 30_000 }, async () => {
  const inf = await im.ok<string>("CreateInfrastructure", `${PUBLIC}\n${node("publica")}\ndeploy node 1\ncontextualize ()`, DUMMY);
  assert.deepEqual((await state(im, inf)).vm_states, { 0: "configured" });
  assert.deepEqual(await im.ok("AddResource", inf, "network publica\nsystem node\ndeploy node 1", DUMMY, false), [1]);
  assert.deepEqual((await state(im, inf)).vm_states, { 0: "configured", 1: "running" });
  await new Promise((resolve) => setTimeout(resolve, 1500));
  assert.deepEqual(await state(im, inf), { state: "running", vm_states: { 0: "configured", 1: "running" } });
  assert.equal(await contMsg(im, inf), DISABLED, "no new contextualization");
  await im.ok("DestroyInfrastructure", inf, DUMMY);
});

test("GetVMContMsg of a failed placeholder shows its launch error", async () => {
  const clouds = auth(dummyCloud("dummy"), mockCloud("bad", "fail"));
  const radl = `${PUBLIC}\n${node("publica")}\nsystem other (net_interface.0.connection = 'publica')\ndeploy node 1 dummy\ndeploy other 1 bad\ncontextualize ()`;
  const inf = await im.ok<string>("CreateInfrastructure", radl, clouds);
  const error = "Error launching the VMs of type other to cloud ID bad of type Mock. Attempt 1: boom\nAttempt 2: boom\n";
  const vmMessage = await im.ok<string>("GetVMContMsg", inf, "1", clouds);
  assert.ok(vmMessage.startsWith(error), vmMessage);
  assert.equal(vmMessage, `${error}\n`);
  const full = await contMsg(im, inf, clouds);
  assert.ok(full.startsWith(DISABLED), full);
  assert.ok(full.includes(`VM 1:\n${vmMessage}\n${"*".repeat(75)}\n`), full);
  assert.ok(!(await contMsg(im, inf, clouds, true)).includes("boom"), "headeronly leaves the VM messages out");
  const answer = await state(im, inf, clouds);
  assert.equal(answer.vm_states["1"], "failed");
  assert.equal(answer.state, "failed");
  await im.ok("DestroyInfrastructure", inf, clouds);
});

// Both cases hinge on §4.2 step 6: once the infrastructure-level contextualization has failed
// (configured=false), every running VM shows `unconfigured`, whatever its own flag.
test("a failed infrastructure step makes every running VM unconfigured, including VMs already flagged configured (§4.2, §4.4, §6.4)", { timeout: 30_000 }, async () => {
  // contextualize () with nothing on interface 0: the background IP wait runs out.
  const noIp = await im.ok<string>("CreateInfrastructure", "system node (cpu.count >= 1)\ndeploy node 1\ncontextualize ()", DUMMY);
  // An empty-configure VM (configured at once) next to a VM whose master SSH wait runs out.
  const mixed = await im.ok<string>("CreateInfrastructure",
    `${PUBLIC}\n${node("publica")}\n${CONFIGURE_NODE}\nsystem front (net_interface.0.connection = 'publica')\nconfigure front ()\ndeploy front 1\ndeploy node 1`, DUMMY);
  try {
    assert.deepEqual(await state(im, noIp), { state: "configured", vm_states: { 0: "configured" } });
    assert.deepEqual((await state(im, mixed)).vm_states, { 0: "configured", 1: "running" });
    const deadline = (Math.max(WAIT_RUNNING_S, WAIT_SSH_S) + 5) * 1000;
    const [noIpDone, mixedDone] = await Promise.all([
      pollUntil(() => state(im, noIp), allVms("unconfigured"), deadline, "the VM of the IP-wait case unconfigured"),
      pollUntil(() => state(im, mixed), allVms("unconfigured"), deadline, "both VMs of the mixed case unconfigured"),
    ]);
    assert.equal(noIpDone.state, "unconfigured");
    assert.equal(mixedDone.state, "unconfigured");
  } finally {
    await im.ok("DestroyInfrastructure", noIp, DUMMY);
    await im.ok("DestroyInfrastructure", mixed, DUMMY);
  }
});
