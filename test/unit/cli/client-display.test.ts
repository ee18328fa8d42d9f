import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { localResolvers, readAuthText } from "../../../runtime/client/auth-file.ts";
import { shellJoin, sshCommand, sshTarget } from "../../../runtime/client/ssh.ts";
import { table } from "../../../runtime/cli/client-command.ts";
import { describeProgress, formatElapsed, judge, plainLine, redraw, renderLive, type ProgressSnapshot } from "../../../runtime/cli/progress.ts";

// The pure parts of the client commands: the live display, the wait rule, tables, the ssh
// command built from a VM's description, and the local auth-file resolvers.

const ID = "3497e03a-ea09-11f1-b740-02fc00000001";
const snap = (state: string, vmStates: Record<string, string>, elapsedMs = 12_000): ProgressSnapshot => ({ infId: ID, state, vmStates, elapsedMs });

test("the live display: a header with the state and time, one row per VM in id order, a summary", () => {
  const lines = renderLive(snap("running", { "10": "pending", "2": "configured", "0": "running" }), { frame: 0 });
  assert.deepEqual(lines, [
    `Infrastructure ${ID}  ⠋ running  12s`,
    "  VM  STATE",
    "  0   ⠋ running",
    "  2   ✔ configured",
    "  10  ⠋ pending",
    "  3 VMs: 1 running, 1 configured, 1 pending",
  ]);
});

test("the live display: the spinner turns with the frame; settled states have fixed marks", () => {
  const [head] = renderLive(snap("pending", {}), { frame: 3 });
  assert.equal(head, `Infrastructure ${ID}  ⠸ pending  12s`);
  const lines = renderLive(snap("failed", { "0": "failed", "1": "unconfigured", "2": "stopped", "3": "off", "4": "unknown" }), { frame: 7 });
  assert.deepEqual(lines.slice(2, 7), ["  0   ✖ failed", "  1   ✖ unconfigured", "  2   ■ stopped", "  3   ○ off", "  4   ? unknown"]);
});

test("the live display: before any VM exists it says so", () => {
  assert.deepEqual(renderLive(snap("pending", {}, 500)), [`Infrastructure ${ID}  ⠋ pending  0s`, "  no VMs yet"]);
});

