// Contextualization of real machines (issue #4): DeployedNode VMs that are sshd hosts in network
// namespaces made by the test (test/fixtures/test-hosts.ts), configured through XML-RPC with the
// Ansible contextualizer: a master on the public network and two nodes reachable only through it.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { Client } from "ssh2";
import { PACKAGE_ROOT } from "../../runtime/config.ts";
import { startServerProcess, type ServerProcess } from "../fixtures/server-process.ts";
import { startTestServer, type TestServer } from "../fixtures/server.ts";
import { createTestLab, type SilentHost, type SshHost, type TestLab } from "../fixtures/test-hosts.ts";
import { pollUntil, rpcClient, type RpcClient } from "../fixtures/xmlrpc-client.ts";

const PLUGINS = [
  { module: join(PACKAGE_ROOT, "plugins/providers/deployed-node/index.ts") },
  { module: join(PACKAGE_ROOT, "plugins/contextualizers/ansible/index.ts") },
  { module: join(PACKAGE_ROOT, "plugins/stores/memory/index.ts") },
];
const AUTH = [{ type: "InfrastructureManager", username: "u", password: "p" }, { id: "hosts", type: "DeployedNode" }];
const PASSWORD = "first-pw";
const SSH_WAIT_S = 8;
const PUBLIC_IP_WAIT_S = 2;

type State = { state: string; vm_states: Record<string, string> };

let lab: TestLab;
let master: SshHost;
let nodes: SshHost[];
let im: TestServer;
let client: RpcClient;

/** The server's temporary files, Ansible's runs among them, go here: their processes can be told apart. */
let temporary: string;
let previousTmpdir: string | undefined;

before(async () => {
  temporary = await mkdtemp(join(tmpdir(), "contextualization-ssh-"));
  previousTmpdir = process.env.TMPDIR;
  process.env.TMPDIR = temporary;
  lab = await createTestLab({ name: "contextualization-ssh" });
  master = await lab.addHost({ name: "master", publicNet: true, privateNet: true, password: PASSWORD });
  nodes = [
    await lab.addHost({ name: "node1", privateNet: true, password: PASSWORD }),
    await lab.addHost({ name: "node2", privateNet: true, password: PASSWORD }),
  ];
  // The lab registers its public network with the network guard before the server's threads start.
  im = await startTestServer({ config: { plugins: PLUGINS, store: "memory" }, im: { WAIT_SSH_ACCCESS_TIMEOUT: SSH_WAIT_S, WAIT_PUBLIC_IP_TIMEOUT: PUBLIC_IP_WAIT_S } });
  client = rpcClient(im.url);
});
after(async () => {
  await im?.close();
  await lab?.destroy();
  if (previousTmpdir === undefined) delete process.env.TMPDIR;
  else process.env.TMPDIR = previousTmpdir;
  await rm(temporary, { recursive: true, force: true });
});

/** The processes whose command line mentions the server's temporary folder. */
function runsLeft(): string[] {
  return execFileSync("ps", ["-eo", "pid,args"], { encoding: "utf8" }).split("\n").filter((line) => line.includes(temporary));
}

async function ok<T>(method: string, ...params: unknown[]): Promise<T> {
  const [success, value] = await client.call<[boolean, T]>(method, ...params);
  assert.equal(success, true, `${method}: ${String(value)}`);
  return value;
}

const state = (id: string) => ok<State>("GetInfrastructureState", id, AUTH);

/** Waits until the infrastructure leaves `running` (and its VMs with it). */
async function settled(id: string, seconds = 180): Promise<State> {
  return pollUntil(() => state(id), (s) => s.state !== "running" && s.state !== "pending", seconds * 1000, `infrastructure ${id} to settle`);
}

/** An adopted machine has no image to choose: the URL only names it. */
function credentials(host: { username?: string }, password: string): string {
  return `disk.0.image.url = 'deployednode://existing' and disk.0.os.name = 'linux' and disk.0.os.credentials.username = '${host.username ?? "root"}' and disk.0.os.credentials.password = '${password}'`;
}

function publicSystem(name: string, host: { publicIp?: string; privateIp?: string; username?: string }, password = PASSWORD, extra = ""): string {
  const privateInterface = host.privateIp ? ` and net_interface.1.connection = 'privada' and net_interface.1.ip = '${host.privateIp}'` : "";
  return `system ${name} (net_interface.0.connection = 'publica' and net_interface.0.ip = '${host.publicIp}'${privateInterface} and ${credentials(host, password)}${extra ? ` and ${extra}` : ""})`;
}

