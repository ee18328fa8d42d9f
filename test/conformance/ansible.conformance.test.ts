// The Ansible contextualizer runs the contextualizer kit against real SSH hosts: sshd servers in
// network namespaces of their own (test/fixtures/test-hosts.ts), one that drops every packet.
import { join } from "node:path";
import type { ContextNode } from "../../core/index.ts";
import { PACKAGE_ROOT } from "../../runtime/config.ts";
import { contextualizerConformance, registerConformance } from "../../runtime/testing/index.ts";
import { createTestLab, type SshHost } from "../fixtures/test-hosts.ts";

registerConformance(contextualizerConformance({
  module: join(PACKAGE_ROOT, "plugins/contextualizers/ansible/index.ts"),
  // Short connection attempts: the silent host would hold a default 10 s attempt past the kit's short timeout.
  options: { connectTimeoutSeconds: 2, retryIntervalSeconds: 0.5 },
  accessTimeoutSeconds: 30,
  async hosts() {
    const lab = await createTestLab({ name: "ansible-conformance" });
    try {
      const [first, second, credentials, silent] = await Promise.all([
        lab.addHost({ name: "first", publicNet: true, password: "first-pw" }),
        lab.addHost({ name: "second", publicNet: true, username: "cloudadm", password: "second-pw" }),
        lab.addHost({ name: "credentials", publicNet: true, username: "cloudadm", password: "credentials-pw" }),
        lab.addSilentHost({ name: "silent", publicNet: true, behaviour: "drop" }),
      ]);
      const node = (imId: number, host: { name: string; publicIp?: string }, username = "root", password = "none"): ContextNode =>
        ({ imId, name: host.name, system: "front", connection: { host: host.publicIp!, port: 22, username, password }, variables: {} });
      const hosts = new Map<number, SshHost>([[0, first], [1, second]]);
      return {
        nodes: [node(0, first, first.username, first.password), node(1, second, second.username, second.password)],
        wrongCredentials: node(2, first, first.username, "wrong-password"),
        unreachable: node(3, silent),
        credentialsNode: node(4, credentials, credentials.username, credentials.password),
        readFile: (target, path) => hosts.get(target.imId)!.readFile(path).catch(() => undefined),
        close: () => lab.destroy(),
      };
    } catch (error) {
      await lab.destroy();
      throw error;
    }
  },
}));