test("the live display: colours only when asked, by state", () => {
  const plain = renderLive(snap("configured", { "0": "configured" }));
  assert.ok(plain.every((line) => !line.includes("\x1b")));
  const colored = renderLive(snap("configured", { "0": "configured", "1": "failed" }), { color: true });
  assert.match(colored[0], /\x1b\[1mInfrastructure .*\x1b\[0m {2}\x1b\[32m✔ configured\x1b\[0m {2}12s/);
  assert.equal(colored[2], "  0   \x1b[32m✔ configured\x1b[0m");
  assert.equal(colored[3], "  1   \x1b[31m✖ failed\x1b[0m");
});

test("the live display: many VMs are cut to maxRows with the rest summed up; long lines to the width", () => {
  const states = Object.fromEntries(Array.from({ length: 30 }, (_, i) => [String(i), i < 25 ? "configured" : "pending"]));
  const lines = renderLive(snap("running", states), { maxRows: 5, columns: 40 });
  assert.equal(lines.length, 1 + 1 + 4 + 1 + 1);
  assert.equal(lines[0], "Infrastructure 3497e03a-ea09-11f1-b740…");
  assert.equal(lines[0].length, 39);
  assert.equal(lines[5], "  3   ✔ configured");
  assert.equal(lines[6], "  … 26 more: 21 configured, 5 pending");
  assert.equal(lines[7], "  30 VMs: 25 configured, 5 pending");
});

test("redraw moves up over the previous frame, clears it and draws the new one", () => {
  assert.equal(redraw(0, ["a", "b"]), "\x1b[Ja\nb\n");
  assert.equal(redraw(2, ["c"]), "\x1b[2F\x1b[Jc\n");
});

test("plain lines: time, state and each VM (counts beyond five VMs)", () => {
  assert.equal(plainLine(snap("pending", {}, 300)), "[    0s] pending (no VMs yet)");
  assert.equal(plainLine(snap("running", { "1": "pending", "0": "running" }, 65_000)), "[ 1m05s] running: VM 0 running, VM 1 pending");
  const many = Object.fromEntries(Array.from({ length: 6 }, (_, i) => [String(i), i ? "configured" : "failed"]));
  assert.equal(describeProgress({ state: "failed", vmStates: many }), "failed: 6 VMs, 1 failed, 5 configured");
  assert.equal(formatElapsed(2 * 3600_000 + 3 * 60_000), "2h03m");
});

test("waiting: done at the target, on through transient states, failed when settled elsewhere", () => {
  assert.equal(judge("configured", "configured"), "done");
  for (const state of ["pending", "running", "unknown", "deleting"]) assert.equal(judge(state, "configured"), "wait");
  for (const state of ["failed", "unconfigured", "stopped", "off"]) assert.equal(judge(state, "configured"), "fail");
  // waiting for `stopped` goes through `configured` (the stop has not shown yet), not through failures
  assert.equal(judge("configured", "stopped"), "wait");
  assert.equal(judge("stopped", "stopped"), "done");
  assert.equal(judge("failed", "stopped"), "fail");
  assert.equal(judge("failed", "failed"), "done");
});

test("tables pad every column but the last", () => {
  assert.equal(table(["VM", "STATE"], [["0", "configured"], ["10", "off"]]), "VM  STATE\n0   configured\n10  off");
});

const VM_INFO = `network privada ( outbound = 'no' )
network publica ( outbound = 'yes' and outports = '2222-22,80-80' )
system front (
  net_interface.0.connection = 'privada' and
  net_interface.0.ip = '10.0.0.5' and
  net_interface.1.connection = 'publica' and
  net_interface.1.ip = '8.8.8.8' and
  disk.0.os.credentials.username = 'ubuntu' and
  disk.0.os.credentials.password = 'pass word' and
  state = 'configured'
)`;

test("ssh: the public IP first, the port mapped to 22, the password through SSHPASS", () => {
  const target = sshTarget(VM_INFO, "0");
  assert.deepEqual(target, { host: "8.8.8.8", port: 2222, username: "ubuntu", password: "pass word", public: true });
  const argv = sshCommand(target);
  assert.deepEqual(argv, ["sshpass", "-e", "ssh", "-p", "2222", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "ubuntu@8.8.8.8"]);
  assert.equal(shellJoin(["echo", "it's", "a b"]), `echo 'it'\\''s' 'a b'`);
});

test("ssh: a private key wins over the password; a remote command goes last", () => {
  const info = VM_INFO.replace("state =", "disk.0.os.credentials.private_key = '-----BEGIN KEY-----\nxyz\n-----END KEY-----' and state =");
  const target = sshTarget(info, "0");
  assert.equal(target.privateKey, "-----BEGIN KEY-----\nxyz\n-----END KEY-----");
  assert.deepEqual(sshCommand(target, { keyFile: "/tmp/k", remoteCommand: ["uptime"] }), [
    "ssh", "-p", "2222", "-i", "/tmp/k", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "ubuntu@8.8.8.8", "uptime",
  ]);
});

test("ssh: a VM with only a private IP, reached through a jump host", () => {
  const inner = sshTarget(VM_INFO.replace(/ and\n {2}net_interface\.1\.connection = 'publica' and\n {2}net_interface\.1\.ip = '8\.8\.8\.8'/, ""), "1");
  assert.deepEqual(inner, { host: "10.0.0.5", port: 22, username: "ubuntu", password: "pass word", public: false });
  const front = sshTarget(VM_INFO, "0");
  const argv = sshCommand({ ...inner, password: undefined, privateKey: "K" }, { keyFile: "/tmp/k1", jump: { target: front } });
  assert.equal(argv[0], "ssh");
  assert.ok(argv.includes("-o") && argv.some((a) => a === "ProxyCommand=sshpass -p 'pass word' ssh -W %h:%p -p 2222 -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null ubuntu@8.8.8.8"), argv.join(" "));
});

test("ssh: a VM on a network with a proxy_host goes through it (its user, or the local one when it names none)", () => {
  const info = (proxy: string) => `network privada (proxy_host = '${proxy}')
system wn (net_interface.0.connection = 'privada' and net_interface.0.ip = '10.0.0.6' and disk.0.os.credentials.username = 'ubuntu' and disk.0.os.credentials.private_key = 'K')`;
  const target = sshTarget(info("ops:jump pw@203.0.113.7:2200"), "1");
  assert.deepEqual(target.proxy, { host: "203.0.113.7", port: 2200, username: "ops", password: "jump pw" });
  const argv = sshCommand(target, { keyFile: "/tmp/k", jump: { target: target.proxy! } });
  assert.ok(argv.includes("ProxyCommand=sshpass -p 'jump pw' ssh -W %h:%p -p 2200 -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null ops@203.0.113.7"), argv.join(" "));
  const anonymous = sshTarget(info("bastion.example.org"), "1");
  assert.ok(sshCommand(anonymous, { keyFile: "/tmp/k", jump: { target: anonymous.proxy! } })
    .includes("ProxyCommand=ssh -W %h:%p -p 22 -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null bastion.example.org"));
});

test("ssh: clear errors for a VM without IP or credentials", () => {
  assert.throws(() => sshTarget("system s ( state = 'pending' and disk.0.os.credentials.username = 'u' )", "3"), /^Error: VM 3 has no IP address yet \(state: pending\)$/);
  assert.throws(() => sshTarget("network p ( outbound = 'yes' )\nsystem s ( net_interface.0.connection = 'p' and net_interface.0.ip = '1.2.3.4' and disk.0.os.credentials.username = 'u' )", "0"), /neither a password nor a private key/);
  assert.throws(() => sshTarget("system s ( ", "0"), /cannot read the description of VM 0/);
});

test("the command line's auth resolvers read real files (~ and relative paths) and run commands", async () => {
  const dir = await mkdtemp(join(tmpdir(), "infra-manager-auth-"));
  try {
    const key = join(dir, "key.pem");
    await writeFile(key, "KEY\n");
    assert.deepEqual(readAuthText(`type = EC2; private_key = file(${key}); token = command(echo hello  world)`), [
      { type: "EC2", private_key: "KEY", token: "hello world" },
    ]);
    assert.throws(() => readAuthText(`type = EC2; private_key = file(${join(dir, "nope")})`), /line 1: cannot read file\(.*nope\) for 'private_key': ENOENT/);
    assert.throws(() => localResolvers.command!("no-such-program-here"), /ENOENT|not found/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
