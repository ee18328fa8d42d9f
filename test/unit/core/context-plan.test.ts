import assert from "node:assert/strict";
import { test } from "node:test";
import { parse } from "yaml";
import {
  cloudInitRecipes, contextItems, defaultConnectionInfo, hostName, proxyHost, infrastructureVariables, mainPlaybook, nodeVariables, parseRadlText, planTasks, recipePlaybook, tasksByStep,
  type InventoryVm, type ProviderVm, type Radl,
} from "../../../core/index.ts";

// IM's contextualization plan (behaviour §5.7.2) and the inventory variables playbooks see.

const NAMES = { vmName: "vnode-#N#", domain: "localdomain" };

const RADL = `network publica (outbound = 'yes')
network privada ()
system front (net_interface.0.connection = 'publica' and net_interface.1.connection = 'privada')
system wn (net_interface.0.connection = 'privada')
configure front (
@begin
- tasks:
  - debug: msg=front
@end
)
configure wn (
@begin
- tasks:
  - debug: msg=wn
@end
)
configure extra (
@begin
- tasks:
  - debug: msg=extra
@end
)`;

const VMS = [{ imId: 0, system: "front" }, { imId: 1, system: "wn" }, { imId: 2, system: "wn" }];

const names = (radl: Radl, vmList: unknown[] | null = null) =>
  tasksByStep(planTasks(radl, VMS, vmList)).map((step) => step.map((t) => `${t.step}:${t.imId}:${t.name}`));

test("without a contextualize block every system with a configure of its name gets it at step 1 (task step 4)", () => {
  const radl = parseRadlText(RADL);
  assert.deepEqual(contextItems(radl).map((i) => [i.system, i.configure, i.step]), [["front", "front", 1], ["wn", "wn", 1]]);
  assert.deepEqual(names(radl), [
    ["1:0:basic", "1:1:basic", "1:2:basic"],
    ["2:0:main_front", "2:1:main_wn", "2:2:main_wn"],
    ["4:0:front_front", "4:1:wn_wn", "4:2:wn_wn"],
  ]);
});

test("contextualize items run at 3 + their step, ordered by step across systems; cloud_init items are not run", () => {
  const radl = parseRadlText(`${RADL}
contextualize (
  system wn configure extra step 2
  system front configure front step 5
  system wn configure wn
  system front configure extra with cloud_init
)`);
  assert.deepEqual(names(radl), [
    ["1:0:basic", "1:1:basic", "1:2:basic"],
    ["2:0:main_front", "2:1:main_wn", "2:2:main_wn"],
    ["3:1:wn_wn", "3:2:wn_wn"],
    ["5:1:extra_wn", "5:2:extra_wn"],
    ["8:0:front_front"],
  ]);
});

test("vm_list limits only the configure items, and ids given as strings never match (the reference's quirk)", () => {
  const radl = parseRadlText(RADL);
  assert.deepEqual(names(radl, [1]), [
    ["1:0:basic", "1:1:basic", "1:2:basic"],
    ["2:0:main_front", "2:1:main_wn", "2:2:main_wn"],
    ["4:1:wn_wn"],
  ]);
  assert.deepEqual(names(radl, ["0", "1"]).length, 2, "no configure step at all");
  assert.deepEqual(names(radl, []), names(radl), "an empty list is no limit, as the reference's `not vm_list`");
});

function vm(radl: Radl, imId: number, system: string, ips: string[]): InventoryVm {
  const copy = radl.getSystem(system)!.clone();
  ips.forEach((ip, index) => copy.setValue(`net_interface.${index}.ip`, ip));
  return { imId, providerId: `p${imId}`, cloudType: "DeployedNode", system: copy, publicIp: undefined, privateIp: undefined };
}

