// The Ansible contextualizer against real SSH hosts (test/fixtures/test-hosts.ts): sshd servers
// in network namespaces of their own, a master on the public and private networks, a VM only
// on the private one (reached through the master, as IM does), and hosts that never answer.
// Calls go straight to the plugin, as a worker thread makes them.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import type { ConnectionInfo, ContextNode, ContextOpContext, PlaybookTask } from "../../core/index.ts";
import { AnsibleContextualizer, ed25519KeyPair, resolveOptions, type AnsibleOptions } from "../../plugins/contextualizers/ansible/index.ts";
import { createTestLab, type SilentHost, type SshHost, type TestLab } from "../fixtures/test-hosts.ts";

let lab: TestLab;
let master: SshHost;
let privateVm: SshHost;
let rootChanger: SshHost;
let sudoer: SshHost;
let noPython: SshHost;
let dropping: SilentHost;
let refusing: SilentHost;
let droppingBehindMaster: SilentHost;

before(async () => {
  lab = await createTestLab({ name: "ansible-contextualizer" });
  [master, privateVm, rootChanger, sudoer, noPython, dropping, refusing, droppingBehindMaster] = await Promise.all([
    lab.addHost({ name: "master", publicNet: true, privateNet: true, password: "master-pw" }),
    lab.addHost({ name: "private-vm", privateNet: true, username: "cloudadm", password: "private-pw" }),
    lab.addHost({ name: "root-changer", publicNet: true, password: "old-root-pw" }),
    lab.addHost({ name: "sudoer", publicNet: true, username: "cloudadm", password: "old-user-pw" }),
    lab.addHost({ name: "no-python", publicNet: true, password: "pw" }),
    lab.addSilentHost({ name: "dropping", publicNet: true, behaviour: "drop" }),
    lab.addSilentHost({ name: "refusing", publicNet: true, behaviour: "refuse" }),
    lab.addSilentHost({ name: "dropping-private", privateNet: true, behaviour: "drop" }),
  ]);
});
after(async () => {
  await lab?.destroy();
});

/** A plugin instance: each worker thread has its own, with its own runner key. */
function contextualizer(options: AnsibleOptions = {}): AnsibleContextualizer {
  return new AnsibleContextualizer(resolveOptions({ connectTimeoutSeconds: 5, retryIntervalSeconds: 0.2, ...options }));
}

interface RecordingContext extends ContextOpContext {
  controller: AbortController;
  /** All output, and the output about each VM (by IM id) with what was about every VM. */
  text(imId?: number): string;
}

function context(): RecordingContext {
  const controller = new AbortController();
  const pieces: [number | undefined, string][] = [];
  const log = { debug() {}, info() {}, warn() {}, error() {} };
  return {
    controller, signal: controller.signal, log,
    output: (text, imId) => pieces.push([imId, text]),
    text: (imId) => pieces.filter(([about]) => imId === undefined || about === undefined || about === imId).map(([, text]) => text).join(""),
  };
}

const login = (host: SshHost, password = host.password): ConnectionInfo => ({ host: host.publicIp!, port: 22, username: host.username, password });

function vm(imId: number, system: string, connection: ConnectionInfo, hostname: string): ContextNode {
  return { imId, name: `${connection.host}_${imId}`, system, connection, variables: { IM_NODE_HOSTNAME: hostname, IM_NODE_NUM: imId } };
}

const masterVm = () => vm(0, "front", login(master), "front");
const privateNode = () => vm(1, "wn", { host: privateVm.privateIp!, port: 22, username: privateVm.username, password: privateVm.password, proxy: login(master) }, "wn-1");

// The RADL as the runtime passes it: JSON text, with a recipe that Ansible must not template.
const RADL = JSON.stringify([{ class: "system", id: "front" }, { class: "configure", id: "front", recipes: "{{ lookup('pipe', 'id') }}" }]);

function playbookTask(targets: ContextNode[], tasks: string, name = "front_front"): PlaybookTask {
  const hosts = targets.map((node) => node.name).join(":");
  const playbook = `- hosts: "${hosts}"\n  become: true\n  gather_facts: false\n  tasks:\n${tasks}`;
  return { infrastructureId: "inf-1", name, targets, nodes: [masterVm(), privateNode()], playbook, variables: { IM_INFRASTRUCTURE_ID: "inf-1", IM_INFRASTRUCTURE_RADL: RADL } };
}

test("waitForAccess: a VM with a public address, and one reached through the master", async () => {
  const plugin = contextualizer();
  assert.deepEqual(await plugin.waitForAccess(masterVm(), 30, context()), { ok: true });
  assert.deepEqual(await plugin.waitForAccess(privateNode(), 30, context()), { ok: true });
});

