// The SSH test-host fixture (test/fixtures/test-hosts.ts): its hosts take ssh2 and Ansible logins
// by password and key, private hosts are reachable only through a host on both networks, silent
// hosts never open SSH, and nothing outlives the lab, whether destroyed, interrupted or killed.
import assert from "node:assert/strict";
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { ed25519KeyPair } from "../../plugins/contextualizers/ansible/index.ts";
import ssh2, { type ClientChannel, type ConnectConfig } from "ssh2";
import { createTestLab, LABS_DIR, type SilentHost, type SshHost, type TestLab } from "../fixtures/test-hosts.ts";
import { allowTestHost, isAllowedAddress, TEST_NETWORKS_ENV } from "../setup/network-guard.mjs";

const FIXTURE = fileURLToPath(new URL("../fixtures/test-hosts.ts", import.meta.url));
const GUARD = fileURLToPath(new URL("../setup/network-guard.mjs", import.meta.url));

// ssh2 is CommonJS: only its default export is reliably importable by name.
const { Client } = ssh2;
type Client = InstanceType<typeof Client>;

const installedKey = ed25519KeyPair();
let lab: TestLab;
let master: SshHost;
let node: SshHost;
let refusing: SilentHost;
let dropping: SilentHost;
let dir: string;
let installedKeyFile: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "test-hosts-"));
  installedKeyFile = join(dir, "installed_key");
  await writeFile(installedKeyFile, installedKey.private, { mode: 0o600 });
  lab = await createTestLab({ name: "test-hosts" });
  [master, node, refusing, dropping] = await Promise.all([
    lab.addHost({ name: "master", publicNet: true, privateNet: true, password: "master-pw", authorizedKeys: [installedKey.public] }),
    lab.addHost({ name: "node", privateNet: true, username: "cloudadm", authorizedKeys: [installedKey.public] }),
    lab.addSilentHost({ name: "refusing", publicNet: true }),
    lab.addSilentHost({ name: "dropping", publicNet: true, behaviour: "drop" }),
  ]);
});

after(async () => {
  await lab?.destroy();
  await rm(dir, { recursive: true, force: true });
});

function sshConnect(config: ConnectConfig): Promise<Client> {
  return new Promise((resolve, reject) => {
    const client = new Client();
    client.once("ready", () => resolve(client)).once("error", reject).connect({ port: 22, readyTimeout: 10_000, ...config });
  });
}

function sshExec(client: Client, command: string, input = ""): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    client.exec(command, (error, channel) => {
      if (error) return reject(error);
      let stdout = "";
      let stderr = "";
      channel.on("data", (chunk: Buffer) => (stdout += chunk));
      channel.stderr.on("data", (chunk: Buffer) => (stderr += chunk));
      channel.once("close", (code: number) => resolve({ code, stdout, stderr }));
      channel.end(input);
    });
  });
}

/** How a plain TCP connection attempt ends: "connected", "timeout" or the error code. */
function tcpOutcome(host: string, port: number, timeoutMs: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    socket.setTimeout(timeoutMs, () => {
      socket.destroy();
      resolve("timeout");
    });
    socket.once("connect", () => {
      socket.destroy();
      resolve("connected");
    });
    socket.once("error", (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
}

function runCommand(file: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(file, args, { env }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, output: `${stdout}${stderr}` });
    });
  });
}

/** Runs ad-hoc Ansible from this machine, as the server does, against one host. */
async function ansible(host: string, user: string, args: string[]): Promise<string> {
  const env = {
    ...process.env,
    ANSIBLE_HOST_KEY_CHECKING: "False",
    // No ControlPersist: its background ssh would outlive the command. Pipelining instead, for
    // fewer connections per module.
    ANSIBLE_SSH_ARGS: "-o ControlMaster=no -o UserKnownHostsFile=/dev/null",
    ANSIBLE_PIPELINING: "True",
    ANSIBLE_PYTHON_INTERPRETER: "/usr/bin/python3",
    ANSIBLE_NOCOLOR: "1",
    ANSIBLE_LOCAL_TEMP: join(dir, "ansible-tmp"),
  };
  const { code, output } = await runCommand("ansible", ["all", "-i", `${host},`, "-u", user, ...args], env);
  assert.equal(code, 0, `ansible ${args.join(" ")} failed:\n${output}`);
  return output;
}

