// The provider kit catches a broken provider: each of its mistakes fails the check made for it,
// with a message that says what to fix, and nothing else fails. The same provider with its
// mistakes fixed passes every check, so the failures come from the mistakes, not the fixture.
// The checks run programmatically here: a failing check is this test's expected result.
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { PACKAGE_ROOT } from "../../runtime/config.ts";
import { notApplicable, providerConformance, runConformance, type CheckResult } from "../../runtime/testing/index.ts";
import { FileCloud } from "../fixtures/plugins/broken-provider.ts";

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "infra-manager-broken-provider-"));
});
after(() => rm(dir, { recursive: true, force: true }));

/** Every check of the kit, run against the Broken provider over a fresh file cloud. */
async function results(fixed: boolean): Promise<Map<string, CheckResult>> {
  const cloudFile = join(dir, `cloud-${fixed ? "fixed" : "broken"}.json`);
  const cloud = new FileCloud(cloudFile);
  const suite = providerConformance({
    module: join(PACKAGE_ROOT, "test/fixtures/plugins/broken-provider.ts"),
    cloud: () => ({
      // The latency keeps a launch in flight while the restart check restarts the pool.
      options: { cloudFile, fixed, launchLatencyMs: 50 },
      auth: { id: "broken", type: "Broken", host: "cloud.invalid" },
      radl: "network net ()\nsystem node (cpu.count >= 1 and net_interface.0.connection = 'net' and disk.0.image.url = 'file://image')",
      listVms: () => cloud.listVms(),
      setNativeState: (id, state) => cloud.setNativeState(id, state),
      faults: { inject: (fault) => cloud.inject(fault), clear: () => cloud.clear() },
    }),
    live: notApplicable("the Broken provider has no real cloud"),
  });
  return new Map((await runConformance(suite)).map((result) => [result.id, result]));
}

// Both runs at once, on the first test that needs them: each mostly waits on its worker pools.
let runs: Promise<{ broken: Map<string, CheckResult>; fixed: Map<string, CheckResult> }> | undefined;
const both = () => (runs ??= Promise.all([results(false), results(true)]).then(([broken, fixed]) => ({ broken, fixed })));
const broken = async () => (await both()).broken;
const fixed = async () => (await both()).fixed;

/** What each mistake must fail, with the fragments of the message that say what to fix. */
const EXPECTED_FAILURES: Record<string, string[]> = {
  "capabilities/declared-implemented": ["capability 'stop' is declared but the provider has no stop() method: implement stop(vm, ctx) or remove 'stop' from capabilities"],
  "capabilities/implemented-declared": ["the provider implements reboot() but does not declare the capability 'reboot': add 'reboot' to capabilities or remove reboot()"],
  "contract/unknown-native-state": ["observe() mapped the native state 'infra-manager-conformance-unknown-state'", `to "running"`, "map native states through one table whose default is 'unknown'"],
  "contract/launch-idempotent": ["two launches with idempotencyKey", "the cloud holds 2 VMs more than the first launch made", "return those instead of creating new ones"],
  "errors/quota": ["launch() threw ProviderError of kind 'terminal'", "throw new ProviderError(message, 'quota')"],
  "pool/restart-mid-launch": ["after a restart in the middle of a launch", "left 1 VM(s) more in the cloud", "launch() must find the VMs an earlier call created for request.idempotencyKey"],
  // The worker reports the missing stop() when the lifecycle asks a declared capability for it.
  "pool/lifecycle": ["Operation stop not supported by the Broken provider"],
};

test("each mistake fails its check with a message that says what to fix", async () => {
  const found = await broken();
  for (const [id, fragments] of Object.entries(EXPECTED_FAILURES)) {
    const result = found.get(id);
    assert.equal(result?.status, "failed", `${id} fails: ${JSON.stringify(result)}`);
    for (const fragment of fragments) assert.ok(result.message.includes(fragment), `${id}: '${result.message}' says '${fragment}'`);
  }
});

test("nothing else fails on the broken provider", async () => {
  const unexpected = [...(await broken()).values()].filter((r) => r.status === "failed" && !(r.id in EXPECTED_FAILURES));
  assert.deepEqual(unexpected, []);
});

test("with its mistakes fixed, the provider passes every check; only the live one is skipped", async () => {
  const found = [...(await fixed()).values()];
  assert.deepEqual(found.filter((r) => r.status === "failed"), []);
  assert.deepEqual(found.filter((r) => r.status === "skipped").map((r) => [r.id, r.message]), [["live/lifecycle", "not applicable: the Broken provider has no real cloud"]]);
});
