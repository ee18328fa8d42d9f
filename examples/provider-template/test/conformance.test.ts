import { fileURLToPath } from "node:url";
import { notApplicable, providerConformance, registerConformance, type CloudFault } from "infra-manager/testing";
import { FakeCloud, type InjectedFailure } from "./fake-cloud.ts";

// infra-manager's conformance kit: the checks every provider must pass before a server can rely
// on it, including runs in the server's own worker pool, where the plugin is loaded by path.

/** How the fake cloud plays each fault the kit asks for, on every request until cleared. */
const FAULTS: Record<CloudFault, InjectedFailure> = {
  auth: { status: 401, code: "Unauthorized", times: Infinity },
  quota: { status: 403, code: "QuotaExceeded", times: Infinity },
  transient: { status: 503, code: "Unavailable", times: Infinity },
  hang: { hang: true, times: Infinity },
};

registerConformance(
  providerConformance({
    module: fileURLToPath(new URL("../src/index.ts", import.meta.url)),
    async cloud() {
      const cloud = await FakeCloud.start();
      return {
        options: { requestTimeoutMs: 5_000 },
        auth: { id: "fake", type: "Example", host: cloud.url, token: cloud.token },
        radl: "network public (outbound = 'yes')\nsystem node (cpu.count = 1 and memory.size >= 512m and net_interface.0.connection = 'public' and disk.0.image.url = 'example://ubuntu-24.04')",
        listVms: async () => [...cloud.servers.keys()],
        setNativeState: (providerId, nativeState) => cloud.setStatus(providerId, nativeState),
        faults: {
          inject: (fault) => cloud.failNext(FAULTS[fault]),
          clear: () => cloud.clearFailures(),
        },
        close: () => cloud.close(),
      };
    },
    // A real cloud's provider gives { radl, listVmsByTag } here; the kit then runs one VM through
    // its life there when INFRA_MANAGER_LIVE_AUTH names an auth file.
    live: notApplicable("the Example cloud exists only as the fake of test/fake-cloud.ts"),
  }),
);