test("a public host takes password logins (ssh2) and runs commands as its hostname", async () => {
  const client = await sshConnect({ host: master.publicIp, username: "root", password: "master-pw" });
  try {
    const { code, stdout } = await sshExec(client, "hostname && id -un && test -x /usr/bin/python3 && echo python3");
    assert.equal(code, 0);
    assert.equal(stdout, "master\nroot\npython3\n");
  } finally {
    client.end();
  }
  assert.match(master.log(), /Accepted password for root from 10\.213\.\d+\.1 /);
});

test("a private host is unreachable from here but reachable through the master with forwardOut", async () => {
  assert.equal(node.publicIp, undefined);
  assert.equal(isAllowedAddress(node.privateIp!), false, "the guard must not list private networks");
  allowTestHost(node.privateIp!);
  const started = Date.now();
  assert.equal(await tcpOutcome(node.privateIp!, 22, 3_000), "EHOSTUNREACH");
  assert.ok(Date.now() - started < 1_000, "the unreachable route answers at once");

  const jump = await sshConnect({ host: master.publicIp, username: "root", privateKey: installedKey.private });
  try {
    const stream = await new Promise<ClientChannel>((resolve, reject) =>
      jump.forwardOut("127.0.0.1", 0, node.privateIp!, 22, (error, channel) => (error ? reject(error) : resolve(channel))),
    );
    const inner = await sshConnect({ sock: stream, username: "cloudadm", privateKey: installedKey.private });
    try {
      const { code, stdout } = await sshExec(inner, "hostname && id -un && sudo -n id -un");
      assert.equal(code, 0);
      assert.equal(stdout, "node\ncloudadm\nroot\n");
    } finally {
      inner.end();
    }
  } finally {
    jump.end();
  }
  assert.match(node.log(), new RegExp(`Accepted publickey for cloudadm from ${master.privateIp!.replaceAll(".", "\\.")} `));
});

// Independent logins, run together: Ansible's start-up dominates each.
describe("Ansible, run from here as the server runs it", { concurrency: true }, () => {
  test("Ansible logs in with a key pushed over ssh2", async () => {
    const pushed = ed25519KeyPair();
    const keyFile = join(dir, "pushed_key");
    await writeFile(keyFile, pushed.private, { mode: 0o600 });
    const client = await sshConnect({ host: master.publicIp, username: "root", password: master.password });
    try {
      const { code, stderr } = await sshExec(client, "umask 077 && mkdir -p ~/.ssh && cat >> ~/.ssh/authorized_keys", `${pushed.public}\n`);
      assert.equal(code, 0, stderr);
    } finally {
      client.end();
    }
    const output = await ansible(master.publicIp!, "root", ["--private-key", keyFile, "-m", "ping"]);
    assert.match(output, /SUCCESS[\s\S]*"ping": "pong"/);
  });

  test("Ansible logs in with a password (sshpass) and the files it writes show in readFile", async () => {
    const content = `written by ansible at ${Date.now()}`;
    await ansible(master.publicIp!, "root", ["-e", JSON.stringify({ ansible_password: master.password }), "-m", "copy", "-a", JSON.stringify({ content, dest: "/root/from-ansible.txt", mode: "0600" })]);
    assert.equal(await master.readFile("/root/from-ansible.txt"), content);
    const { code, stdout } = await master.exec(["stat", "-c", "%a %U", "/root/from-ansible.txt"]);
    assert.equal(code, 0);
    assert.equal(stdout, "600 root\n");
    await assert.rejects(master.readFile("/no/such/file"), /cannot read \/no\/such\/file/);
  });

  test("Ansible reaches the private node through the master and becomes root with sudo", async () => {
    const proxy = `ssh -i ${installedKeyFile} -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -W %h:%p root@${master.publicIp}`;
    const output = await ansible(node.privateIp!, "cloudadm", ["--private-key", installedKeyFile, `--ssh-common-args=-o ProxyCommand="${proxy}"`, "-b", "-m", "command", "-a", "id -un"]);
    assert.match(output, /CHANGED \| rc=0 >>\s+root\b/);
  });
});

test("silent hosts never open SSH: one refuses connections, the other never answers", async () => {
  assert.equal(await tcpOutcome(refusing.publicIp!, 22, 3_000), "ECONNREFUSED");
  assert.equal(await tcpOutcome(dropping.publicIp!, 22, 1_000), "timeout");
});

