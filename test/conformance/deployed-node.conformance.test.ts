// The DeployedNode provider runs the provider kit. Its "cloud" is the set of machines that
// already exist: adopting one creates nothing, so the cloud's list of VMs never grows, and a
// machine is identified by its address, which makes a repeated launch return the same VMs.
import { join } from "node:path";
import { PACKAGE_ROOT } from "../../runtime/config.ts";
import { notApplicable, providerConformance, registerConformance } from "../../runtime/testing/index.ts";

// A documentation address (RFC 5737): the kit never logs into it.
const MACHINE = "192.0.2.10";

registerConformance(providerConformance({
  module: join(PACKAGE_ROOT, "plugins/providers/deployed-node/index.ts"),
  async cloud() {
    return {
      auth: { id: "hosts", type: "DeployedNode" },
      radl: `network public (outbound = 'yes')
system front (
  net_interface.0.connection = 'public' and net_interface.0.ip = '${MACHINE}' and
  disk.0.os.credentials.username = 'root' and disk.0.os.credentials.password = 'secret'
)`,
      listVms: async () => [],
      setNativeState: notApplicable("adopted machines have no cloud state to report: they are taken to be running"),
      faults: notApplicable("the DeployedNode provider makes no requests, so none can fail or hang"),
    };
  },
  live: notApplicable("the DeployedNode provider has no cloud"),
}));