function privateSystem(name: string, host: SshHost, extra = ""): string {
  return `system ${name} (net_interface.0.connection = 'privada' and net_interface.0.ip = '${host.privateIp}' and ${credentials(host, PASSWORD)}${extra ? ` and ${extra}` : ""})`;
}

const NETWORKS = "network publica (outbound = 'yes')\nnetwork privada ()";

function configure(name: string, yaml: string): string {
  return `configure ${name} (\n@begin\n${yaml}\n@end\n)`;
}

/** Writes the IM variables a playbook sees, and appends a line per run. */
const RECORD_VARIABLES = `---
- tasks:
  - copy:
      dest: /root/im-vars
      content: "{{ IM_NODE_HOSTNAME }} {{ IM_NODE_NUM }} {{ IM_MASTER_HOSTNAME }} {{ IM_INFRASTRUCTURE_ID }} {{ IM_NODE_NUM_VMS }} {{ IM_NODE_PRIVATE_IP }}"
  - shell: echo run >> /root/runs`;

/** Whether a login works, directly or through `via` (for hosts on the private network). */
async function canLogin(host: { publicIp?: string; privateIp?: string }, username: string, password: string, via?: { host: string; password: string }): Promise<boolean> {
  const connect = (client: Client, config: Record<string, unknown>) => new Promise<boolean>((resolve) => {
    client.once("ready", () => resolve(true)).once("error", () => resolve(false)).connect({ username, readyTimeout: 10_000, ...config });
  });
  if (!via) {
    const direct = new Client();
    const result = await connect(direct, { host: host.publicIp, port: 22, password });
    direct.end();
    return result;
  }
  const jump = new Client();
  assert.ok(await connect(jump, { host: via.host, port: 22, username: "root", password: via.password }), "the master accepts its current password");
  const stream = await new Promise<NodeJS.ReadWriteStream>((resolve, reject) =>
    jump.forwardOut("127.0.0.1", 0, host.privateIp!, 22, (error, channel) => (error ? reject(error) : resolve(channel))));
  const inner = new Client();
  const result = await connect(inner, { sock: stream, password });
  inner.end();
  jump.end();
  return result;
}