test("node variables: the reference's IM_NODE_* names, private IP falling back to the public one, and IM_APP_*", () => {
  const radl = parseRadlText(RADL);
  const front = { ...vm(radl, 0, "front", ["192.0.2.10", "10.1.0.10"]), publicIp: "192.0.2.10", privateIp: "10.1.0.10" };
  front.system.setValue("net_interface.1.dns_name", "head.cluster");
  front.system.addApplication("gcc", "12", "/usr/bin/gcc");
  assert.deepEqual(nodeVariables(front, NAMES), {
    IM_NODE_PUBLIC_IP: "192.0.2.10",
    IM_NODE_PRIVATE_IP: "10.1.0.10",
    IM_NODE_HOSTNAME: "vnode-0",
    IM_NODE_FQDN: "vnode-0.localdomain",
    IM_NODE_DOMAIN: "localdomain",
    IM_NODE_NUM: 0,
    IM_NODE_VMID: "p0",
    IM_NODE_CLOUD_TYPE: "DeployedNode",
    IM_NODE_NET_0_IP: "192.0.2.10",
    IM_NODE_NET_1_IP: "10.1.0.10",
    IM_NODE_NET_1_HOSTNAME: "head",
    IM_NODE_NET_1_DOMAIN: "cluster",
    IM_NODE_NET_1_FQDN: "head.cluster",
    IM_APP_GCC_PATH: "/usr/bin/gcc",
    IM_APP_GCC_VERSION: "12",
  });
  const publicOnly = { ...vm(radl, 3, "front", ["192.0.2.11"]), publicIp: "192.0.2.11" };
  assert.equal(nodeVariables(publicOnly, NAMES).IM_NODE_PRIVATE_IP, "192.0.2.11");
});

test("a dns_name on interface 0 names the host; #N# is the VM id", () => {
  const radl = parseRadlText(RADL);
  const named = vm(radl, 7, "wn", ["10.1.0.7"]);
  named.system.setValue("net_interface.0.dns_name", "wn-#N#.example.org");
  assert.deepEqual(hostName(named, NAMES), { host: "wn-7", domain: "example.org" });
  assert.deepEqual(hostName(vm(radl, 2, "wn", []), NAMES), { host: "vnode-2", domain: "localdomain" });
});

test("infrastructure variables: counts per system, the master's names, the id, the RADL as JSON and the owner", () => {
  const radl = parseRadlText(RADL);
  const vms = [vm(radl, 0, "front", []), vm(radl, 1, "wn", []), vm(radl, 2, "wn", [])];
  const variables = infrastructureVariables({ infrastructureId: "inf-1", radl, vms, master: vms[0], defaults: NAMES, auth: "user:pass" });
  assert.equal(variables.IM_FRONT_NUM_VMS, 1);
  assert.equal(variables.IM_WN_NUM_VMS, 2);
  assert.equal(variables.IM_MASTER_HOSTNAME, "vnode-0");
  assert.equal(variables.IM_MASTER_FQDN, "vnode-0.localdomain");
  assert.equal(variables.IM_MASTER_DOMAIN, "localdomain");
  assert.equal(variables.IM_INFRASTRUCTURE_ID, "inf-1");
  assert.equal(variables.IM_INFRASTRUCTURE_AUTH, "user:pass");
  const json = JSON.parse(String(variables.IM_INFRASTRUCTURE_RADL)) as Record<string, unknown>[];
  assert.deepEqual(json.map((aspect) => aspect.class), ["network", "network", "system", "system"], "systems, networks and deploys only");
  assert.equal(json.find((aspect) => aspect.id === "front")?.net_interface_0_connection, "publica", "dots become underscores");
  assert.ok(!String(variables.IM_INFRASTRUCTURE_RADL).includes("\n"), "one line, as inventories need");
});

test("a recipe becomes a playbook for its targets: hosts and become added unless the play sets them", () => {
  const playbook = parse(recipePlaybook("---\n- tasks:\n  - debug: msg=hi\n- hosts: all\n  become: false\n  tasks: []\n", "h_0"));
  assert.deepEqual(playbook, [
    { hosts: "h_0", become: true, tasks: [{ debug: "msg=hi" }] },
    { hosts: "all", become: false, tasks: [] },
  ]);
  assert.throws(() => recipePlaybook("- tasks: [unclosed", "h"), /^Error: Error parsing YAML: /);
  assert.throws(() => recipePlaybook("key: value", "h"), /a recipe must be a list of plays/);
});

test("the main playbook installs package applications with apt or yum and leaves Ansible roles alone", () => {
  const system = parseRadlText(`system s (disk.0.applications contains (name = 'nginx') and disk.0.applications contains (name = 'ansible.roles.grycap.slurm'))`).systems[0];
  const [play] = parse(mainPlaybook(system, "h_0")) as { hosts: string; tasks: Record<string, unknown>[] }[];
  assert.equal(play.hosts, "h_0");
  assert.deepEqual(play.tasks.map((t) => t.name ?? "debug"), ["debug", "Apt install nginx", "Yum install nginx"]);
});

