import {
  PLUGIN_API_VERSION, definePlugin,
  type CloudProvider, type LaunchRequest, type LaunchResult, type Observation, type ProviderVm, type System,
} from "../../../core/index.ts";

// The reference's DeployedNode cloud (IM behaviour §6.4): machines that already exist, given
// by their address and credentials, adopted so that they can be contextualized. Nothing is
// created or deleted; the machine's address is its identity, which makes launch idempotent.

export class DeployedNodeProvider implements CloudProvider {
  readonly type = "DeployedNode";
  readonly capabilities = [] as const;

  /** Only a system that says where the machine is and how to log in can be adopted. */
  async concreteSystem(system: System): Promise<System[]> {
    const { username, password, privateKey } = system.getCredentials();
    if (!system.getInterfaceIp(0) || !username || !(password || privateKey)) return [];
    return [system.clone()];
  }

  async launch(request: LaunchRequest): Promise<LaunchResult[]> {
    return Array.from({ length: request.count }, (_, index) => {
      const info = request.requestedRadl.clone();
      const system = info.systems[0];
      system.setValue("state", "running");
      system.setValue("provider.type", this.type);
      const address = system.getInterfaceIp(0)!;
      return { ok: true, providerId: request.count > 1 ? `${address}#${index}` : address, info, state: "running" };
    });
  }

  /** An adopted machine is taken to be running: there is no cloud to ask. */
  async observe(vm: ProviderVm): Promise<Observation> {
    return { state: vm.state === "pending" ? "running" : vm.state };
  }

  /** The machine is not ours to delete: it is only forgotten. */
  async finalize(): Promise<void> {}
}

export default definePlugin({
  manifest: { name: "DeployedNode", kind: "provider", version: "1.0.0", apiVersion: PLUGIN_API_VERSION },
  register(registrar) {
    registrar.provider(() => new DeployedNodeProvider());
  },
});