test("a master and two private nodes are configured: recipes ran with IM variables, Ansible output in GetVMContMsg, new passwords applied", { timeout: 300_000 }, async () => {
  const radl = `${NETWORKS}
${publicSystem("front", master, PASSWORD, "disk.0.os.credentials.new.password = 'Master-new-pw1'")}
${privateSystem("node", nodes[0])}
${configure("front", RECORD_VARIABLES)}
${configure("node", RECORD_VARIABLES)}
deploy front 1
deploy node 1`;
  // Two nodes of one system need two addresses: the second node is added as a system of its own
  // that reuses the node recipe.
  const id = await ok<string>("CreateInfrastructure", `${radl}
${privateSystem("node_b", nodes[1])}
deploy node_b 1
contextualize (
  system front configure front
  system node configure node
  system node_b configure node
)`, AUTH);
  const final = await settled(id);
  const log = await ok<string>("GetInfrastructureContMsg", id, AUTH);
  assert.deepEqual(final, { state: "configured", vm_states: { 0: "configured", 1: "configured", 2: "configured" } }, log);

  assert.equal((await master.readFile("/root/im-vars")).trim(), `vnode-0 0 vnode-0 ${id} 1 ${master.privateIp}`);
  assert.equal((await nodes[0].readFile("/root/im-vars")).trim(), `vnode-1 1 vnode-0 ${id} 1 ${nodes[0].privateIp}`);
  assert.equal((await nodes[1].readFile("/root/im-vars")).trim(), `vnode-2 2 vnode-0 ${id} 1 ${nodes[1].privateIp}`);

  const vmLog = await ok<string>("GetVMContMsg", id, "1", AUTH);
  assert.match(vmLog, /TASK \[copy\]/, vmLog);
  assert.match(vmLog, /changed: \[/, vmLog);
  for (const line of ["Select master VM", "Wait master VM to boot", "Wait master VM to have the SSH active."]) assert.ok(log.includes(`: ${line}\n`), log);

  // disk.0.os.credentials.new.password is applied: the new one logs in, the old one no longer does.
  assert.equal(await canLogin(master, "root", "Master-new-pw1"), true, "the new master password works");
  assert.equal(await canLogin(master, "root", PASSWORD), false, "the old master password is refused");
  const info = await ok<string>("GetVMInfo", id, "0", AUTH);
  assert.match(info, /disk\.0\.os\.credentials\.password = 'Master-new-pw1'/);
  // The nodes had no new password: IM gave them a random one, applied the same way.
  const nodeInfo = await ok<string>("GetVMInfo", id, "1", AUTH);
  const nodePassword = /disk\.0\.os\.credentials\.password = '([^']+)'/.exec(nodeInfo)?.[1];
  assert.ok(nodePassword && nodePassword !== PASSWORD, nodeInfo);
  assert.equal(await canLogin(nodes[0], "root", nodePassword, { host: master.publicIp!, password: "Master-new-pw1" }), true);
  assert.equal(await canLogin(nodes[0], "root", PASSWORD, { host: master.publicIp!, password: "Master-new-pw1" }), false);

  // Reconfigure with vm_list [1]: basic and main run everywhere, the configure item only on VM 1.
  assert.equal(await ok("Reconfigure", id, "", AUTH, [1]), "");
  assert.equal((await settled(id)).state, "configured");
  assert.deepEqual(await Promise.all([master, ...nodes].map(async (h) => (await h.readFile("/root/runs")).trim().split("\n").length)), [1, 2, 1]);
  // Ids given as strings never match (the reference's quirk): no configure item runs.
  assert.equal(await ok("Reconfigure", id, "", AUTH, ["0", "2"]), "");
  assert.equal((await settled(id)).state, "configured");
  assert.deepEqual(await Promise.all([master, ...nodes].map(async (h) => (await h.readFile("/root/runs")).trim().split("\n").length)), [1, 2, 1]);
  // A changed recipe replaces the stored one and runs on every VM of its systems.
  const changed = configure("node", "---\n- tasks:\n  - copy:\n      dest: /root/changed\n      content: \"{{ IM_NODE_NUM }}\"");
  assert.equal(await ok("Reconfigure", id, changed, AUTH), "");
  assert.equal((await settled(id)).state, "configured");
  assert.equal(await nodes[0].readFile("/root/changed"), "1");
  assert.equal(await nodes[1].readFile("/root/changed"), "2");
  assert.equal(await ok("DestroyInfrastructure", id, AUTH), "");
});

/** A one-host infrastructure on the public network; returns its id once settled. */
async function oneHost(host: { publicIp?: string; username?: string }, recipe: string, options: { password?: string; contextualize?: string } = {}): Promise<{ id: string; final: State; log: string; vmLog: string }> {
  const radl = `${NETWORKS}\n${publicSystem("solo", host, options.password)}\n${configure("solo", recipe)}\ndeploy solo 1\n${options.contextualize ?? ""}`;
  const id = await ok<string>("CreateInfrastructure", radl, AUTH);
  const final = await settled(id);
  const log = await ok<string>("GetInfrastructureContMsg", id, AUTH);
  const vmLog = await ok<string>("GetVMContMsg", id, "0", AUTH);
  return { id, final, log, vmLog };
}