/** Starts a test process that creates a lab with one host, and returns what it created. */
async function startLabProcess(): Promise<{ child: ChildProcess; id: string; pid: number; exited: Promise<unknown> }> {
  const script = join(dir, `lab-process-${Date.now()}.mts`);
  await writeFile(script, `import { createTestLab } from ${JSON.stringify(FIXTURE)};
const lab = await createTestLab({ name: "lab-process" });
const host = await lab.addHost({ name: "orphan", publicNet: true });
console.log(JSON.stringify({ id: lab.id, pid: host.pid }));
setInterval(() => {}, 1_000);
`);
  const child = spawn(process.execPath, ["--import", "tsx", "--import", GUARD, script], { stdio: ["ignore", "pipe", "inherit"] });
  const exited = new Promise((resolve) => child.once("exit", resolve));
  const line = await new Promise<string>((resolve, reject) => {
    let stdout = "";
    child.stdout!.on("data", (chunk) => {
      stdout += chunk;
      if (stdout.includes("\n")) resolve(stdout);
    });
    void exited.then(() => reject(new Error(`lab process exited early: ${stdout}`)));
  });
  return { child, exited, ...JSON.parse(line) };
}

const namespacesOf = async (id: string) => (await runCommand("ip", ["netns", "list"])).output.split("\n").filter((line) => line.startsWith(`${id}-`));
const isAlive = (pid: number) => existsSync(`/proc/${pid}`);

test("a test process cleans its lab up on SIGTERM; one killed by SIGKILL is swept by the next lab", async () => {
  const [terminated, killed] = await Promise.all([startLabProcess(), startLabProcess()]);
  assert.ok(isAlive(terminated.pid) && isAlive(killed.pid));

  terminated.child.kill("SIGTERM");
  killed.child.kill("SIGKILL");
  await Promise.all([terminated.exited, killed.exited]);
  assert.deepEqual(await namespacesOf(terminated.id), []);
  assert.equal(isAlive(terminated.pid), false);

  // Nothing cleans up after SIGKILL; the next lab created on the machine does. (That may be one
  // of another test process, if it is quicker than this one.)
  const next = await createTestLab({ name: "sweeper" });
  await next.destroy();
  const swept = async () => !isAlive(killed.pid) && (await namespacesOf(killed.id)).length === 0;
  for (const deadline = Date.now() + 5_000; !(await swept()) && Date.now() < deadline; ) await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal(isAlive(killed.pid), false);
  assert.deepEqual(await namespacesOf(killed.id), []);
});

test("destroy leaves no process, mount, namespace, interface, route or directory behind", async () => {
  const labDirectory = join(LABS_DIR, lab.id.slice("imt".length));
  const pids = [master.pid, node.pid];
  await lab.destroy();

  for (const pid of pids) assert.equal(isAlive(pid), false, `sshd ${pid} still runs`);
  const commandLines = await Promise.all((await readdir("/proc")).filter((entry) => /^\d+$/.test(entry)).map((pid) => readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "")));
  assert.deepEqual(commandLines.filter((line) => line.includes(labDirectory)), [], "a process of the lab is left");
  // Every process's mount table, not only this one's: hosts mount in namespaces of their own.
  const mountTables = await Promise.all((await readdir("/proc")).filter((entry) => /^\d+$/.test(entry)).map((pid) => readFile(`/proc/${pid}/mountinfo`, "utf8").catch(() => "")));
  assert.equal(mountTables.some((table) => table.includes(labDirectory)), false, "an overlay of the lab is still mounted");
  assert.deepEqual(await namespacesOf(lab.id), []);
  assert.doesNotMatch((await runCommand("ip", ["-o", "link"])).output, new RegExp(`${lab.id}-`));
  assert.doesNotMatch((await runCommand("ip", ["route"])).output, new RegExp(lab.privateNetwork.replaceAll(".", "\\.")));
  assert.equal(existsSync(labDirectory), false);
  assert.doesNotMatch(process.env[TEST_NETWORKS_ENV] ?? "", new RegExp(lab.publicNetwork.replaceAll(".", "\\.")));
  await assert.rejects(lab.addHost({ name: "late", publicNet: true }), /destroyed/);
});