test("default connection: the public address first, else the private one, with the current credentials", () => {
  const info = parseRadlText(`network pub (outbound = 'yes')
network priv ()
system s (net_interface.0.connection = 'priv' and net_interface.0.ip = '10.1.0.5' and net_interface.1.connection = 'pub' and net_interface.1.ip = '192.0.2.5'
  and disk.0.os.credentials.username = 'root' and disk.0.os.credentials.password = 'pw')`);
  const providerVm = (radl: Radl): ProviderVm => ({ infrastructureId: "i", imId: 0, providerId: "p", info: radl, state: "running" });
  assert.deepEqual(defaultConnectionInfo(providerVm(info)), { host: "192.0.2.5", port: 22, username: "root", password: "pw" });
  info.systems[0].delValue("net_interface.1.ip");
  assert.equal(defaultConnectionInfo(providerVm(info))?.host, "10.1.0.5");
  info.systems[0].delValue("disk.0.os.credentials.username");
  assert.equal(defaultConnectionInfo(providerVm(info)), null, "no username, no login");
});

test("default connection: a public network's outport to 22/tcp is the SSH port; a private address keeps 22", () => {
  const info = parseRadlText(`network pub (outbound = 'yes' and outports = '8080-80,2222-22,3000:3010/tcp')
network priv (outports = '2200-22')
system s (net_interface.0.connection = 'pub' and net_interface.0.ip = '192.0.2.5' and net_interface.1.connection = 'priv' and net_interface.1.ip = '10.1.0.5'
  and disk.0.os.credentials.username = 'root' and disk.0.os.credentials.password = 'pw')`);
  const providerVm = (radl: Radl): ProviderVm => ({ infrastructureId: "i", imId: 0, providerId: "p", info: radl, state: "running" });
  assert.deepEqual(defaultConnectionInfo(providerVm(info)), { host: "192.0.2.5", port: 2222, username: "root", password: "pw" });
  info.systems[0].delValue("net_interface.0.ip");
  assert.deepEqual(defaultConnectionInfo(providerVm(info)), { host: "10.1.0.5", port: 22, username: "root", password: "pw" });
});

test("proxy host: the first network of the VM that names one, `[user[:password]@]host[:port]` with proxy_key", () => {
  const radl = (proxy: string, key = "") => parseRadlText(`network pub (outbound = 'yes')
network priv (proxy_host = '${proxy}'${key ? ` and proxy_key = '${key}'` : ""})
network other (proxy_host = 'second@198.51.100.9')
system s (net_interface.0.connection = 'pub' and net_interface.1.connection = 'priv' and net_interface.2.connection = 'other')`);
  assert.deepEqual(proxyHost(radl("ubuntu:s3cr:et@203.0.113.7:2222")), { host: "203.0.113.7", port: 2222, username: "ubuntu", password: "s3cr:et" });
  assert.deepEqual(proxyHost(radl("ops@bastion.example.org", "KEY")), { host: "bastion.example.org", port: 22, username: "ops", privateKey: "KEY" });
  assert.deepEqual(proxyHost(radl("user:p@ss@203.0.113.7")), { host: "203.0.113.7", port: 22, username: "user", password: "p@ss" }, "the host follows the last @");
  assert.deepEqual(proxyHost(radl("203.0.113.7")), { host: "203.0.113.7", port: 22 });
  assert.equal(proxyHost(parseRadlText("network priv ()\nsystem s (net_interface.0.connection = 'priv')")), undefined);
});

test("cloud-init recipes: the configure of the system's last `with cloud_init` item; Ansible items are not user data", () => {
  const radl = parseRadlText(`system a ()
system b ()
configure one (
@begin
#cloud-config
packages: [git]
@end
)
configure two (
@begin
echo two
@end
)
contextualize (
  system a configure one with cloud_init
  system a configure two with cloud_init
  system b configure one
)`);
  const only = (name: string) => { const copy = radl.clone(); copy.systems = copy.systems.filter((s) => s.name === name); return copy; };
  assert.equal(cloudInitRecipes(only("a")), "\necho two\n", "the text between @begin and @end, as written");
  assert.equal(cloudInitRecipes(only("b")), undefined);
  assert.deepEqual(contextItems(radl).map((item) => `${item.system}:${item.configure}`), ["b:one"], "cloud-init items are not run by the contextualizer");
});