test("facts gathered in one step serve a later recipe that gathers none; each contextualization gathers afresh; the cache goes with the infrastructure", { timeout: 180_000 }, async () => {
  const host = await lab.addHost({ name: "facts", publicNet: true, password: PASSWORD });
  const gathering = configure("gathering", "---\n- tasks:\n  - debug: msg=gathered");
  const reading = configure("reading", "---\n- gather_facts: false\n  tasks:\n  - copy:\n      dest: /root/im-facts\n      content: \"{{ ansible_facts.system }} {{ ansible_facts.date_time.epoch }}\"");
  const id = await ok<string>("CreateInfrastructure", `${NETWORKS}\n${publicSystem("solo", host)}\n${gathering}\n${reading}\ndeploy solo 1
contextualize (
  system solo configure gathering step 1
  system solo configure reading step 2
)`, AUTH);
  assert.equal((await settled(id)).state, "configured", await ok<string>("GetVMContMsg", id, "0", AUTH));
  const [system, firstEpoch] = (await host.readFile("/root/im-facts")).split(" ");
  assert.equal(system, "Linux");
  const cache = join(im.dataDir, "contextualization", id);
  assert.ok((await readdir(join(cache, "ansible-facts"))).length > 0, "the facts are cached under the data directory");

  // A new contextualization does not read the last one's facts: the machine may have changed.
  await new Promise((resolve) => setTimeout(resolve, 1100));
  assert.equal(await ok("Reconfigure", id, "", AUTH), "");
  assert.equal((await settled(id)).state, "configured", await ok<string>("GetVMContMsg", id, "0", AUTH));
  const secondEpoch = (await host.readFile("/root/im-facts")).split(" ")[1];
  assert.ok(Number(secondEpoch) > Number(firstEpoch), `the facts of the second contextualization (${secondEpoch}) are newer than the first's (${firstEpoch})`);

  assert.equal(await ok("DestroyInfrastructure", id, AUTH), "");
  await pollUntil(() => readdir(cache).then(() => true, () => false), (exists) => !exists, 10_000, "the cache to go with the infrastructure");
});

test("a failing recipe leaves the VM unconfigured with Ansible's error in its log", { timeout: 120_000 }, async () => {
  const host = await lab.addHost({ name: "failing", publicNet: true, password: PASSWORD });
  const { id, final, vmLog } = await oneHost(host, "---\n- tasks:\n  - command: /bin/false");
  assert.deepEqual(final, { state: "unconfigured", vm_states: { 0: "unconfigured" } });
  assert.match(vmLog, /fatal: \[.*\]: FAILED!/, vmLog);
  await ok("DestroyInfrastructure", id, AUTH);
  await host.stop();
});

test("contextualize 5 (...) with a longer recipe ends with the max-time message and unconfigured VMs", { timeout: 120_000 }, async () => {
  const host = await lab.addHost({ name: "slow", publicNet: true, password: PASSWORD });
  const started = Date.now();
  const { id, final, log } = await oneHost(host, "---\n- tasks:\n  - command: sleep 60", { contextualize: "contextualize 5 (system solo configure solo)" });
  assert.deepEqual(final, { state: "unconfigured", vm_states: { 0: "unconfigured" } });
  assert.ok(log.includes(": ERROR: Max contextualization time passed.\n"), log);
  assert.ok(Date.now() - started < 40_000, "the run was stopped at its time limit, not at the end of the recipe");
  await ok("DestroyInfrastructure", id, AUTH);
  await host.stop();
});

test("a master whose SSH never opens gives the reference's SSH wait error", { timeout: 120_000 }, async () => {
  const silent: SilentHost = await lab.addSilentHost({ name: "silent", publicNet: true });
  const { id, final, log } = await oneHost({ publicIp: silent.publicIp }, "---\n- tasks: []");
  assert.deepEqual(final, { state: "unconfigured", vm_states: { 0: "unconfigured" } });
  assert.ok(log.includes(": Contextualization Error: Error Waiting the Master VM to have the SSH active: Timeout waiting SSH access.\n"), log);
  await ok("DestroyInfrastructure", id, AUTH);
  await silent.stop();
});

test("wrong credentials give the reference's credentials error", { timeout: 120_000 }, async () => {
  const host = await lab.addHost({ name: "locked", publicNet: true, password: PASSWORD });
  const { id, final, log } = await oneHost(host, "---\n- tasks: []", { password: "not-the-password" });
  assert.deepEqual(final, { state: "unconfigured", vm_states: { 0: "unconfigured" } });
  assert.ok(log.includes(`: Contextualization Error: Error Waiting the Master VM to have the SSH active: Error connecting with ip: ${host.publicIp} incorrect credentials.\n`), log);
  await ok("DestroyInfrastructure", id, AUTH);
  await host.stop();
});