test("waitForAccess: a VM behind the master that never answers runs out of time too, and a cancel stops it at once", async () => {
  const node = vm(9, "wn", { host: droppingBehindMaster.privateIp!, port: 22, username: "root", password: "x", proxy: login(master) }, "dropping-private");
  const started = Date.now();
  const result = await contextualizer({ connectTimeoutSeconds: 1 }).waitForAccess(node, 3, context());
  assert.deepEqual(result, { ok: false, reason: "timeout", message: "Timeout waiting SSH access." });
  assert.ok(Date.now() - started < 8000, `${Date.now() - started} ms`);
  const ctx = context();
  setTimeout(() => ctx.controller.abort(), 500);
  const cancelledAt = Date.now();
  await contextualizer({ connectTimeoutSeconds: 30 }).waitForAccess(node, 60, ctx);
  assert.ok(Date.now() - cancelledAt < 3000, `${Date.now() - cancelledAt} ms after a cancel at 500 ms`);
});

test("waitForAccess: a wrong password gives up after three rejected logins", async () => {
  const started = Date.now();
  const result = await contextualizer().waitForAccess(vm(0, "front", login(master, "wrong"), "front"), 60, context());
  assert.deepEqual(result, { ok: false, reason: "credentials", message: `Error connecting with ip: ${master.publicIp} incorrect credentials.` });
  assert.ok(Date.now() - started < 20_000, "it did not wait for the timeout");
  assert.ok((master.log().match(/Failed password for root/g) ?? []).length >= 3);
});

test("waitForAccess: a host that never answers and one that refuses run out of time", async () => {
  for (const silent of [dropping, refusing]) {
    const started = Date.now();
    const node = vm(5, "front", { host: silent.publicIp!, port: 22, username: "root", password: "x" }, "silent");
    const result = await contextualizer({ connectTimeoutSeconds: 1 }).waitForAccess(node, 2, context());
    assert.deepEqual(result, { ok: false, reason: "timeout", message: "Timeout waiting SSH access." });
    const elapsed = Date.now() - started;
    assert.ok(elapsed >= 1900 && elapsed < 6000, `${silent.name}: ${elapsed} ms`);
  }
});

test("prepare: Python found, the runner's key authorized once however often it runs, also behind the master", async () => {
  const plugin = contextualizer();
  const ctx = context();
  assert.deepEqual(await plugin.prepare(masterVm(), ctx), { ok: true });
  assert.deepEqual(await plugin.prepare(masterVm(), context()), { ok: true });
  assert.match(ctx.text(), /Python 3\.\d+\.\d+ found at \/usr\/bin\/python3/);
  const keys = (await master.readFile("/root/.ssh/authorized_keys")).split("\n").filter((line) => line.includes("infra-manager-ansible@"));
  assert.equal(keys.length, 1);
  assert.deepEqual(await plugin.prepare(privateNode(), context()), { ok: true });
  assert.match(await privateVm.readFile("/home/cloudadm/.ssh/authorized_keys"), /^ssh-ed25519 \S+ infra-manager-ansible@/m);
});

test("prepare: a VM without Python", async () => {
  await noPython.exec(["rm", "-f", "/usr/bin/python3", "/usr/bin/python3.11", "/usr/bin/python"]);
  const result = await contextualizer().prepare(vm(6, "front", login(noPython), "nopython"), context());
  assert.deepEqual(result, { ok: false, error: "Python not found in the VM: Ansible needs python3" });
});

test("runPlaybook: one run configures the master and a VM behind it, with IM's variables untemplated; output goes to each VM", async () => {
  // Another instance than the one that ran prepare: another worker thread, another key.
  const plugin = contextualizer();
  const ctx = context();
  const task = playbookTask([masterVm(), privateNode()], `    - copy:
        dest: /root/im-test
        content: "{{ IM_NODE_HOSTNAME }} {{ IM_INFRASTRUCTURE_ID }} {{ IM_INFRASTRUCTURE_RADL[0].id }} {{ IM_INFRASTRUCTURE_RADL[1].recipes }}\\n"
`);
  const results = await plugin.runPlaybook(task, ctx);
  assert.deepEqual(results, { 0: { ok: true }, 1: { ok: true } }, ctx.text());
  assert.equal(await master.readFile("/root/im-test"), "front inf-1 front {{ lookup('pipe', 'id') }}\n");
  // Written as root by a user that is not: become through sudo.
  assert.equal(await privateVm.readFile("/root/im-test"), "wn-1 inf-1 front {{ lookup('pipe', 'id') }}\n");
  const [masterName, privateName] = task.targets.map((node) => node.name);
  assert.match(ctx.text(0), /TASK \[copy\]/);
  assert.match(ctx.text(0), new RegExp(`changed: \\[${masterName}\\]`));
  assert.doesNotMatch(ctx.text(0), new RegExp(`\\[${privateName}\\]`));
  assert.match(ctx.text(1), new RegExp(`changed: \\[${privateName}\\]`));
  assert.match(ctx.text(), /PLAY RECAP/);
});

test("runPlaybook: a failed task fails its VM only, with the task's message, and its output streams", async () => {
  const ctx = context();
  const results = await contextualizer().runPlaybook(playbookTask([masterVm(), privateNode()], `    - name: fail on the worker
      fail:
        msg: boom on {{ IM_NODE_HOSTNAME }}
      when: IM_NODE_NUM == 1
`), ctx);
  assert.deepEqual(results, { 0: { ok: true }, 1: { ok: false, error: 'Task "fail on the worker" failed: boom on wn-1' } });
  assert.match(ctx.text(1), /fatal: \[.*_1\]: FAILED! => .*boom on wn-1/);
  assert.doesNotMatch(ctx.text(0), /fatal/);
});

