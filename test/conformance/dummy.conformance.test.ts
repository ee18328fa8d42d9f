// The Dummy provider runs the provider kit. Its "cloud" is the ledger file its ledgerFile
// option keeps, so idempotency is checked for real; it has no native states and makes no
// requests that could fail or hang, so those checks do not apply.
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PACKAGE_ROOT } from "../../runtime/config.ts";
import { notApplicable, providerConformance, registerConformance } from "../../runtime/testing/index.ts";

registerConformance(providerConformance({
  module: join(PACKAGE_ROOT, "plugins/providers/dummy/index.ts"),
  async cloud() {
    const dir = await mkdtemp(join(tmpdir(), "infra-manager-dummy-conformance-"));
    const ledgerFile = join(dir, "ledger.jsonl");
    return {
      // The latency keeps a launch in flight long enough for the restart check to fall in its middle.
      options: { ledgerFile, launchLatencyMs: 50 },
      auth: { id: "dummy", type: "Dummy" },
      radl: `network public (outbound = 'yes')
system front (
  cpu.count >= 1 and memory.size >= 512m and
  net_interface.0.connection = 'public' and
  disk.0.image.url = 'mock0://linux.for.ev.er/image1' and disk.0.os.credentials.username = 'user'
)`,
      listVms: async () => {
        const text = await readFile(ledgerFile, "utf8").catch(() => "");
        return text.split("\n").filter(Boolean).flatMap((line) => (JSON.parse(line) as { ids: string[] }).ids);
      },
      setNativeState: notApplicable("the Dummy cloud has no native states: observe() reports the state it is given"),
      faults: notApplicable("the Dummy cloud makes no requests, so none can fail or hang"),
      close: () => rm(dir, { recursive: true, force: true }),
    };
  },
  live: notApplicable("the Dummy provider has no real cloud"),
}));