test("a VM on a public network that never gets its public IP stops the plan after WAIT_PUBLIC_IP_TIMEOUT: nothing runs, every VM unconfigured", { timeout: 120_000 }, async () => {
  const host = await lab.addHost({ name: "front-ip", publicNet: true, privateNet: true, password: PASSWORD });
  const recipe = "---\n- tasks:\n  - shell: echo run >> /root/runs";
  // The worker node has an address on the private network only, though it asks for the public one too.
  const worker = `system wn (net_interface.0.connection = 'privada' and net_interface.0.ip = '${nodes[0].privateIp}' and net_interface.1.connection = 'publica' and ${credentials(nodes[0], PASSWORD)})`;
  const radl = `${NETWORKS}\n${publicSystem("front", host)}\n${worker}\n${configure("front", recipe)}\n${configure("wn", recipe)}\ndeploy front 1\ndeploy wn 1`;
  const started = Date.now();
  const id = await ok<string>("CreateInfrastructure", radl, AUTH);
  const final = await settled(id);
  const log = await ok<string>("GetInfrastructureContMsg", id, AUTH);
  assert.deepEqual(final, { state: "unconfigured", vm_states: { 0: "unconfigured", 1: "unconfigured" } }, log);
  assert.ok(log.includes(": Wait master VM to have the SSH active.\n"), log);
  assert.ok(Date.now() - started >= PUBLIC_IP_WAIT_S * 1000, "the public IP was waited for");
  assert.equal(await host.exec(["test", "-e", "/root/runs"]).then((result) => result.code), 1, "no recipe ran on the master");
  await ok("DestroyInfrastructure", id, AUTH);
  await host.stop();
});

test("VMs on a network with a proxy_host are reached through it: none has a public address, all are configured", { timeout: 180_000 }, async () => {
  const jump = await lab.addHost({ name: "jump", publicNet: true, privateNet: true, password: "jump-pw" });
  const hidden = [await lab.addHost({ name: "hidden1", privateNet: true, password: PASSWORD }), await lab.addHost({ name: "hidden2", privateNet: true, password: PASSWORD })];
  const recipe = "---\n- tasks:\n  - shell: echo {{ IM_NODE_NUM }} >> /root/proxied";
  const radl = `network privada (proxy_host = 'root:jump-pw@${jump.publicIp}:22')
${privateSystem("hidden", hidden[0])}
${privateSystem("hidden_b", hidden[1])}
${configure("hidden", recipe)}
deploy hidden 1
deploy hidden_b 1
contextualize (
  system hidden configure hidden
  system hidden_b configure hidden
)`;
  const id = await ok<string>("CreateInfrastructure", radl, AUTH);
  const final = await settled(id);
  assert.deepEqual(final, { state: "configured", vm_states: { 0: "configured", 1: "configured" } }, await ok<string>("GetInfrastructureContMsg", id, AUTH));
  assert.equal(await hidden[0].readFile("/root/proxied"), "0\n");
  assert.equal(await hidden[1].readFile("/root/proxied"), "1\n");
  assert.match(jump.log(), /Accepted password for root/, "the logins went through the proxy host");
  await ok("DestroyInfrastructure", id, AUTH);
  for (const host of [jump, ...hidden]) await host.stop();
});

test("a VM that already has its new password (a change cut short) is logged into with it, which becomes its password", { timeout: 120_000 }, async () => {
  const host = await lab.addHost({ name: "changed", publicNet: true, password: "Already-new-1" });
  const radl = `${NETWORKS}\n${publicSystem("solo", host, "stale-pw", "disk.0.os.credentials.new.password = 'Already-new-1'")}\n${configure("solo", "---\n- tasks: []")}\ndeploy solo 1`;
  const id = await ok<string>("CreateInfrastructure", radl, AUTH);
  assert.deepEqual(await settled(id), { state: "configured", vm_states: { 0: "configured" } }, await ok<string>("GetInfrastructureContMsg", id, AUTH));
  const info = await ok<string>("GetVMInfo", id, "0", AUTH);
  assert.match(info, /disk\.0\.os\.credentials\.password = 'Already-new-1'/);
  assert.doesNotMatch(info, /credentials\.new\.password/);
  await ok("DestroyInfrastructure", id, AUTH);
  await host.stop();
});

test("DestroyInfrastructure during a playbook stops Ansible at once", { timeout: 120_000 }, async () => {
  const host = await lab.addHost({ name: "destroyed", publicNet: true, password: PASSWORD });
  const radl = `${NETWORKS}\n${publicSystem("solo", host)}\n${configure("solo", "---\n- tasks:\n  - command: sleep 300")}\ndeploy solo 1`;
  const id = await ok<string>("CreateInfrastructure", radl, AUTH);
  await pollUntil(() => ok<string>("GetVMContMsg", id, "0", AUTH), (text) => text.includes("TASK [command]"), 60_000, "the recipe to start");
  assert.ok(runsLeft().some((line) => line.includes("ansible-playbook")), "Ansible runs while the recipe does");
  assert.equal(await ok("DestroyInfrastructure", id, AUTH), "");
  await pollUntil(async () => runsLeft(), (left) => left.length === 0, 15_000, "Ansible to stop");
  await host.stop();
});