test("runPlaybook: cancelling stops Ansible and everything it started, and removes the run's files", async () => {
  const temporary = await mkdtemp(join(tmpdir(), "ansible-cancel-"));
  const previous = process.env.TMPDIR;
  process.env.TMPDIR = temporary; // the run's folder goes here, so that its processes can be told apart
  try {
    const ctx = context();
    const running = contextualizer().runPlaybook(playbookTask([masterVm()], "    - name: sleep\n      command: sleep 300\n"), {
      ...ctx,
      output: (text, imId) => {
        ctx.output(text, imId);
        if (text.includes("TASK [sleep]")) setTimeout(() => ctx.controller.abort(), 1000);
      },
    });
    const started = Date.now();
    assert.deepEqual(await running, { 0: { ok: false, error: "cancelled" } });
    assert.ok(Date.now() - started < 60_000);
    assert.deepEqual(await readdir(temporary), []);
    const left = execFileSync("ps", ["-eo", "pid,args"], { encoding: "utf8" }).split("\n").filter((line) => line.includes(temporary));
    assert.deepEqual(left, []);
  } finally {
    if (previous === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = previous;
    await rm(temporary, { recursive: true, force: true });
  }
});

test("runPlaybook: the SSH connection masters of a run end with it", async () => {
  // A master's command line names its socket, in its run's /tmp/imcp-* folder: one whose
  // folder is gone outlived its run.
  const orphans = () => execFileSync("ps", ["-eo", "args"], { encoding: "utf8" }).split("\n")
    .map((line) => /^ssh: (\/tmp\/imcp-[^/]+)\//.exec(line)?.[1])
    .filter((folder): folder is string => folder !== undefined && !existsSync(folder));
  const ctx = context();
  assert.deepEqual(await contextualizer().runPlaybook(playbookTask([masterVm(), privateNode()], "    - ping:\n    - ping:\n"), ctx), { 0: { ok: true }, 1: { ok: true } }, ctx.text());
  assert.deepEqual(orphans(), []);
});

test("runPlaybook: without ansible-playbook, every target fails saying so", async () => {
  const result = await contextualizer({ ansiblePlaybook: "/nonexistent/ansible-playbook" }).runPlaybook(playbookTask([masterVm()], "    - ping:\n"), context());
  assert.deepEqual(result, { 0: { ok: false, error: "/nonexistent/ansible-playbook not found: install ansible-core" } });
});

test("changeCredentials: root's new password works and the old one no longer does", async () => {
  const plugin = contextualizer();
  const node = vm(7, "front", login(rootChanger), "changer");
  assert.deepEqual(await plugin.changeCredentials(node, { password: "new-root-pw" }, context()), { ok: true });
  assert.deepEqual(await plugin.waitForAccess(vm(7, "front", login(rootChanger, "new-root-pw"), "changer"), 10, context()), { ok: true });
  assert.equal((await plugin.waitForAccess(node, 10, context())).ok, false);
});

test("a user whose sudo asks for a password: playbooks become root with it; new password and key through sudo", async () => {
  await sudoer.exec(["sh", "-c", "echo 'cloudadm ALL=(ALL:ALL) ALL' > /etc/sudoers.d/test-host-user"]);
  const plugin = contextualizer();
  const node = vm(8, "front", login(sudoer), "sudoer");
  const task = { ...playbookTask([node], "    - copy: { dest: /root/become-test, content: \"{{ IM_NODE_HOSTNAME }}\" }\n"), nodes: [node] };
  const ctx = context();
  assert.deepEqual(await plugin.runPlaybook(task, ctx), { 8: { ok: true } }, ctx.text());
  assert.equal(await sudoer.readFile("/root/become-test"), "sudoer");

  const key = ed25519KeyPair();
  assert.deepEqual(await plugin.changeCredentials(node, { password: "new-user-pw", privateKey: key.private }, context()), { ok: true });
  const withKey = { host: sudoer.publicIp!, port: 22, username: "cloudadm", privateKey: key.private };
  assert.deepEqual(await plugin.waitForAccess(vm(8, "front", withKey, "sudoer"), 10, context()), { ok: true });
  assert.deepEqual(await plugin.waitForAccess(vm(8, "front", login(sudoer, "new-user-pw"), "sudoer"), 10, context()), { ok: true });
  assert.equal((await plugin.waitForAccess(node, 10, context())).ok, false);
});

test("changeCredentials: the password of a VM behind the master (password-less sudo)", async () => {
  const plugin = contextualizer();
  assert.deepEqual(await plugin.changeCredentials(privateNode(), { password: "private-pw-2" }, context()), { ok: true });
  const changed = privateNode();
  changed.connection.password = "private-pw-2";
  assert.deepEqual(await plugin.waitForAccess(changed, 10, context()), { ok: true });
  assert.equal((await plugin.waitForAccess(privateNode(), 10, context())).ok, false);
});
