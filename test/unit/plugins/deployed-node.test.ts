import assert from "node:assert/strict";
import { test } from "node:test";
import { parseRadlText } from "../../../core/index.ts";
import { DeployedNodeProvider } from "../../../plugins/providers/deployed-node/index.ts";

// DeployedNode (IM behaviour §6.4): adopts machines given by address and credentials.

const provider = new DeployedNodeProvider();
const system = (features: string) => parseRadlText(`system node (${features})`).systems[0];

test("concreteSystem needs net_interface.0.ip, a username and a password or a private key", async () => {
  const complete = "net_interface.0.ip = '192.0.2.1' and disk.0.os.credentials.username = 'root'";
  assert.equal((await provider.concreteSystem(system(`${complete} and disk.0.os.credentials.password = 'pw'`))).length, 1);
  assert.equal((await provider.concreteSystem(system(`${complete} and disk.0.os.credentials.private_key = 'KEY'`))).length, 1);
  assert.deepEqual(await provider.concreteSystem(system(complete)), [], "no password or key");
  assert.deepEqual(await provider.concreteSystem(system("disk.0.os.credentials.username = 'root' and disk.0.os.credentials.password = 'pw'")), [], "no address");
  assert.deepEqual(await provider.concreteSystem(system("net_interface.0.ip = '192.0.2.1' and disk.0.os.credentials.password = 'pw'")), [], "no username");
});

test("launch adopts the machine: running, the requested description kept, its address as id (so a repeat gives the same VM)", async () => {
  const requested = parseRadlText("system node (net_interface.0.ip = '192.0.2.1' and disk.0.os.credentials.username = 'root' and disk.0.os.credentials.password = 'pw')");
  const request = { infrastructureId: "i", idempotencyKey: "k", radl: requested, requestedRadl: requested, count: 1 };
  const [first] = await provider.launch(request);
  assert.ok(first.ok);
  assert.equal(first.providerId, "192.0.2.1");
  assert.equal(first.state, "running");
  assert.equal(first.info.systems[0].getValue("provider.type"), "DeployedNode");
  assert.equal(first.info.systems[0].getValue("disk.0.os.credentials.password"), "pw", "the user's credentials are kept");
  const [again] = await provider.launch(request);
  assert.ok(again.ok && again.providerId === first.providerId);
  assert.deepEqual(provider.capabilities, [], "stop, start and alter are not offered: the machines are not ours");
});