test("RemoveResource during a playbook stops it and contextualizes the VMs that remain", { timeout: 180_000 }, async () => {
  const [kept, removed] = [await lab.addHost({ name: "kept", publicNet: true, password: PASSWORD }), await lab.addHost({ name: "removed", publicNet: true, password: PASSWORD })];
  const id = await ok<string>("CreateInfrastructure", `${NETWORKS}
${publicSystem("kept", kept)}
${publicSystem("removed", removed)}
${configure("kept", "---\n- tasks:\n  - shell: echo run >> /root/runs")}
${configure("removed", "---\n- tasks:\n  - command: sleep 300")}
deploy kept 1
deploy removed 1`, AUTH);
  await pollUntil(() => ok<string>("GetVMContMsg", id, "1", AUTH), (text) => text.includes("TASK [command]"), 120_000, "the long recipe to start");
  await pollUntil(() => kept.readFile("/root/runs").catch(() => ""), (text) => text === "run\n", 60_000, "the short recipe to run");
  assert.equal(await ok("RemoveResource", id, "1", AUTH), 1);
  await pollUntil(async () => runsLeft().filter((line) => line.includes("sleep") || line.includes("ansible-playbook")), (left) => left.length === 0, 15_000, "the long run to stop");
  assert.deepEqual(await settled(id), { state: "configured", vm_states: { 0: "configured" } });
  assert.equal((await kept.readFile("/root/runs")).trim(), "run\nrun", "the remaining VM was contextualized again");
  const log = await ok<string>("GetVMContMsg", id, "0", AUTH);
  assert.equal(log.match(/PLAY RECAP/g)?.length, 1, `only the new run's output in the VM's log:\n${log}`);
  await ok("DestroyInfrastructure", id, AUTH);
  await kept.stop();
  await removed.stop();
});

test("a server killed during contextualization comes back with the VMs unconfigured, never running", { timeout: 180_000 }, async () => {
  const host = await lab.addHost({ name: "restarted", publicNet: true, password: PASSWORD });
  const dir = await mkdtemp(join(tmpdir(), "infra-manager-ctxt-restart-"));
  let server: ServerProcess | undefined;
  try {
    const configFile = join(dir, "config.json");
    await writeFile(configFile, JSON.stringify({
      listen: { host: "127.0.0.1", port: 0 }, dataDir: join(dir, "data"), store: "lowdb",
      plugins: [...PLUGINS.slice(0, 2).map((p) => p.module), join(PACKAGE_ROOT, "plugins/stores/lowdb/index.ts")],
      log: { level: "warn" },
    }));
    server = await startServerProcess(configFile);
    let remote = rpcClient(server.url);
    const radl = `${NETWORKS}\n${publicSystem("solo", host)}\n${configure("solo", "---\n- tasks:\n  - command: sleep 30")}\ndeploy solo 1`;
    const [created, id] = await remote.call<[boolean, string]>("CreateInfrastructure", radl, AUTH);
    assert.equal(created, true, id);
    await pollUntil(() => remote.call<[boolean, string]>("GetVMContMsg", id, "0", AUTH), ([, text]) => text.includes("TASK [command]"), 120_000, "the recipe to start");
    await server.stop("SIGKILL");

    server = await startServerProcess(configFile);
    remote = rpcClient(server.url);
    const [, after] = await remote.call<[boolean, State]>("GetInfrastructureState", id, AUTH);
    assert.deepEqual(after, { state: "unconfigured", vm_states: { 0: "unconfigured" } });
    // Contextualizing again works from the defined state.
    assert.deepEqual(await remote.call("Reconfigure", id, configure("solo", "---\n- tasks: []"), AUTH), [true, ""]);
    await pollUntil(() => remote.call<[boolean, State]>("GetInfrastructureState", id, AUTH), ([, s]) => s.state === "configured", 120_000, "configured after Reconfigure");
  } finally {
    await server?.stop("SIGKILL");
    await rm(dir, { recursive: true, force: true });
    await host.stop();
  }
});
