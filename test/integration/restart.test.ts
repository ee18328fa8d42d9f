import assert from "node:assert/strict";
import { readFile, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { PACKAGE_ROOT } from "../../runtime/config.ts";
import { startServerProcess, type ServerProcess } from "../fixtures/server-process.ts";
import { AUTH, pollUntil, rpcClient } from "../fixtures/xmlrpc-client.ts";

// A server killed with SIGKILL in the middle of a 50-VM deployment comes back with every
// infrastructure and VM, finishes the deployment, and never creates a VM twice. The Dummy
// cloud keeps a ledger of what it created, by launch key: the fake cloud's own memory.

const VMS = 50;
const RADL = `system node (cpu.count >= 1 and memory.size >= 512m and disk.0.image.url = 'mock0://linux.for.ev.er/image')
deploy node ${VMS}
contextualize ()`;

let server: ServerProcess | undefined;
let dataDir: string;
after(async () => {
  await server?.stop("SIGKILL");
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

async function ledger(file: string): Promise<{ key: string; ids: string[] }[]> {
  const text = await readFile(file, "utf8").catch(() => "");
  return text.split("\n").filter(Boolean).map((line) => JSON.parse(line));
}

test("SIGKILL during a deployment: after a restart it completes without launching a VM twice", { timeout: 120_000 }, async () => {
  dataDir = await mkdtemp(join(tmpdir(), "infra-manager-restart-"));
  const ledgerFile = join(dataDir, "dummy-cloud.jsonl");
  const configFile = join(dataDir, "config.json");
  await writeFile(configFile, JSON.stringify({
    listen: { host: "127.0.0.1", port: 0 },
    dataDir: join(dataDir, "data"),
    store: "lowdb",
    plugins: [
      { module: join(PACKAGE_ROOT, "plugins/providers/dummy/index.ts"), options: { launchLatencyMs: 200, ledgerFile } },
      join(PACKAGE_ROOT, "plugins/stores/lowdb/index.ts"),
    ],
    log: { level: "warn" },
    im: { MAX_SIMULTANEOUS_LAUNCHES: 5 },
  }));

  server = await startServerProcess(configFile);
  let client = rpcClient(server.url);
  const [created, id] = await client.call<[boolean, string]>("CreateInfrastructure", RADL, AUTH, true);
  assert.equal(created, true, id);
  await pollUntil(() => ledger(ledgerFile), (entries) => entries.length >= 10, 20_000, "ten launches");
  await server.stop("SIGKILL");
  const beforeRestart = (await ledger(ledgerFile)).length;
  assert.ok(beforeRestart < VMS, "the deployment was interrupted");

  server = await startServerProcess(configFile);
  client = rpcClient(server.url);
  assert.deepEqual(await client.call("GetInfrastructureList", AUTH), [true, [id]]);
  const [, state] = await pollUntil(
    () => client.call<[boolean, { state: string; vm_states: Record<string, string> }]>("GetInfrastructureState", id, AUTH),
    ([, s]) => Object.keys(s.vm_states).length === VMS,
    60_000,
    "all VMs after the restart",
  );
  assert.equal(state.state, "configured");
  assert.deepEqual(new Set(Object.values(state.vm_states)), new Set(["configured"]));
  assert.deepEqual(Object.keys(state.vm_states), Array.from({ length: VMS }, (_, i) => String(i)));

  const entries = await ledger(ledgerFile);
  const keys = entries.map((e) => e.key);
  assert.equal(new Set(keys).size, keys.length, "no launch key was launched twice");
  assert.equal(entries.reduce((n, e) => n + e.ids.length, 0), VMS, "the cloud created exactly one VM per requested VM");

  await server.stop("SIGTERM");
  server = await startServerProcess(configFile);
  client = rpcClient(server.url);
  const [, again] = await client.call<[boolean, { vm_states: Record<string, string> }]>("GetInfrastructureState", id, AUTH);
  assert.equal(Object.keys(again.vm_states).length, VMS, "a graceful restart keeps every VM");
  assert.equal((await ledger(ledgerFile)).length, entries.length, "and launches nothing");
});
