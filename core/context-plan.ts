import { stringify } from "yaml";
import type { ConnectionInfo, ProviderVm } from "./provider.ts";
import { ContextualizeItem, Radl, radlToSimple, readRecipes, type Network, type System } from "./radl/index.ts";

// The contextualization plan of IM (behaviour §5.7.2): which tasks run on which VM at which
// step, the variables playbooks see, and the playbooks the runtime generates. Pure: the
// runtime carries the plan out through a contextualizer plugin.

export type TaskKind = "basic" | "main" | "configure";

/** One task of the plan. Steps run in ascending order; a step's tasks run together. */
export interface PlannedTask {
  step: number;
  imId: number;
  kind: TaskKind;
  /** IM's task name: `basic`, `main_<system>`, `<configure>_<system>`. */
  name: string;
  /** The configure block a `configure` task runs. */
  configure?: string;
}

/** A VM the plan is made for. */
export interface PlanVm {
  imId: number;
  system: string;
}

/**
 * The items that apply: the contextualize block's Ansible items, or, when the document has
 * none, "system X configure X step 1" for every system with a configure block of its name.
 */
export function contextItems(radl: Radl): ContextualizeItem[] {
  if (radl.contextualize.items !== null) return [...radl.contextualize.items.values()].filter((item) => item.tool === "Ansible");
  return radl.systems.filter((system) => radl.getConfigure(system.name)).map((system) => new ContextualizeItem(system.name, system.name, 1));
}

/**
 * The recipes of the configure that a contextualize item gives the RADL's system `with
 * cloud_init` (IM §5.7.4): the user data a provider that boots VMs with cloud-init passes at
 * launch. The last such item wins, as in the reference; undefined when there is none.
 */
export function cloudInitRecipes(radl: Radl): string | undefined {
  const system = radl.systems[0];
  let configure: string | undefined;
  for (const item of radl.contextualize.items?.values() ?? []) {
    if (item.system === system?.name && item.tool === "cloud_init") configure = item.configure;
  }
  return configure === undefined ? undefined : radl.getConfigure(configure)?.recipes ?? undefined;
}

/**
 * The tasks of every VM: `basic` at step 1, `main_<system>` at step 2, and each item of the
 * VM's system at 3 + its step. A non-empty `vmList` (Reconfigure) limits the configure items to
 * the VMs whose integer id it holds; ids given as strings never match, as in the reference.
 */
export function planTasks(radl: Radl, vms: readonly PlanVm[], vmList: readonly unknown[] | null = null): PlannedTask[] {
  const items = contextItems(radl);
  const tasks: PlannedTask[] = [];
  for (const vm of vms) {
    tasks.push({ step: 1, imId: vm.imId, kind: "basic", name: "basic" });
    tasks.push({ step: 2, imId: vm.imId, kind: "main", name: `main_${vm.system}` });
    if (vmList !== null && vmList.length > 0 && !vmList.some((id) => typeof id === "number" && id === vm.imId)) continue;
    for (const item of items) {
      if (item.system !== vm.system) continue;
      tasks.push({ step: 3 + item.step, imId: vm.imId, kind: "configure", name: `${item.configure}_${vm.system}`, configure: item.configure });
    }
  }
  return tasks.sort((a, b) => a.step - b.step || a.imId - b.imId);
}

/** The tasks grouped by step, steps ascending. */
export function tasksByStep(tasks: readonly PlannedTask[]): PlannedTask[][] {
  const steps = new Map<number, PlannedTask[]>();
  for (const task of tasks) {
    const step = steps.get(task.step);
    if (step) step.push(task);
    else steps.set(task.step, [task]);
  }
  return [...steps.keys()].sort((a, b) => a - b).map((step) => steps.get(step)!);
}

/** A VM as the inventory describes it. */
export interface InventoryVm {
  imId: number;
  providerId: string | null;
  cloudType: string;
  /** The VM's system, with its live addresses. */
  system: System;
  publicIp?: string;
  privateIp?: string;
}

export interface NameDefaults {
  /** DEFAULT_VM_NAME, `#N#` is the VM id. */
  vmName: string;
  /** DEFAULT_DOMAIN. */
  domain: string;
}

/** The VM's host name and domain: its interface 0 `dns_name`, else the default name. */
export function hostName(vm: InventoryVm, defaults: NameDefaults): { host: string; domain: string } {
  const name = vm.system.getRequestedName(0, vm.imId, defaults.vmName, defaults.domain);
  return { host: name?.host ?? `vnode-${vm.imId}`, domain: name?.domain ?? defaults.domain };
}

