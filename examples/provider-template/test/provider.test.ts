import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { ProviderError, cloudList, parseRadlText, type LaunchRequest, type Logger, type OpContext, type ProviderVm } from "infra-manager/core";
import { ExampleProvider } from "../src/provider.ts";
import { FakeCloud, type InjectedFailure } from "./fake-cloud.ts";

// The provider against the fake cloud, call by call: state mapping, idempotent launches,
// error classification. The conformance kit (conformance.test.ts) checks the contract as a whole.

let cloud: FakeCloud;
const provider = new ExampleProvider({ requestTimeoutMs: 2_000 });

before(async () => {
  cloud = await FakeCloud.start();
});

after(() => cloud.close());

const QUIET: Logger = { debug() {}, info() {}, warn() {}, error() {} };

/** The context of a call made with this auth line. */
function context(item: Record<string, string> = { id: "fake", type: "Example", host: cloud.url, token: cloud.token }): OpContext {
  const [entry] = cloudList([item]);
  assert.ok(entry);
  return { signal: new AbortController().signal, cloud: entry.cloud, credentials: [item], log: QUIET };
}

const RADL = `
network public (outbound = 'yes')
system node (
  cpu.count = 2 and
  memory.size >= 2048m and
  net_interface.0.connection = 'public' and
  disk.0.image.url = ['one://elsewhere/7', 'example://ubuntu-24.04']
)`;

async function launchRequest(key: string, count = 1): Promise<LaunchRequest> {
  const radl = parseRadlText(RADL);
  const [concrete] = await provider.concreteSystem(radl.systems[0]!);
  assert.ok(concrete);
  const launched = radl.clone();
  launched.systems[0] = concrete;
  return { infrastructureId: "6a1f3c2e-0000-4000-8000-000000000000", idempotencyKey: key, radl: launched, requestedRadl: radl, count };
}

async function launchOne(key: string): Promise<ProviderVm> {
  const request = await launchRequest(key);
  const [result] = await provider.launch(request, context());
  assert.ok(result?.ok, JSON.stringify(result));
  return { infrastructureId: request.infrastructureId, imId: 0, providerId: result.providerId, info: result.info, state: result.state };
}

test("concreteSystem: one variant per image of this cloud, with its provider type and a default user", async () => {
  const [variant, ...others] = await provider.concreteSystem(parseRadlText(RADL).systems[0]!);
  assert.equal(others.length, 0);
  assert.equal(variant?.getValue("disk.0.image.url"), "example://ubuntu-24.04");
  assert.equal(variant?.getValue("provider.type"), "Example");
  assert.equal(variant?.getValue("disk.0.os.credentials.username"), "cloudadm");
  assert.deepEqual(await provider.concreteSystem(parseRadlText("system s (disk.0.image.url = 'one://elsewhere/7')").systems[0]!), []);
});

test("launch: one server per VM with the requested size; pending while it builds, then running with its address", async () => {
  const request = await launchRequest("launch-sizes", 2);
  const results = await provider.launch(request, context());
  assert.equal(results.length, 2);
  for (const result of results) {
    assert.ok(result.ok);
    assert.deepEqual([result.state, result.nativeState], ["pending", "BUILDING"]);
    const server = cloud.servers.get(result.providerId);
    assert.deepEqual([server?.image, server?.cpus, server?.memoryMb], ["ubuntu-24.04", 2, 2048]);
  }
  const vm = await launchOne("launch-observe");
  const observation = await provider.observe(vm, context());
  assert.deepEqual([observation.state, observation.nativeState], ["running", "ACTIVE"]);
  assert.match(String(observation.info?.systems[0]?.getValue("net_interface.0.ip")), /^192\.0\.2\.\d+$/);
});

test("launch: repeating a launch with the same key returns the same servers and creates none", async () => {
  const request = await launchRequest("launch-twice", 3);
  const first = await provider.launch(request, context());
  const serversAfterFirst = cloud.servers.size;
  const second = await provider.launch(request, context());
  assert.equal(cloud.servers.size, serversAfterFirst);
  assert.deepEqual(second.map((r) => r.ok && r.providerId), first.map((r) => r.ok && r.providerId));
});

