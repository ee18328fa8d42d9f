import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { PACKAGE_ROOT } from "../../runtime/config.ts";
import type { ClientIo } from "../../runtime/cli/client-command.ts";
import { processIo } from "../../runtime/cli/io.ts";
import { main } from "../../runtime/cli/main.ts";
import { startTestServer, type TestServer } from "../fixtures/server.ts";
import { TLS_CERT, TLS_KEY } from "../fixtures/tls.ts";

// Every client command against a real server (Dummy provider), in-process through main() and a
// few through the real binary. No command ever dials the Dummy VMs' fake 10.0.0.1: ssh is only
// printed, or handed to a fake runner.

let server: TestServer;
let dir: string;
let auth: string;
let otherAuth: string;
const SIMPLE = join(PACKAGE_ROOT, "examples/simple.radl");
const BINARY = join(PACKAGE_ROOT, "runtime/cli/infra-manager.mjs");
const GUARD = join(PACKAGE_ROOT, "test/setup/network-guard.mjs");

before(async () => {
  server = await startTestServer();
  dir = await mkdtemp(join(tmpdir(), "infra-manager-cli-"));
  auth = join(dir, "auth.dat");
  otherAuth = join(dir, "other.dat");
  await writeFile(auth, "# me and my cloud\ntype = InfrastructureManager; username = u; password = 'p;w=1'\nid = dummy; type = Dummy\n");
  await writeFile(otherAuth, '[{"type": "InfrastructureManager", "username": "other", "password": "pw"}, {"id": "dummy", "type": "Dummy"}]');
  await writeFile(join(dir, "add.radl"), "network publica\nsystem front\ndeploy front 1\n");
  await writeFile(join(dir, "alter.radl"), "system front ( cpu.count = 2 and memory.size = 1024m )\n");
  await writeFile(join(dir, "bad.radl"), "network publica (outbound = 'yes')\n\nsystem front (\n  cpu.count >= 1 andd\n)\n");
  await writeFile(join(dir, "ssh-wait.radl"), "network p (outbound = 'yes')\nsystem s (net_interface.0.connection = 'p' and disk.0.os.name = 'linux' and disk.0.image.url = 'mock0://x')\ndeploy s 1\n");
  await writeFile(join(dir, "bad-auth.dat"), "type = InfrastructureManager; username = u; password = p\n\ntype = Dummy; host\n");
});

