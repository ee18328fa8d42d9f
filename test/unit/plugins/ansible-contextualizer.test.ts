// The Ansible contextualizer's pure parts: its options, the inventory (and that Ansible reads
// back every value exactly, untemplated), the command line and environment, how the output is
// routed to VMs and read for failures, and how the process is run and cancelled. Logins and
// real playbook runs are in test/integration/ansible-contextualizer.test.ts.
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import { after, before, test } from "node:test";
import type { ContextNode, Contextualizer, PlaybookTask, PluginRegistrar } from "../../../core/index.ts";
import plugin, { AnsibleContextualizer, ed25519KeyPair, resolveOptions } from "../../../plugins/contextualizers/ansible/index.ts";
import { PlaybookOutput, playbookArguments, playbookEnvironment, runPlaybookProcess, type PlaybookFiles } from "../../../plugins/contextualizers/ansible/ansible-run.ts";
import { inventoryYaml, yamlString, type RunnerTarget } from "../../../plugins/contextualizers/ansible/inventory.ts";
import { RUN_PREFIX, claimRunFolder, sweepAbandonedRuns } from "../../../plugins/contextualizers/ansible/leftovers.ts";
import { shellQuote } from "../../../plugins/contextualizers/ansible/remote.ts";

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "infra-manager-ansible-unit-"));
});
after(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

function node(imId: number, system: string, extra: Partial<ContextNode["connection"]> = {}, variables: ContextNode["variables"] = {}): ContextNode {
  const host = `10.0.0.${imId + 1}`;
  return { imId, name: `${host}_${imId}`, system, connection: { host, port: 22, username: "root", ...extra }, variables: { IM_NODE_NUM: imId, ...variables } };
}

function task(targets: ContextNode[], nodes: ContextNode[], variables: PlaybookTask["variables"] = {}): PlaybookTask {
  return { infrastructureId: "inf", name: "main_front", targets, nodes, playbook: "[]", variables };
}

// --- options and registration -------------------------------------------------------------

test("options: defaults, overrides, and every bad value or unknown option refused", () => {
  assert.deepEqual(resolveOptions({}), { ansiblePlaybook: "ansible-playbook", connectTimeoutSeconds: 10, retryIntervalSeconds: 1.5, verbosity: 0, maxForks: 20, pipelining: true });
  assert.deepEqual(
    resolveOptions({ ansiblePlaybook: "/opt/ansible/bin/ansible-playbook", connectTimeoutSeconds: 3, retryIntervalSeconds: 0.2, verbosity: 2, maxForks: 5, pipelining: false }),
    { ansiblePlaybook: "/opt/ansible/bin/ansible-playbook", connectTimeoutSeconds: 3, retryIntervalSeconds: 0.2, verbosity: 2, maxForks: 5, pipelining: false },
  );
  for (const bad of [
    { ansiblePlaybook: "" }, { ansiblePlaybook: 1 }, { connectTimeoutSeconds: 0 }, { connectTimeoutSeconds: "5" }, { retryIntervalSeconds: -1 },
    { retryIntervalSeconds: Infinity }, { verbosity: 5 }, { verbosity: 1.5 }, { maxForks: 0 }, { pipelining: "yes" }, { connectTimeout: 5 },
  ]) {
    assert.throws(() => resolveOptions(bad), /option/, JSON.stringify(bad));
  }
});

test("the plugin: a contextualizer named Ansible; register() checks the options before registering", () => {
  assert.deepEqual(plugin.manifest, { name: "Ansible", kind: "contextualizer", version: "1.0.0", apiVersion: 1 });
  const registered: Contextualizer[] = [];
  const registrar: PluginRegistrar = { provider: () => assert.fail(), store: () => assert.fail(), contextualizer: (factory) => registered.push(factory()) };
  plugin.register(registrar, { verbosity: 1 });
  assert.equal(registered.length, 1);
  assert.ok(registered[0] instanceof AnsibleContextualizer);
  assert.equal(registered[0].name, "Ansible");
  assert.throws(() => plugin.register(registrar, { verbosity: "high" }), /verbosity/);
  assert.equal(registered.length, 1);
});

// --- inventory ------------------------------------------------------------------------------

test("inventory: a group per system, every host's IM_NODE_* variables, and the task's variables for all", () => {
  const front = node(0, "front", {}, { IM_NODE_HOSTNAME: "front" });
  const wn = node(1, "wn", { username: "cloudadm", password: "secret" }, { IM_NODE_HOSTNAME: "wn-1" });
  const text = inventoryYaml(task([front], [front, wn], { IM_INFRASTRUCTURE_ID: "inf", IM_WN_NUM_VMS: 1 }), new Map([[0, { host: "127.0.0.1", port: 40022, python: "/usr/bin/python3" }]]));
  assert.match(text, /^\{\n {2}"all": \{\n {4}"vars": \{/);
  assert.match(text, /"IM_INFRASTRUCTURE_ID": !unsafe "inf",\n\s+"IM_WN_NUM_VMS": 1,\n\s+"ansible_python_interpreter": !unsafe "auto_silent"/);
  assert.match(text, /"front": \{\n\s+"hosts": \{\n\s+"10\.0\.0\.1_0": \{\n\s+"ansible_host": !unsafe "127\.0\.0\.1",\n\s+"ansible_port": 40022,\n\s+"ansible_user": !unsafe "root",\n\s+"ansible_python_interpreter": !unsafe "\/usr\/bin\/python3",/);
  // Not a target: its own address, no Python path, and its password stays out of the file.
  assert.match(text, /"10\.0\.0\.2_1": \{\n\s+"ansible_host": !unsafe "10\.0\.0\.2",\n\s+"ansible_port": 22,\n\s+"ansible_user": !unsafe "cloudadm",\n\s+"IM_NODE_NUM": 1,/);
  assert.doesNotMatch(text, /secret/);
});

test("inventory: a target that logs in as another user than root with a password gets it as become password", () => {
  const wn = node(1, "wn", { username: "cloudadm", password: "s3cret" });
  const root = node(0, "front", { password: "rootpw" });
  const text = inventoryYaml(task([wn, root], [root, wn]), new Map([[1, { host: "10.0.0.2", port: 22 }], [0, { host: "10.0.0.1", port: 22 }]]));
  assert.match(text, /"ansible_become_password": !unsafe "s3cret"/);
  assert.doesNotMatch(text, /rootpw/);
});

test("inventory: a target missing from `nodes` is still in it", () => {
  const front = node(0, "front");
  const text = inventoryYaml(task([front], []), new Map([[0, { host: "10.0.0.1", port: 22 }]]));
  assert.match(text, /"10\.0\.0\.1_0"/);
});

test("yamlString: printable ASCII as is, quotes and backslashes escaped, everything else as \\u or \\U escapes", () => {
  assert.equal(yamlString(`a "b" \\ c`), String.raw`"a \"b\" \\ c"`);
  assert.equal(yamlString("tab\tnl\n\u2028é😀\x7f"), String.raw`"tab\u0009nl\u000a\u2028\u00e9\U0001f600\u007f"`);
  assert.equal(yamlString("\ud800"), String.raw`"\ufffd"`);
});

/** What `ansible-inventory --list` makes of an inventory: every host's variables, `!unsafe` unwrapped. */
function ansibleInventory(path: string): Promise<Record<string, Record<string, unknown>>> {
  return new Promise((resolve, reject) => {
    execFile("ansible-inventory", ["-i", path, "--list"], { env: { ...process.env, ANSIBLE_NOCOLOR: "1" } }, (error, stdout, stderr) => {
      if (error) return reject(new Error(`${error.message}\n${stderr}`));
      const unwrap = (value: unknown): unknown => {
        if (Array.isArray(value)) return value.map(unwrap);
        if (value && typeof value === "object") {
          if ("__ansible_unsafe" in value) return (value as { __ansible_unsafe: unknown }).__ansible_unsafe;
          return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, unwrap(item)]));
        }
        return value;
      };
      resolve((unwrap(JSON.parse(stdout)) as { _meta: { hostvars: Record<string, Record<string, unknown>> } })._meta.hostvars);
    });
  });
}

test("inventory: Ansible reads back every value exactly, JSON lists as structures, and templates none", async () => {
  const awkward = `it's "quoted" \\ {{ not_a_variable }} {% raw %} yes on 0x10 \n\ttab \u2028 \u0085 \x7f é 😀 #comment, [x]: {y}`;
  const radl = JSON.stringify([{ class: "system", id: "front", "disk.0.os.credentials.password": "{{ lookup('pipe', 'id') }}", "cpu.count_min": 1, flag: true, none: null }]);
  const front = node(0, "front", { username: "cloudadm", password: awkward }, { IM_NODE_HOSTNAME: "front", AWKWARD: awkward, NUMBER: 1.5, BIG: 1e21, FLAG: false });
  const path = join(dir, "inventory.yml");
  await writeFile(path, inventoryYaml(task([front], [front], { IM_INFRASTRUCTURE_RADL: radl, IM_INFRASTRUCTURE_AUTH: "user:pass", NOT_JSON: "[not json" }), new Map([[0, { host: "127.0.0.1", port: 2222 }]])));
  const hostvars = (await ansibleInventory(path))["10.0.0.1_0"];
  assert.equal(hostvars.AWKWARD, awkward);
  assert.equal(hostvars.ansible_become_password, awkward);
  assert.equal(hostvars.NUMBER, 1.5);
  assert.equal(hostvars.BIG, 1e21);
  assert.equal(hostvars.FLAG, false);
  assert.equal(hostvars.IM_NODE_NUM, 0);
  assert.equal(hostvars.ansible_port, 2222);
  assert.deepEqual(hostvars.IM_INFRASTRUCTURE_RADL, JSON.parse(radl));
  assert.equal(hostvars.IM_INFRASTRUCTURE_AUTH, "user:pass");
  assert.equal(hostvars.NOT_JSON, "[not json");
});

// --- command line and environment ------------------------------------------------------------

const FILES: PlaybookFiles = { dir: "/tmp/run", playbook: "/tmp/run/playbook.yml", inventory: "/tmp/run/inventory.yml", privateKey: "/tmp/run/id_ed25519" };

test("arguments: the targets as a comma list (so IPv6 names are not split at colons), forks, the key, -v", () => {
  assert.deepEqual(playbookArguments(FILES, ["10.0.0.1_0"], 1, 0), ["-i", "/tmp/run/inventory.yml", "-l", "10.0.0.1_0,", "-f", "1", "--private-key", "/tmp/run/id_ed25519", "/tmp/run/playbook.yml"]);
  assert.deepEqual(playbookArguments(FILES, ["a_0", "fe80::1_1"], 2, 3).slice(2, 6), ["-l", "a_0,fe80::1_1,", "-f", "2"]);
  assert.ok(playbookArguments(FILES, ["a_0"], 1, 3).includes("-vvv"));
});

test("environment: Ansible's settings win over the inherited environment; temporary files in the run's folder, connection masters' sockets in theirs", () => {
  const env = playbookEnvironment({ PATH: "/usr/bin", ANSIBLE_HOST_KEY_CHECKING: "True", ANSIBLE_SSH_ARGS: "-o ControlMaster=no" }, "/tmp/run", "/tmp/imcp-1", true);
  assert.equal(env.PATH, "/usr/bin");
  assert.equal(env.ANSIBLE_HOST_KEY_CHECKING, "False");
  assert.match(env.ANSIBLE_SSH_ARGS!, /ControlMaster=auto/, "one SSH connection per host for the whole run");
  assert.equal(env.ANSIBLE_SSH_CONTROL_PATH_DIR, "/tmp/imcp-1");
  assert.match(env.ANSIBLE_SSH_ARGS!, /StrictHostKeyChecking=no/);
  assert.match(env.ANSIBLE_SSH_ARGS!, /UserKnownHostsFile=\/dev\/null/);
  assert.equal(env.ANSIBLE_RETRY_FILES_ENABLED, "False");
  assert.equal(env.ANSIBLE_NOCOLOR, "1");
  assert.equal(env.ANSIBLE_LOCAL_TEMP, "/tmp/run/local-tmp");
  assert.equal(env.PYTHONUNBUFFERED, "1");
  assert.equal(env.ANSIBLE_PIPELINING, "True");
  assert.equal(playbookEnvironment({}, "/tmp/run", "/tmp/imcp-1", false).ANSIBLE_PIPELINING, "False");
});

test("environment: with a fact cache, facts are gathered only when none are cached, and kept in its folder", () => {
  const cached = playbookEnvironment({ ANSIBLE_GATHERING: "explicit" }, "/tmp/run", "/tmp/imcp-1", true, "/data/contextualization/inf-1/ansible-facts");
  assert.equal(cached.ANSIBLE_GATHERING, "smart");
  assert.equal(cached.ANSIBLE_CACHE_PLUGIN, "jsonfile");
  assert.equal(cached.ANSIBLE_CACHE_PLUGIN_CONNECTION, "/data/contextualization/inf-1/ansible-facts");
  assert.equal(cached.ANSIBLE_CACHE_PLUGIN_TIMEOUT, "86400");
  const uncached = playbookEnvironment({}, "/tmp/run", "/tmp/imcp-1", true);
  assert.equal(uncached.ANSIBLE_CACHE_PLUGIN, undefined);
  assert.equal(uncached.ANSIBLE_GATHERING, undefined);
});

test("shellQuote: one word whatever the text", () => {
  assert.equal(shellQuote("a b"), "'a b'");
  assert.equal(shellQuote("it's"), `'it'\\''s'`);
});

// --- output routing and failure reasons --------------------------------------------------------

const TARGETS = new Map([["10.0.0.1_0", 0], ["10.0.0.2_1", 1]]);

function reader(): { output: PlaybookOutput; pieces: [number | undefined, string][] } {
  const pieces: [number | undefined, string][] = [];
  return { output: new PlaybookOutput(TARGETS, (text, imId) => pieces.push([imId, text])), pieces };
}

/** The routed text, per VM (undefined: every VM). */
function byVm(pieces: [number | undefined, string][]): Map<number | undefined, string> {
  const routed = new Map<number | undefined, string>();
  for (const [imId, text] of pieces) routed.set(imId, (routed.get(imId) ?? "") + text);
  return routed;
}

const RUN = `
PLAY [10.0.0.1_0:10.0.0.2_1] ***************************************************

TASK [Gathering Facts] *********************************************************
ok: [10.0.0.1_0]
ok: [10.0.0.2_1]

TASK [debug] *******************************************************************
ok: [10.0.0.1_0] => {
    "msg": "zero"
}
ok: [10.0.0.2_1] => {
    "msg": "one"
}

TASK [fail] ********************************************************************
skipping: [10.0.0.1_0]
fatal: [10.0.0.2_1]: FAILED! => {"changed": false, "msg": "boom"}

PLAY RECAP *********************************************************************
10.0.0.1_0                 : ok=2    changed=0    unreachable=0    failed=0    skipped=1    rescued=0    ignored=0
10.0.0.2_1                 : ok=2    changed=0    unreachable=0    failed=1    skipped=0    rescued=0    ignored=0
`;

test("output: headers go to every VM, results (over several lines too) and recap lines to their VM", () => {
  const { output, pieces } = reader();
  // Chunks cut anywhere, mid-line included.
  for (let at = 0; at < RUN.length; at += 37) output.write("stdout", RUN.slice(at, at + 37));
  output.write("stderr", "[WARNING]: something\n");
  const results = output.results(2);
  const routed = byVm(pieces);
  assert.equal([...routed.values()].join("").length, RUN.length + "[WARNING]: something\n".length);
  assert.match(routed.get(undefined)!, /PLAY \[.*\n\nTASK \[Gathering Facts\][\s\S]*TASK \[fail\][\s\S]*PLAY RECAP[\s\S]*\[WARNING\]: something/);
  assert.equal(routed.get(0), `ok: [10.0.0.1_0]\nok: [10.0.0.1_0] => {\n    "msg": "zero"\n}\nskipping: [10.0.0.1_0]\n${RUN.split("\n").at(-3)}\n`);
  assert.match(routed.get(1)!, /^ok: \[10\.0\.0\.2_1\]\nok: \[10\.0\.0\.2_1\] => \{\n {4}"msg": "one"\n\}\nfatal: \[10\.0\.0\.2_1\]: FAILED! => .*\n10\.0\.0\.2_1 +: ok=2/);
  assert.deepEqual(results, new Map([[0, { ok: true }], [1, { ok: false, error: 'Task "fail" failed: boom' }]]));
});

test("output: an unindented line that is no result ends the result before it", () => {
  const { output, pieces } = reader();
  output.write("stdout", "ok: [10.0.0.1_0] => {\n    \"msg\": 1\n}\nincluded: /tmp/x.yml for 10.0.0.1_0, 10.0.0.2_1\n");
  assert.deepEqual(pieces, [[0, 'ok: [10.0.0.1_0] => {\n    "msg": 1\n}\n'], [undefined, "included: /tmp/x.yml for 10.0.0.1_0, 10.0.0.2_1\n"]]);
});

function failureOf(text: string, exitCode = 2): unknown {
  const output = new PlaybookOutput(new Map([["h_0", 0]]), () => {});
  output.write("stdout", text);
  return output.results(exitCode).get(0);
}

test("failure reasons: an ignored failure does not count, the last failure does (after a rescue too)", () => {
  assert.deepEqual(failureOf(`TASK [ignored] ***
fatal: [h_0]: FAILED! => {"msg": "ignore me"}
...ignoring

TASK [rescued] ***
fatal: [h_0]: FAILED! => {"msg": "first"}

TASK [rescue] ***
ok: [h_0]

TASK [command] ***
fatal: [h_0]: FAILED! => {"changed": true, "msg": "non-zero return code", "rc": 1, "stderr": "no such file"}
`), { ok: false, error: 'Task "command" failed: non-zero return code: no such file' });
});

test("failure reasons: a failed loop item, an unreachable host, a multi-line result", () => {
  assert.deepEqual(failureOf(`TASK [looped] ***
changed: [h_0] => (item=0)
failed: [h_0] (item=3) => {"ansible_loop_var": "item", "item": 3, "msg": "non-zero return code", "stderr": "err"}
`), { ok: false, error: 'Task "looped" (item=3) failed: non-zero return code: err' });
  assert.deepEqual(failureOf(`TASK [Gathering Facts] ***
fatal: [h_0]: UNREACHABLE! => {"changed": false, "msg": "Failed to connect to the host via ssh: Connection refused", "unreachable": true}
`, 4), { ok: false, error: 'Task "Gathering Facts": host unreachable: Failed to connect to the host via ssh: Connection refused' });
  assert.deepEqual(failureOf(`TASK [fail] ***
fatal: [h_0]: FAILED! => {
    "changed": false,
    "msg": "multi"
}
`), { ok: false, error: 'Task "fail" failed: multi' });
});

test("failure reasons: Ansible's own error, else the exit code; a long reason is cut; exit 0 is success", () => {
  const output = new PlaybookOutput(new Map([["h_0", 0]]), () => {});
  output.write("stderr", "ERROR! We were unable to read either as JSON nor YAML, these are the errors we got from each:\nmore\n");
  assert.deepEqual(output.results(4).get(0), { ok: false, error: "We were unable to read either as JSON nor YAML, these are the errors we got from each:" });
  assert.deepEqual(failureOf("", 250), { ok: false, error: "ansible-playbook exited with code 250" });
  const long = failureOf(`TASK [x] ***\nfatal: [h_0]: FAILED! => {"msg": "${"y".repeat(1000)}"}\n`) as { error: string };
  assert.equal(long.error.length, 500);
  assert.ok(long.error.endsWith("..."));
  assert.deepEqual(failureOf(`TASK [x] ***\nfatal: [h_0]: FAILED! => {"msg": "boom"}\n`, 0), { ok: true });
});

// --- the process ---------------------------------------------------------------------------

test("process: output streams as it comes; a missing executable is reported as such", async () => {
  const script = join(dir, "fake-ansible.sh");
  await writeFile(script, "#!/bin/sh\necho out; echo err >&2; exit 3\n");
  await chmod(script, 0o755);
  const seen: string[] = [];
  const outcome = await runPlaybookProcess(script, [], { cwd: dir, env: process.env, signal: new AbortController().signal, output: (stream, text) => seen.push(`${stream}:${text}`) });
  assert.deepEqual(outcome, { kind: "exited", code: 3 });
  assert.deepEqual(seen.sort(), ["stderr:err\n", "stdout:out\n"]);
  const missing = await runPlaybookProcess(join(dir, "no-such-ansible"), [], { cwd: dir, env: process.env, signal: new AbortController().signal, output: () => {} });
  assert.equal(missing.kind, "not started");
  assert.equal(missing.kind === "not started" && missing.error.code, "ENOENT");
});

test("process: cancelling kills the whole process group, children included", async () => {
  const script = join(dir, "slow-ansible.sh");
  const pidFile = join(dir, "child.pid");
  // A child that would outlive its parent unless its group is killed.
  await writeFile(script, `#!/bin/sh\nsleep 60 &\necho $! > ${shellQuote(pidFile)}\necho started\nwait\n`);
  await chmod(script, 0o755);
  const controller = new AbortController();
  const started = Date.now();
  const outcome = await runPlaybookProcess(script, [], {
    cwd: dir, env: process.env, signal: controller.signal,
    output: (_stream, text) => {
      if (text.includes("started")) controller.abort();
    },
  });
  assert.deepEqual(outcome, { kind: "cancelled" });
  assert.ok(Date.now() - started < 5000);
  const child = Number((await readFile(pidFile, "utf8")).trim());
  await sleep(100);
  assert.ok(!(await isRunning(child)), `the child ${child} still runs`);
});

/** Whether `pid` runs: a killed process may stay a zombie a while when nothing reaps it. */
async function isRunning(pid: number): Promise<boolean> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

// --- runs left by a server that died ------------------------------------------------------------

test("sweepAbandonedRuns: a dead server's run folder goes, with what still runs from it; a live server's stays", async () => {
  const root = await mkdtemp(join(dir, "sweep-"));
  const dead = join(root, `${RUN_PREFIX}dead`);
  const live = join(root, `${RUN_PREFIX}live`);
  const deadControl = await mkdtemp(join(root, "imcp-"));
  await mkdir(dead);
  await mkdir(live);
  // A process that has ended owned the first; this one owns the second.
  const ended = spawn("true");
  await new Promise((resolve) => ended.once("exit", resolve));
  await writeFile(join(dead, "owner.json"), JSON.stringify({ pid: ended.pid, started: "0", controlDir: deadControl }));
  await claimRunFolder(live, join(root, "imcp-live"));
  // What the dead server's ansible-playbook left running: its command line names the folder.
  const straggler = spawn("sh", ["-c", "sleep 60", dead], { detached: true, stdio: "ignore" });
  const exited = new Promise((resolve) => straggler.once("exit", (_code, signal) => resolve(signal)));
  try {
    assert.deepEqual(await sweepAbandonedRuns(root), [dead]);
    assert.equal(await exited, "SIGKILL");
    assert.deepEqual((await readdir(root)).sort(), [`${RUN_PREFIX}live`]);
  } finally {
    if (straggler.exitCode === null && straggler.signalCode === null) straggler.kill("SIGKILL");
  }
});

test("ed25519KeyPair: every pair loads in OpenSSH (ssh2 alone makes about one bad pair in fifty)", async () => {
  const keyFile = join(dir, "key");
  for (let i = 0; i < 150; i++) {
    const pair = ed25519KeyPair("test");
    await writeFile(keyFile, `${pair.private.trimEnd()}\n`, { mode: 0o600 });
    const { stdout } = await promisify(execFile)("ssh-keygen", ["-y", "-f", keyFile]);
    assert.equal(stdout.trim().split(" ").slice(0, 2).join(" "), pair.public.split(" ").slice(0, 2).join(" "));
  }
});