test("observe: native statuses map through the table; an unknown status is unknown; a deleted server is off", async () => {
  const vm = await launchOne("observe-states");
  const expected: [string, string][] = [["ACTIVE", "running"], ["STOPPED", "stopped"], ["SHUTOFF", "off"], ["ERROR", "failed"], ["MIGRATING", "unknown"], ["constructor", "unknown"]];
  for (const [native, state] of expected) {
    cloud.setStatus(vm.providerId!, native);
    const observation = await provider.observe(vm, context());
    assert.deepEqual([observation.state, observation.nativeState], [state, native], native);
  }
  cloud.servers.delete(vm.providerId!);
  assert.equal((await provider.observe(vm, context())).state, "off");
});

test("start and stop report the state the cloud answers with; stopping a server still building is refused", async () => {
  const vm = await launchOne("start-stop");
  await assert.rejects(provider.stop(vm, context()), (error: ProviderError) => error.kind === "terminal" && /HTTP 409/.test(error.message));
  await provider.observe(vm, context());
  assert.equal((await provider.stop(vm, context())).state, "stopped");
  assert.equal((await provider.start(vm, context())).state, "running");
});

test("finalize deletes the server; a placeholder without id and a server already gone are fine", async () => {
  const vm = await launchOne("finalize");
  await provider.finalize(vm, true, context());
  assert.equal(cloud.servers.has(vm.providerId!), false);
  await provider.finalize(vm, true, context());
  await provider.finalize({ ...vm, providerId: null }, false, context());
});

/** How each failure of the cloud reaches infra-manager. */
const FAILURES: { name: string; failure: InjectedFailure; kind: ProviderError["kind"] }[] = [
  { name: "unauthorized", failure: { status: 401, code: "Unauthorized" }, kind: "auth" },
  { name: "forbidden", failure: { status: 403, code: "Forbidden" }, kind: "auth" },
  { name: "quota-exceeded", failure: { status: 403, code: "QuotaExceeded" }, kind: "quota" },
  { name: "throttled", failure: { status: 429, code: "TooManyRequests" }, kind: "retryable" },
  { name: "server-error", failure: { status: 500 }, kind: "retryable" },
  { name: "unavailable", failure: { status: 503 }, kind: "retryable" },
  { name: "connection-reset", failure: { reset: true }, kind: "retryable" },
  { name: "bad-request", failure: { status: 400, code: "BadRequest" }, kind: "terminal" },
  { name: "conflict", failure: { status: 409, code: "Conflict" }, kind: "terminal" },
];

for (const { name, failure, kind } of FAILURES) {
  test(`errors: ${name} is ${kind}`, async () => {
    const vm = await launchOne(`errors-${name}`);
    cloud.failNext({ ...failure, method: "GET" });
    await assert.rejects(provider.observe(vm, context()), (error) => error instanceof ProviderError && error.kind === kind);
  });
}

test("errors: a cloud that cannot be reached is retryable; missing credentials are an auth error", async () => {
  const vm = await launchOne("unreachable");
  const closed = await FakeCloud.start();
  const unreachable = { id: "gone", type: "Example", host: closed.url, token: "t" };
  await closed.close();
  await assert.rejects(provider.observe(vm, context(unreachable)), (error) => error instanceof ProviderError && error.kind === "retryable" && /cannot be reached: connect ECONNREFUSED/.test(error.message));
  // A launch resumed after a restart has no credentials: the cloud entry is all it gets.
  const noToken = { id: "fake", type: "Example", host: cloud.url };
  await assert.rejects(provider.launch(await launchRequest("no-token"), context(noToken)), (error) => error instanceof ProviderError && error.kind === "auth" && /host and token/.test(error.message));
});

test("launch: a VM over quota fails alone; a wrong token fails the whole launch", async () => {
  cloud.instanceLimit = cloud.servers.size + 1;
  try {
    const results = await provider.launch(await launchRequest("quota", 2), context());
    assert.deepEqual(results.map((r) => r.ok), [true, false]);
    assert.match(results[1]?.ok === false ? results[1].error : "", /HTTP 403: Quota exceeded/);
  } finally {
    cloud.instanceLimit = Number.POSITIVE_INFINITY;
  }
  const wrongToken = { id: "fake", type: "Example", host: cloud.url, token: "wrong" };
  await assert.rejects(provider.launch(await launchRequest("wrong-token"), context(wrongToken)), (error) => error instanceof ProviderError && error.kind === "auth");
});