/** The `IM_NODE_*` and `IM_APP_*` variables of one VM (the reference's inventory line). */
export function nodeVariables(vm: InventoryVm, defaults: NameDefaults): Record<string, string | number> {
  const { host, domain } = hostName(vm, defaults);
  const variables: Record<string, string | number> = {};
  if (vm.publicIp) variables.IM_NODE_PUBLIC_IP = vm.publicIp;
  const privateIp = vm.privateIp ?? vm.publicIp;
  if (privateIp) variables.IM_NODE_PRIVATE_IP = privateIp;
  Object.assign(variables, {
    IM_NODE_HOSTNAME: host,
    IM_NODE_FQDN: `${host}.${domain}`,
    IM_NODE_DOMAIN: domain,
    IM_NODE_NUM: vm.imId,
    IM_NODE_VMID: vm.providerId ?? "",
    IM_NODE_CLOUD_TYPE: vm.cloudType,
  });
  vm.system.getNetworkIds().forEach((_, index) => {
    const ip = vm.system.getInterfaceIp(index);
    if (!ip) return;
    variables[`IM_NODE_NET_${index}_IP`] = ip;
    const named = vm.system.getValue(`net_interface.${index}.dns_name`) ? vm.system.getRequestedName(index, vm.imId, undefined, defaults.domain) : null;
    if (named) {
      const netDomain = named.domain ?? defaults.domain;
      variables[`IM_NODE_NET_${index}_HOSTNAME`] = named.host;
      variables[`IM_NODE_NET_${index}_DOMAIN`] = netDomain;
      variables[`IM_NODE_NET_${index}_FQDN`] = `${named.host}.${netDomain}`;
    }
  });
  for (const app of vm.system.getApplications()) {
    const name = String(app.getValue("name") ?? "").toUpperCase();
    const path = app.getValue("path");
    const version = app.getValue("version");
    if (path) variables[`IM_APP_${name}_PATH`] = String(path);
    if (version) variables[`IM_APP_${name}_VERSION`] = String(version);
  }
  return variables;
}

/** The variables every host gets (`[all:vars]` of the reference's inventory). */
export function infrastructureVariables(input: {
  infrastructureId: string;
  radl: Radl;
  vms: readonly InventoryVm[];
  master: InventoryVm;
  defaults: NameDefaults;
  /** The owner's `user:pass`, when the caller gave one. */
  auth?: string;
}): Record<string, string | number> {
  const variables: Record<string, string | number> = {};
  const counts = new Map<string, number>();
  for (const vm of input.vms) counts.set(vm.system.name, (counts.get(vm.system.name) ?? 0) + 1);
  for (const [system, count] of counts) variables[`IM_${system.toUpperCase()}_NUM_VMS`] = count;
  const { host, domain } = hostName(input.master, input.defaults);
  Object.assign(variables, {
    IM_MASTER_HOSTNAME: host,
    IM_MASTER_FQDN: `${host}.${domain}`,
    IM_MASTER_DOMAIN: domain,
    IM_INFRASTRUCTURE_ID: input.infrastructureId,
    IM_INFRASTRUCTURE_RADL: inventoryRadl(input.radl),
  });
  if (input.auth) variables.IM_INFRASTRUCTURE_AUTH = input.auth;
  return variables;
}

/**
 * The RADL as playbooks get it: its systems, networks and deploys as RADL-JSON, with `_` for
 * the dots of feature names (Jinja reads `a.b` as an attribute).
 */
function inventoryRadl(radl: Radl): string {
  const shown = new Radl();
  shown.systems = radl.systems;
  shown.networks = radl.networks;
  shown.deploys = radl.deploys;
  return JSON.stringify(radlToSimple(shown).map((aspect) => Object.fromEntries(Object.entries(aspect).map(([key, value]) => [key.replaceAll(".", "_"), value]))));
}

/**
 * A recipe as a playbook: plays without `hosts` run on `hosts` (an Ansible host pattern), and
 * every play becomes root unless it says otherwise (the reference's header). Throws on invalid YAML.
 */
export function recipePlaybook(recipes: string, hosts: string): string {
  const plays: unknown[] = [];
  for (const document of readRecipes(recipes)) {
    if (document.errors.length) throw new Error(`Error parsing YAML: ${document.errors[0].message}`);
    const content = document.toJS() as unknown;
    if (content === null || content === undefined) continue;
    if (!Array.isArray(content)) throw new Error("Error parsing YAML: a recipe must be a list of plays");
    plays.push(...content);
  }
  return stringify(plays.map((play) => {
    if (typeof play !== "object" || play === null || Array.isArray(play)) return play;
    return { hosts, become: true, ...play };
  }));
}

