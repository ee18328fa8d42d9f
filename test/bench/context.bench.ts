// Contextualization in parallel: ten real SSH hosts (test/fixtures/test-hosts.ts, needs root)
// configured with Ansible through XML-RPC, against the same recipe on one host at a time.
// Goal (issue #4): ten hosts at once take at most 1.5x the slowest single host.
// The test hosts share this machine's CPUs, so the work Ansible does on them (Python modules,
// SSH) grows with their number, unlike VMs of a cloud. For scale, the same recipe is also run
// with plain ansible-playbook (password logins through sshpass), without infra-manager, and the
// machine's busy CPU time is counted: work that needs W CPU-seconds cannot take less than
// W / CPUs seconds, which bounds the ratio from below whatever the contextualizer does.
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { availableParallelism, cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { PACKAGE_ROOT } from "../../runtime/config.ts";
import { startTestServer } from "../fixtures/server.ts";
import { createTestLab, type SshHost } from "../fixtures/test-hosts.ts";
import { pollUntil, rpcClient, type RpcClient } from "../fixtures/xmlrpc-client.ts";
import type { BenchContext, Benchmark, Verdict } from "./run.ts";

const HOSTS = 10;
/** Single-host runs; the goal compares with the slowest. */
const SINGLE_RUNS = 3;
const MAX_RATIO = 1.5;
const AUTH = [{ type: "InfrastructureManager", username: "bench", password: "bench" }, { id: "hosts", type: "DeployedNode" }];
/** Given again as the new password, so that the hosts keep it from one run to the next. */
const PASSWORD = "Bench-pw-1";

/** A small but real recipe: a template of IM variables, a package query and a command. */
const RECIPE = `---
- tasks:
  - copy:
      dest: /root/node
      content: "{{ IM_NODE_HOSTNAME }} of {{ IM_INFRASTRUCTURE_ID }}"
  - command: dpkg-query -W openssh-server
  - shell: echo configured >> /root/runs`;

function system(index: number, host: SshHost): string {
  return `system h${index} (net_interface.0.connection = 'public' and net_interface.0.ip = '${host.publicIp}' and
  disk.0.image.url = 'deployednode://existing' and disk.0.os.name = 'linux' and
  disk.0.os.credentials.username = 'root' and disk.0.os.credentials.password = '${PASSWORD}' and
  disk.0.os.credentials.new.password = '${PASSWORD}')`;
}

/** CPU-milliseconds all CPUs of the machine have spent busy so far. */
function busyCpuMs(): number {
  return cpus().reduce((sum, { times }) => sum + times.user + times.nice + times.sys + times.irq, 0);
}

interface Run {
  /** Milliseconds from CreateInfrastructure to `configured`. */
  elapsed: number;
  /** Busy CPU-milliseconds of the whole machine meanwhile (Ansible, the hosts, the server). */
  busy: number;
}

/** One infrastructure over `hosts`, all running the same configure, to `configured`. */
async function contextualize(client: RpcClient, hosts: SshHost[]): Promise<Run> {
  const radl = `network public (outbound = 'yes')
${hosts.map((host, i) => system(i, host)).join("\n")}
configure common (
@begin
${RECIPE}
@end
)
${hosts.map((_, i) => `deploy h${i} 1`).join("\n")}
contextualize (
${hosts.map((_, i) => `  system h${i} configure common`).join("\n")}
)`;
  const [started, busyBefore] = [performance.now(), busyCpuMs()];
  const [ok, id] = await client.call<[boolean, string]>("CreateInfrastructure", radl, AUTH);
  if (!ok) throw new Error(id);
  const [, state] = await pollUntil(() => client.call<[boolean, { state: string }]>("GetInfrastructureState", id, AUTH),
    ([, s]) => s.state !== "running" && s.state !== "pending", 600_000, "contextualization");
  const run = { elapsed: performance.now() - started, busy: busyCpuMs() - busyBefore };
  if (state.state !== "configured") {
    const [, log] = await client.call<[boolean, string]>("GetInfrastructureContMsg", id, AUTH);
    throw new Error(`contextualization ended ${state.state}:\n${log}`);
  }
  await client.call("DestroyInfrastructure", id, AUTH);
  return run;
}

/** Seconds plain ansible-playbook takes to run the recipe on `hosts`, or null without sshpass. */
async function plainAnsible(hosts: SshHost[]): Promise<number | null> {
  const dir = await mkdtemp(join(tmpdir(), "bench-ansible-"));
  try {
    const inventory = hosts.map((host) => `${host.name} ansible_host=${host.publicIp} ansible_user=root ansible_password=${PASSWORD} ansible_python_interpreter=/usr/bin/python3 IM_NODE_HOSTNAME=${host.name} IM_INFRASTRUCTURE_ID=plain`);
    await writeFile(join(dir, "inventory"), `${inventory.join("\n")}\n`, { mode: 0o600 });
    await writeFile(join(dir, "playbook.yml"), RECIPE.replace("- tasks:", "- hosts: all\n  tasks:"));
    const env = {
      ...process.env, ANSIBLE_HOST_KEY_CHECKING: "False", ANSIBLE_PIPELINING: "True",
      ANSIBLE_SSH_ARGS: `-o ControlMaster=auto -o ControlPersist=10s -o ControlPath=${dir}/%C -o UserKnownHostsFile=/dev/null`,
    };
    const started = performance.now();
    await promisify(execFile)("ansible-playbook", ["-i", join(dir, "inventory"), "-f", String(hosts.length), join(dir, "playbook.yml")], { env });
    return (performance.now() - started) / 1000;
  } catch (error) {
    if ((error as { stderr?: string }).stderr?.includes("sshpass")) return null;
    throw error;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

export const benchmark: Benchmark = {
  name: "contextualization",
  description: `${HOSTS} SSH hosts configured with Ansible at once vs one at a time (needs root)`,
  async run({ log }: BenchContext): Promise<Verdict[]> {
    const lab = await createTestLab({ name: "bench-contextualization" });
    try {
      const hosts: SshHost[] = [];
      for (let i = 0; i < HOSTS; i++) hosts.push(await lab.addHost({ name: `h${i}`, publicNet: true, password: PASSWORD }));
      const server = await startTestServer({
        config: {
          plugins: ["plugins/providers/deployed-node/index.ts", "plugins/contextualizers/ansible/index.ts", "plugins/stores/memory/index.ts"]
            .map((path) => ({ module: join(PACKAGE_ROOT, path) })),
        },
        im: { WAIT_SSH_ACCCESS_TIMEOUT: 60 },
      });
      try {
        const client = rpcClient(server.url);
        // The first run pays for cold caches (Python bytecode, the hosts' page cache).
        await contextualize(client, [hosts[0]]);
        const singles: Run[] = [];
        for (let i = 0; i < SINGLE_RUNS; i++) singles.push(await contextualize(client, [hosts[i]]));
        const slowest = Math.max(...singles.map((run) => run.elapsed));
        log(`one host at a time: ${singles.map((run) => `${seconds(run.elapsed)} (CPU busy ${seconds(run.busy)})`).join(", ")}`);
        const together = await contextualize(client, hosts);
        const ratio = together.elapsed / slowest;
        log(`${HOSTS} hosts at once: ${seconds(together.elapsed)} (CPU busy ${seconds(together.busy)}), ×${ratio.toFixed(2)} the slowest single host`);
        const floor = together.busy / availableParallelism() / slowest;
        log(`on ${availableParallelism()} CPUs that CPU work alone takes ≥ ${seconds(together.busy / availableParallelism())}: no run of ${HOSTS} hosts here can be under ×${floor.toFixed(2)}`);
        const [plainOne, plainAll] = [await plainAnsible([hosts[1]]), await plainAnsible(hosts)];
        if (plainOne !== null && plainAll !== null) {
          log(`plain ansible-playbook, for scale: one host ${plainOne.toFixed(1)} s, ${HOSTS} hosts ${plainAll.toFixed(1)} s (×${(plainAll / plainOne).toFixed(2)})`);
        } else {
          log("plain ansible-playbook not measured: sshpass is not installed");
        }
        return [{ goal: `${HOSTS} hosts at once ≤ ${MAX_RATIO} × the slowest single host`, measured: `×${ratio.toFixed(2)}`, pass: ratio <= MAX_RATIO }];
      } finally {
        await server.close();
      }
    } finally {
      await lab.destroy();
    }
  },
};
