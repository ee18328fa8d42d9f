import assert from "node:assert/strict";
import { cp, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import type { ImService } from "../../runtime/service/im-service.ts";
import type { Infrastructure } from "../../runtime/service/infrastructure.ts";
import { startTestServer, type TestServer } from "../fixtures/server.ts";
import { AUTH, pollUntil, rpcClient, type RpcClient } from "../fixtures/xmlrpc-client.ts";

// Infrastructures left alone for a second sleep: their actors stop and their VM descriptions
// go back to text. Nothing a client sees may change, and the next call wakes them. The same
// holds for infrastructures loaded at start-up, which start asleep.

let server: TestServer;
let client: RpcClient;
before(async () => {
  server = await startTestServer({ config: { store: "lowdb" } });
  client = rpcClient(server.url);
});
after(() => server?.close());

const ok = async <T>(method: string, ...params: unknown[]): Promise<T> => {
  const [success, value] = await client.call<[boolean, T]>(method, ...params);
  assert.equal(success, true, `${method}: ${String(value)}`);
  return value;
};

const infrastructureOf = (service: ImService, id: string) => (service as unknown as { infrastructures: Map<string, Infrastructure> }).infrastructures.get(id)!;

/** Everything a client can read about an infrastructure and its VMs. */
async function views(id: string): Promise<unknown[]> {
  const vmIds = await ok<string[]>("GetInfrastructureInfo", id, AUTH);
  const views: unknown[] = [vmIds, await ok("GetInfrastructureState", id, AUTH), await ok("GetInfrastructureRADL", id, AUTH), await ok("GetInfrastructureContMsg", id, AUTH)];
  for (const vm of vmIds) {
    views.push(await ok("GetVMInfo", id, vm, AUTH), await ok("GetVMContMsg", id, vm, AUTH), await ok("GetVMProperty", id, vm, "memory.size", AUTH));
  }
  return views;
}

const RADL = `network publica (outbound = 'yes')
system front (
  cpu.count >= 1 and cpu.count >= 2 and
  memory.size >= 512m and
  net_interface.0.connection = 'publica' and
  disk.0.image.url = 'mock0://linux.for.ev.er/image'
)
deploy front 2
contextualize ()`;

test("an idle infrastructure sleeps; it reads the same asleep, and wakes for the next change", { timeout: 30_000 }, async () => {
  const id = await ok<string>("CreateInfrastructure", RADL, AUTH);
  await pollUntil(() => ok<{ state: string }>("GetInfrastructureState", id, AUTH), (s) => s.state === "configured", 10_000, "configured");
  const awake = await views(id);
  const infrastructure = infrastructureOf(server.service, id);
  await pollUntil(async () => infrastructure.isAwake, (isAwake) => !isAwake, 10_000, "the infrastructure to sleep");
  assert.deepEqual(await views(id), awake);

  assert.deepEqual(await ok("AddResource", id, "network publica\nsystem front\ndeploy front 1", AUTH), [2]);
  assert.equal(infrastructure.isAwake, true);
  assert.deepEqual(Object.keys((await ok<{ vm_states: object }>("GetInfrastructureState", id, AUTH)).vm_states), ["0", "1", "2"]);
  await pollUntil(async () => infrastructure.isAwake, (isAwake) => !isAwake, 10_000, "the infrastructure to sleep again");
  assert.equal(await ok("RemoveResource", id, "0", AUTH), 1);
  await delay(100);
  assert.deepEqual(await ok("GetInfrastructureInfo", id, AUTH), ["1", "2"]);
  assert.equal(await ok("DestroyInfrastructure", id, AUTH), "");
  assert.equal(await client.call<[boolean, string]>("GetInfrastructureState", id, AUTH).then(([, m]) => m), "Invalid infrastructure ID or access not granted.");
});

test("after a restart infrastructures start asleep, read as before, and can be changed and destroyed", { timeout: 30_000 }, async () => {
  const id = await ok<string>("CreateInfrastructure", RADL, AUTH);
  await pollUntil(() => ok<{ state: string }>("GetInfrastructureState", id, AUTH), (s) => s.state === "configured", 10_000, "configured");
  const before = await views(id);
  // A second server on a copy of the data: the first one's records are what it loads.
  const dataDir = await mkdtemp(join(tmpdir(), "infra-manager-sleep-"));
  await cp(server.dataDir, dataDir, { recursive: true });
  const second = await startTestServer({ config: { store: "lowdb", dataDir } });
  try {
    const loaded = infrastructureOf(second.service, id);
    assert.equal(loaded.isAwake, false, "loaded asleep");
    const other = rpcClient(second.url);
    const read = async (method: string, ...params: unknown[]) => (await other.call<[boolean, unknown]>(method, ...params))[1];
    assert.deepEqual(await read("GetInfrastructureList", AUTH), await ok("GetInfrastructureList", AUTH));
    assert.deepEqual(await read("GetInfrastructureState", id, AUTH), before[1]);
    assert.deepEqual(await read("GetVMInfo", id, "0", AUTH), await ok("GetVMInfo", id, "0", AUTH));
    assert.deepEqual(await read("StopVM", id, "1", AUTH), "");
    assert.equal(loaded.isAwake, true, "a change wakes it");
    assert.deepEqual(await read("DestroyInfrastructure", id, AUTH), "");
  } finally {
    await second.close();
    await rm(dataDir, { recursive: true, force: true });
  }
});