/** Applications that are Ansible roles or modules, fetched by Ansible, not by the package manager. */
const ANSIBLE_APPLICATION = /^ansible\.(roles|modules)\./;

/** The package applications of a system (`disk.0.applications` minus Ansible roles). */
export function packageApplications(system: System): string[] {
  return system.getApplications()
    .map((app) => String(app.getValue("name") ?? ""))
    .filter((name) => name && !ANSIBLE_APPLICATION.test(name));
}

/** IM's main playbook, for `hosts`: installs the requested applications with apt or yum. */
export function mainPlaybook(system: System, hosts: string): string {
  const tasks: unknown[] = [{ debug: { msg: "Install user requested apps" } }];
  for (const application of packageApplications(system)) {
    const name = application.split(".").at(-1)!;
    tasks.push(
      { name: `Apt install ${name}`, apt: { pkg: name, state: "present", update_cache: true, cache_valid_time: 604800 }, when: "ansible_os_family == 'Debian'", ignore_errors: true },
      { name: `Yum install ${name}`, yum: { name, state: "present" }, when: "ansible_os_family == 'RedHat'", ignore_errors: true },
    );
  }
  return stringify([{ hosts, become: true, gather_facts: packageApplications(system).length > 0, tasks }]);
}

/** The SSH port a contextualizer uses unless a provider or the network's outports say otherwise. */
export const SSH_PORT = 22;

/** Where to reach a VM over SSH, from its description: an interface's address and network. */
export interface SshAddress {
  ip: string;
  port: number;
  /** The network of the interface; undefined for an interface without one. */
  network: Network | undefined;
  public: boolean;
}

/**
 * The address of the first interface on a public network that has one, else of the first
 * other interface that has one (IM's public IP first); undefined when no interface has one.
 * On a public network, an outport that maps a port to 22/tcp (`2222-22`) is where SSH listens,
 * as IM's getSSHPort says.
 */
export function sshAddress(radl: Radl): SshAddress | undefined {
  const system = radl.systems[0];
  if (!system) return undefined;
  const ids = system.getNetworkIds();
  const interfaces = Math.max(ids.length, system.getNumNetworkInterfaces());
  for (const wantPublic of [true, false]) {
    for (let i = 0; i < interfaces; i++) {
      const ip = system.getInterfaceIp(i);
      const network = ids[i] === undefined ? undefined : radl.getNetwork(ids[i]);
      if (ip && (network?.isPublic() ?? false) === wantPublic) return { ip, port: wantPublic ? publicSshPort(network) : SSH_PORT, network, public: wantPublic };
    }
  }
  return undefined;
}

function publicSshPort(network: Network | undefined): number {
  const mapped = network?.getOutports()?.find((o) => !o.range && o.localPort === SSH_PORT && o.protocol === "tcp");
  return mapped?.remotePort ?? SSH_PORT;
}

/** A network's SSH jump host; without a user name in `proxy_host` the login is the server's own user's. */
export type ProxyHost = Omit<ConnectionInfo, "username" | "proxy"> & { username?: string };

/**
 * The jump host of the first network of the VM's system that names one:
 * `proxy_host = '[user[:password]@]host[:port]'`, with `proxy_key` as its private key.
 */
export function proxyHost(radl: Radl): ProxyHost | undefined {
  for (const id of radl.systems[0]?.getNetworkIds() ?? []) {
    const network = radl.getNetwork(id);
    const value = network?.getValue("proxy_host");
    if (typeof value !== "string" || value === "") continue;
    const key = network!.getValue("proxy_key");
    const at = value.lastIndexOf("@");
    const login = at < 0 ? "" : value.slice(0, at);
    const address = /^(.*):(\d+)$/.exec(value.slice(at + 1));
    const colon = login.indexOf(":");
    return {
      host: address ? address[1] : value.slice(at + 1),
      port: address ? Number(address[2]) : SSH_PORT,
      ...(login && { username: colon < 0 ? login : login.slice(0, colon) }),
      ...(colon >= 0 && { password: login.slice(colon + 1) }),
      ...(typeof key === "string" && key && { privateKey: key }),
    };
  }
  return undefined;
}

/**
 * How to log into a VM from its description: its public address first, else its private one,
 * with its current credentials; null without an address or a username.
 */
export function defaultConnectionInfo(vm: ProviderVm): ConnectionInfo | null {
  const address = sshAddress(vm.info);
  const { username, password, privateKey } = vm.info.systems[0]?.getCredentials() ?? {};
  if (!address || !username) return null;
  return { host: address.ip, port: address.port, username, ...(password && { password }), ...(privateKey && { privateKey }) };
}