after(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `infra-manager ARGV` in-process; `-u` and `-a` are added unless `bare`. */
async function run(argv: string[], options: { bare?: boolean; io?: Partial<ClientIo> } = {}): Promise<Run> {
  let stdout = "";
  let stderr = "";
  const io: ClientIo = {
    stdout: (text) => void (stdout += text),
    stderr: (text) => void (stderr += text),
    readInput: processIo.readInput,
    env: {},
    isTTY: false,
    ...options.io,
  };
  const code = await main(options.bare ? argv : [...argv, "-u", server.url, "-a", auth], io);
  return { code, stdout, stderr };
}

function ok(result: Run): Run {
  assert.equal(result.code, 0, `exit ${result.code}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`);
  return result;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
let inf: string;

test("getversion needs no auth file", async () => {
  const { stdout, stderr } = ok(await run(["getversion", "-u", server.url], { bare: true }));
  assert.equal(stdout, "1.19.2\n");
  assert.equal(stderr, "");
  assert.equal(JSON.parse(ok(await run(["getversion", "--json", "-u", server.url], { bare: true })).stdout), "1.19.2");
});

test("create prints the id, follows the VMs in plain lines (not a terminal) and ends configured", async () => {
  const { stdout, stderr } = ok(await run(["create", SIMPLE, "--interval", "0.05"]));
  inf = stdout.trim();
  assert.match(inf, UUID);
  assert.match(stderr, /^\[ +\d+s\] (pending|configured)/m);
  assert.match(stderr, /\] configured: VM 0 configured\n/);
  assert.match(stderr, new RegExp(`Infrastructure ${inf} is configured\\.\\n$`));
  assert.doesNotMatch(stderr, /\x1b/);
});

test("create on a terminal redraws a live table of the VMs; --json prints the outcome", async () => {
  const { stdout, stderr } = ok(await run(["create", SIMPLE, "--interval", "0.05", "--json"], { io: { isTTY: true, columns: 120, env: {} } }));
  const outcome = JSON.parse(stdout);
  assert.match(outcome.id, UUID);
  assert.deepEqual([outcome.state, outcome.vm_states], ["configured", { "0": "configured" }]);
  assert.match(stderr, /\x1b\[J/);
  assert.match(stderr, new RegExp(`Infrastructure ${outcome.id}.*\\x1b\\[32m✔ configured`));
  assert.match(stderr, / {2}0 {3}\x1b\[32m✔ configured\x1b\[0m\n {2}1 VM: 1 configured\n/);
  ok(await run(["destroy", outcome.id]));
  const noColor = ok(await run(["create", SIMPLE, "--async"], { io: { isTTY: true, env: { NO_COLOR: "1" } } }));
  const waited = ok(await run(["wait", noColor.stdout.trim(), "--interval", "0.05"], { io: { isTTY: true, env: { NO_COLOR: "1" } } }));
  assert.match(waited.stderr, /✔ configured/);
  assert.doesNotMatch(waited.stderr, /\x1b\[3\dm/);
  ok(await run(["destroy", noColor.stdout.trim()]));
});

test("create --async returns the id at once; wait follows it; a wrong RADL is refused here with FILE:LINE", async () => {
  const created = ok(await run(["create", SIMPLE, "--async"]));
  const id = created.stdout.trim();
  assert.match(id, UUID);
  assert.match(created.stderr, new RegExp(`infra-manager wait ${id}`));
  const waited = ok(await run(["wait", id, "30", "--interval", "0.05"]));
  assert.equal(waited.stdout, "");
  assert.match(waited.stderr, /is configured\.\n$/);
  assert.equal(JSON.parse(ok(await run(["wait", id, "--json"])).stdout).state, "configured");
  ok(await run(["destroy", id, "--force"]));

  const bad = await run(["create", join(dir, "bad.radl")]);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /^infra-manager create: .*bad\.radl:4: /);
  const missing = await run(["create", join(dir, "nope.radl")]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /^infra-manager create: cannot read .*nope\.radl: no such file\n$/);
});

test("wait: a timeout, then an infrastructure that settles unconfigured, both exit 1 with the reason", async () => {
  const id = ok(await run(["create", join(dir, "ssh-wait.radl"), "--async"])).stdout.trim();
  const early = await run(["wait", id, "--timeout", "0.2", "--interval", "0.05"]);
  assert.equal(early.code, 1);
  assert.match(early.stderr, new RegExp(`infra-manager wait: timed out after 0\\.2 s waiting for infrastructure ${id} to be configured; it is (pending|running)\\n`));
  const settled = await run(["wait", id, "--interval", "0.1", "--timeout", "30"]);
  assert.equal(settled.code, 1, settled.stderr);
  assert.match(settled.stderr, new RegExp(`infra-manager wait: infrastructure ${id} is unconfigured, not configured\\n`));
  assert.match(settled.stderr, /Its contextualization log ends with:\n.*\n.*Timeout waiting SSH access/s);
  assert.match(settled.stderr, new RegExp(`See: infra-manager getcontmsg ${id}\\n$`));
  const usage = await run(["wait", id, "--state", "bogus"]);
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /--state must be one of pending, running, configured/);
  ok(await run(["destroy", id]));
});

test("list, with a filter and as JSON", async () => {
  assert.ok(ok(await run(["list"])).stdout.split("\n").includes(inf));
  assert.ok(ok(await run(["list", "system front"])).stdout.split("\n").includes(inf));
  assert.equal(ok(await run(["list", "no-such-text-anywhere"])).stdout, "No infrastructures.\n");
  assert.ok(JSON.parse(ok(await run(["list", "--json"])).stdout).includes(inf));
});

test("getstate, getinfo, getvminfo, getradl, getcontmsg, getvmcontmsg", async () => {
  assert.equal(ok(await run(["getstate", inf])).stdout, `Infrastructure ${inf} is configured.\nVM  STATE\n0   configured\n`);
  assert.deepEqual(JSON.parse(ok(await run(["getstate", inf, "--json"])).stdout), { state: "configured", vm_states: { "0": "configured" } });

  const info = ok(await run(["getinfo", inf])).stdout;
  assert.match(info, /^# VM 0\nnetwork publica/);
  assert.match(info, /net_interface\.0\.ip = '10\.0\.0\.1'/);
  assert.equal(ok(await run(["getinfo", inf, "--property", "state"])).stdout, "VM  state\n0   configured\n");
  assert.equal(ok(await run(["getinfo", inf, "no.such.property"])).stdout, "VM  no.such.property\n0   (not set)\n");
  assert.deepEqual(JSON.parse(ok(await run(["getinfo", inf, "-p", "net_interface.0.ip", "--json"])).stdout), { "0": "10.0.0.1" });

  const vm = ok(await run(["getvminfo", inf, "0"])).stdout;
  assert.match(vm, /^network publica/);
  assert.match(vm, /disk\.0\.os\.credentials\.username = 'username'/);
  assert.equal(ok(await run(["getvminfo", inf, "0", "--property", "net_interface.0.ip"])).stdout, "10.0.0.1\n");
  assert.equal(ok(await run(["getvminfo", inf, "0", "memory.size"])).stdout, "512000000\n");
  assert.equal(JSON.parse(ok(await run(["getvminfo", inf, "0", "cpu.count", "--json"])).stdout), 1);
  const missing = await run(["getvminfo", inf, "0", "--property", "no.such"]);
  assert.deepEqual([missing.code, missing.stdout, missing.stderr], [1, "", "infra-manager getvminfo: VM 0 has no property 'no.such'\n"]);
  const badVm = await run(["getvminfo", inf, "7"]);
  assert.deepEqual([badVm.code, badVm.stderr], [1, "infra-manager getvminfo: GetVMInfo: Invalid VM ID\n"]);

  assert.match(ok(await run(["getradl", inf])).stdout, /^network publica \( outbound = 'yes' \)\nsystem front \(/);
  assert.match(ok(await run(["getcontmsg", inf])).stdout, /Contextualization disabled by the RADL\/TOSCA template\./);
  assert.match(ok(await run(["getcontmsg", inf, "--header-only"])).stdout, /Contextualization disabled/);
  assert.equal(ok(await run(["getvmcontmsg", inf, "0"])).stdout, "(no contextualization messages)\n");
  assert.equal(JSON.parse(ok(await run(["getvmcontmsg", inf, "0", "--json"])).stdout), "");
});

test("addresource, removeresource, alter, reconfigure", async () => {
  assert.equal(ok(await run(["addresource", inf, join(dir, "add.radl")])).stdout, `Added VM 1 to infrastructure ${inf}.\n`);
  assert.deepEqual(JSON.parse(ok(await run(["addresource", inf, join(dir, "add.radl"), "--no-context", "--json"])).stdout), [2]);
  assert.equal(ok(await run(["removeresource", inf, "1,2"])).stdout, `Removed 2 VMs from infrastructure ${inf}.\n`);
  const badList = await run(["removeresource", inf, "1;2"]);
  assert.equal(badList.code, 2);
  assert.match(badList.stderr, /expected a comma-separated list of VM ids, not '1;2'/);

  const altered = ok(await run(["alter", inf, "0", join(dir, "alter.radl")])).stdout;
  assert.match(altered, /memory\.size = 1024M/);
  assert.match(ok(await run(["getvminfo", inf, "0"])).stdout, /cpu\.count >= 2/);

  assert.equal(ok(await run(["reconfigure", inf])).stdout, `Reconfiguration of infrastructure ${inf} started.\n`);
  ok(await run(["reconfigure", inf, SIMPLE, "--vms", "0"]));
  ok(await run(["wait", inf, "--interval", "0.05", "--timeout", "30"]));
});

test("stop, start, stopvm, startvm, rebootvm, and wait for a state other than configured", async () => {
  assert.equal(ok(await run(["stop", inf])).stdout, `Infrastructure ${inf} stopped.\n`);
  ok(await run(["wait", inf, "--state", "stopped", "--interval", "0.05", "--timeout", "30"]));
  assert.equal(ok(await run(["start", inf])).stdout, `Infrastructure ${inf} started.\n`);
  ok(await run(["wait", inf, "--interval", "0.05", "--timeout", "30"]));
  assert.equal(ok(await run(["stopvm", inf, "0"])).stdout, `VM 0 of infrastructure ${inf} stopped.\n`);
  assert.equal(ok(await run(["startvm", inf, "0"])).stdout, `VM 0 of infrastructure ${inf} started.\n`);
  assert.equal(ok(await run(["rebootvm", inf, "0"])).stdout, `VM 0 of infrastructure ${inf} rebooted.\n`);
  ok(await run(["wait", inf, "--interval", "0.05", "--timeout", "30"]));
});

test("createsnapshot, getcloudimages, getcloudquotas (and im_client's names for them)", async () => {
  assert.equal(ok(await run(["createsnapshot", inf, "0", "0", "my-image", "1"])).stdout, "mock0://linux.for.ev.er/my-image\n");
  assert.equal(ok(await run(["createsnapshot", inf, "0", "0", "other", "--auto-delete"])).stdout, "mock0://linux.for.ev.er/other\n");
  const badDisk = await run(["createsnapshot", inf, "0", "first", "x"]);
  assert.equal(badDisk.code, 2);

  const images = "NAME         URI\nImage Name1  mock0://linux.for.ev.er/image1\nImage Name2  mock0://linux.for.ev.er/image2\n";
  assert.equal(ok(await run(["getcloudimages", "dummy"])).stdout, images);
  assert.equal(ok(await run(["cloudimages", "dummy", "--filter", "distribution=ubuntu", "--filter", "version=22"])).stdout, images);
  assert.equal(JSON.parse(ok(await run(["getcloudimages", "dummy", "--json"])).stdout).length, 2);
  const badFilter = await run(["getcloudimages", "dummy", "--filter", "ubuntu"]);
  assert.equal(badFilter.code, 2);
  const unknownCloud = await run(["getcloudimages", "nowhere"]);
  assert.deepEqual([unknownCloud.code, unknownCloud.stderr], [1, "infra-manager getcloudimages: GetCloudImageList: Cloud ID nowhere not found.\n"]);

  const quotas = ok(await run(["getcloudquotas", "dummy"])).stdout;
  assert.match(quotas, /^RESOURCE {9}USED {2}LIMIT\ncores {12}1 {5}10\n/);
  assert.deepEqual(JSON.parse(ok(await run(["cloudusage", "dummy", "--json"])).stdout).ram, { used: 1, limit: 10 });
});

test("estimate and stats", async () => {
  assert.equal(ok(await run(["estimate", SIMPLE])).stdout,
    "CLOUD  TYPE   ENDPOINT    VMS  CPUS  MEMORY  VM DISKS  PUBLIC IPS  VOLUMES\ndummy  Dummy  http://:80  1    1     512 MB  -         1           -\n");
  assert.deepEqual(JSON.parse(ok(await run(["estimate", SIMPLE, "--json"])).stdout).dummy.compute, [{ cpuCores: 1, memoryInMegabytes: 512, publicIP: 1 }]);
  await writeFile(join(dir, "nodeploy.radl"), "system s ( cpu.count = 1 )\n");
  assert.equal(ok(await run(["estimate", join(dir, "nodeploy.radl")])).stdout, "Nothing to deploy (the RADL has no deploy lines).\n");

  const stats = ok(await run(["stats"])).stdout;
  assert.match(stats, /^INFRASTRUCTURE +CREATED +VMS +CPUS +MEMORY +CLOUD +USER +DELETED\n/);
  assert.match(stats, new RegExp(`\\n${inf}  \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d  \\d+ +\\d+ +\\d+ MB +Dummy +u +no\\n`));
  const rows = JSON.parse(ok(await run(["stats", "--from", "2000-01-01", "--json"])).stdout);
  assert.ok(rows.some((row: { inf_id: string }) => row.inf_id === inf));
  assert.equal(ok(await run(["stats", "2000-01-01", "2000-01-02"])).stdout, "No infrastructures in that period.\n");
  assert.equal((await run(["stats", "--from", "yesterday"])).code, 2);
});

test("ssh --print prints the command with the VM's credentials; without --print it runs ssh", async () => {
  const printed = ok(await run(["ssh", inf, "--print"]));
  assert.equal(printed.stdout, "SSHPASS=password sshpass -e ssh -p 22 -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null username@10.0.0.1\n");
  const withCommand = JSON.parse(ok(await run(["sshvm", inf, "0", "--print", "--json", "-u", server.url, "-a", auth, "--", "uname", "-a"], { bare: true })).stdout);
  assert.deepEqual(withCommand.command.slice(-3), ["username@10.0.0.1", "uname", "-a"]);
  assert.deepEqual(withCommand.env, { SSHPASS: "password" });

  // A fake runner: what would be executed, never dialled.
  const calls: { argv: string[]; env: NodeJS.ProcessEnv }[] = [];
  const runInteractive = async (argv: string[], env: NodeJS.ProcessEnv) => (calls.push({ argv, env }), 0);
  ok(await run(["ssh", inf, "0"], { io: { runInteractive, hasProgram: () => true } }));
  assert.deepEqual(calls[0].argv.slice(0, 3), ["sshpass", "-e", "ssh"]);
  assert.equal(calls[0].env.SSHPASS, "password");
  const noSshpass = ok(await run(["ssh", inf], { io: { runInteractive, hasProgram: () => false } }));
  assert.equal(calls[1].argv[0], "ssh");
  assert.match(noSshpass.stderr, /sshpass is not installed: type the password of username@10\.0\.0\.1 when ssh asks: password/);
  const exitCode = await run(["ssh", inf], { io: { runInteractive: async () => 255, hasProgram: () => true } });
  assert.equal(exitCode.code, 255);
  const noVm = await run(["ssh", inf, "9", "--print"]);
  assert.deepEqual([noVm.code, noVm.stderr], [1, "infra-manager ssh: GetVMInfo: Invalid VM ID\n"]);
});

test("getowners and changeauth (the new owners from an auth file in JSON)", async () => {
  assert.equal(ok(await run(["getowners", inf])).stdout, "u\n");
  assert.equal(ok(await run(["changeauth", inf, otherAuth])).stdout, `Added to the owners of infrastructure ${inf}: other.\n`);
  assert.deepEqual(JSON.parse(ok(await run(["getowners", inf, "--json"])).stdout), ["u", "other"]);
  const asOther = ok(await run(["getstate", inf, "-u", server.url, "-a", otherAuth], { bare: true }));
  assert.match(asOther.stdout, /is configured/);
  const noIm = join(dir, "cloud-only.dat");
  await writeFile(noIm, "type = Dummy\n");
  const refused = await run(["changeauth", inf, noIm]);
  assert.deepEqual([refused.code, refused.stderr], [1, `infra-manager changeauth: ${noIm} has no InfrastructureManager credential\n`]);

  const id = ok(await run(["create", SIMPLE, "--interval", "0.05"])).stdout.trim();
  assert.equal(ok(await run(["change_auth", id, otherAuth, "--overwrite"])).stdout, `The owners of infrastructure ${id} are now: other.\n`);
  const lockedOut = await run(["getstate", id]);
  assert.deepEqual([lockedOut.code, lockedOut.stderr], [1, "infra-manager getstate: GetInfrastructureState: Access to this infrastructure not granted.\n"]);
  ok(await run(["destroy", id, "-u", server.url, "-a", otherAuth], { bare: true }));
});

test("export and import (export --delete, then import keeps the id)", async () => {
  const exported = ok(await run(["export", inf])).stdout;
  assert.equal(JSON.parse(exported).id, inf);
  const file = join(dir, "exported.json");
  await writeFile(file, ok(await run(["export", inf, "--delete"])).stdout);
  assert.equal((await run(["getstate", inf])).code, 1);
  assert.equal(ok(await run(["import", file])).stdout, `${inf}\n`);
  assert.match(ok(await run(["getstate", inf])).stdout, /is configured/);
});

test("destroy, then the server's [false, message] for the gone infrastructure", async () => {
  assert.equal(ok(await run(["destroy", inf])).stdout, `Infrastructure ${inf} destroyed.\n`);
  const gone = await run(["getstate", inf]);
  assert.deepEqual([gone.code, gone.stdout, gone.stderr], [1, "", "infra-manager getstate: GetInfrastructureState: Invalid infrastructure ID or access not granted.\n"]);
  const other = ok(await run(["create", SIMPLE, "--interval", "0.05"])).stdout.trim();
  assert.equal(ok(await run(["destroy", other, "--force", "--async"])).stdout, `Destruction of infrastructure ${other} started.\n`);
});

test("an unreachable server: exit 3 and a clear message; a wrong endpoint too", async () => {
  const closed = await new Promise<number>((resolve) => {
    const probe = createServer().listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
  const down = await run(["list", "-u", `127.0.0.1:${closed}`, "-a", auth], { bare: true });
  assert.deepEqual([down.code, down.stdout], [3, ""]);
  assert.equal(down.stderr, `infra-manager list: cannot connect to http://127.0.0.1:${closed}: connection refused (is the server running?)\n`);
  const wrongPath = await run(["getversion", "-u", server.url.replace("/RPC2", "/nope")], { bare: true });
  assert.equal(wrongPath.code, 3);
  assert.match(wrongPath.stderr, /answered HTTP 404: No such page \(is this the IM XML-RPC endpoint\?\)/);
  const badUrl = await run(["getversion", "-u", "ftp://example.org"], { bare: true });
  assert.deepEqual([badUrl.code, badUrl.stderr], [2, "infra-manager getversion: invalid server URL 'ftp://example.org': only http:// and https:// are supported\n"]);
});

test("the URL and auth file from the environment; auth-file mistakes with their line; usage mistakes exit 2", async () => {
  const env = { IM_URL: server.url, IM_AUTH: auth };
  assert.match(ok(await run(["list", "--json"], { bare: true, io: { env } })).stdout, /^\[/);
  const noAuth = await run(["list", "-u", server.url], { bare: true });
  assert.deepEqual([noAuth.code, noAuth.stderr.split("\n")[0]], [2, "infra-manager list: no auth file: give -a FILE (or set IM_AUTH)"]);
  const badAuth = await run(["list", "-u", server.url, "-a", join(dir, "bad-auth.dat")], { bare: true });
  assert.deepEqual([badAuth.code, badAuth.stderr], [1, `infra-manager list: auth file ${join(dir, "bad-auth.dat")}: line 3: expected 'key = value', found 'host'\n`]);
  const missingAuth = await run(["list", "-u", server.url, "-a", join(dir, "none.dat")], { bare: true });
  assert.deepEqual([missingAuth.code, missingAuth.stderr], [1, `infra-manager list: cannot read auth file ${join(dir, "none.dat")}: no such file\n`]);
  const wrongCreds = join(dir, "wrong.dat");
  await writeFile(wrongCreds, "type = Dummy\n");
  const refused = await run(["list", "-u", server.url, "-a", wrongCreds], { bare: true });
  assert.deepEqual([refused.code, refused.stderr], [1, "infra-manager list: GetInfrastructureList: No credentials provided for the InfrastructureManager.\n"]);

  const tooMany = await run(["getstate", "a", "b"]);
  assert.equal(tooMany.code, 2);
  assert.match(tooMany.stderr, /^infra-manager getstate: expected INF, got 'a' 'b'\nUsage: infra-manager getstate INF/);
  const unknownOption = await run(["getstate", "a", "--bogus"]);
  assert.equal(unknownOption.code, 2);
  assert.match(unknownOption.stderr, /Unknown option '--bogus'/);
  const help = ok(await run(["getvminfo", "--help"], { bare: true }));
  assert.match(help.stdout, /^Usage: infra-manager getvminfo INF VM \[PROPERTY\] \[--property NAME\] \[options\]\n/);
  assert.match(help.stdout, /IM_URL; default http:\/\/localhost:8899/);
  const all = ok(await run(["--help"], { bare: true })).stdout;
  for (const name of ["list", "create", "destroy", "getinfo", "getcontmsg", "getstate", "getvminfo", "getvmcontmsg", "addresource", "removeresource", "alter", "reconfigure", "start", "stop", "startvm", "stopvm", "rebootvm", "getradl", "export", "import", "createsnapshot", "getcloudimages", "getcloudquotas", "changeauth", "getowners", "getversion", "estimate", "stats", "wait", "ssh"]) {
    assert.match(all, new RegExp(`\\n  infra-manager ${name}\\b`), name);
  }
});

test("https: a CA file, or an explicit --insecure; otherwise a clear refusal", async () => {
  const keyFile = join(dir, "key.pem");
  const certFile = join(dir, "cert.pem");
  await writeFile(keyFile, TLS_KEY);
  await writeFile(certFile, TLS_CERT);
  const tls = await startTestServer({ config: { tls: { keyFile, certFile } } });
  try {
    const url = `https://127.0.0.1:${tls.port}`;
    assert.equal(ok(await run(["getversion", "-u", url, "--ca-file", certFile], { bare: true })).stdout, "1.19.2\n");
    assert.equal(ok(await run(["getversion"], { bare: true, io: { env: { IM_URL: `https://localhost:${tls.port}/RPC2`, IM_CA_FILE: certFile } } })).stdout, "1.19.2\n");
    const untrusted = await run(["getversion", "-u", url], { bare: true });
    assert.equal(untrusted.code, 3);
    assert.match(untrusted.stderr, /the TLS certificate of https:\/\/127\.0\.0\.1:\d+ is not trusted \(.*\); pass --ca-file FILE with the CA that signed it, or --insecure to skip the check/);
    const insecure = ok(await run(["getversion", "-u", url, "--insecure"], { bare: true }));
    assert.equal(insecure.stdout, "1.19.2\n");
    assert.match(insecure.stderr, /warning: the server's TLS certificate is not verified/);
    ok(await run(["getversion", "-u", url], { bare: true, io: { env: { IM_INSECURE: "1" } } }));
    const http = await run(["getversion", "-u", `http://127.0.0.1:${tls.port}`], { bare: true });
    assert.equal(http.code, 3);
    const badCa = await run(["getversion", "-u", url, "--ca-file", join(dir, "nope.pem")], { bare: true });
    assert.equal(badCa.code, 1);
    assert.match(badCa.stderr, /cannot read the CA file/);
  } finally {
    await tls.close();
  }
});

/** Runs the real `infra-manager` binary (with the network guard loaded). */
function binary(argv: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, ["--import", GUARD, BINARY, ...argv], { env: { ...process.env, IM_URL: server.url, IM_AUTH: auth, ...env }, timeout: 30_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

test("the real binary: a first session, and its exit codes", { timeout: 60_000 }, async () => {
  const created = await binary(["create", SIMPLE, "--interval", "0.05"]);
  assert.equal(created.code, 0, created.stderr);
  const id = created.stdout.trim();
  assert.match(id, UUID);
  assert.match(created.stderr, /configured: VM 0 configured/);
  const [state, gone, down] = await Promise.all([
    binary(["getstate", id]),
    binary(["getstate", "00000000-0000-0000-0000-000000000000"]),
    binary(["getversion"], { IM_URL: "http://127.0.0.1:1" }),
  ]);
  assert.deepEqual([state.code, state.stdout], [0, `Infrastructure ${id} is configured.\nVM  STATE\n0   configured\n`]);
  assert.deepEqual([gone.code, gone.stderr], [1, "infra-manager getstate: GetInfrastructureState: Invalid infrastructure ID or access not granted.\n"]);
  assert.equal(down.code, 3);
  assert.match(down.stderr, /connection refused/);
  const destroyed = await binary(["destroy", id]);
  assert.deepEqual([destroyed.code, destroyed.stdout], [0, `Infrastructure ${id} destroyed.\n`]);
  const usage = await binary(["getstate"]);
  assert.equal(usage.code, 2);
});

test("examples/auth.dat as given works with the client", async () => {
  const text = await readFile(join(PACKAGE_ROOT, "examples/auth.dat"), "utf8");
  assert.match(text, /type = Dummy/);
  ok(await run(["list", "-u", server.url, "-a", join(PACKAGE_ROOT, "examples/auth.dat")], { bare: true }));
});
