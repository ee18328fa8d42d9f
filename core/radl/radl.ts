import { RadlError } from "./errors.ts";
import { Feature, Features, type FeatureLike } from "./features.ts";
import { parseOutports, type Outport } from "./outports.ts";
import { checkRadl } from "./check.ts";
import { radlToText } from "./text.ts";

/** `network <id> ( … )`, or a reference to one defined elsewhere (`network <id>`). */
export class Network extends Features {
  constructor(
    public id: string,
    features: Iterable<FeatureLike> = [],
    public reference = false,
    public line: number | null = null,
  ) {
    super(features);
  }

  static create(id: string, isPublic: boolean): Network {
    return new Network(id, [Feature.string("outbound", isPublic ? "yes" : "no")]);
  }

  /** Only the exact value `yes` makes a network public. */
  isPublic(): boolean {
    return this.getValue("outbound") === "yes";
  }

  /** The parsed `outports`, or null when the network has none. */
  getOutports(): Outport[] | null {
    const value = this.getValue("outports");
    return typeof value === "string" && value !== "" ? parseOutports(value) : null;
  }
}

/** An application inside `disk.N.applications contains ( … )`. */
export class Application extends Features {
  static of(name: string, version?: string, path?: string): Application {
    const app = new Application([Feature.string("name", name)]);
    if (version) app.addFeature(Feature.string("version", version));
    if (path) app.addFeature(Feature.string("path", path));
    return app;
  }

  /** Same name, and a greater version than `other` (or `other` has none). */
  isNewerThan(other: Application): boolean {
    if (this.getValue("name") !== other.getValue("name")) return false;
    const theirs = other.getValue("version");
    if (!theirs) return true;
    return compareLooseVersions(String(this.getValue("version") ?? ""), String(theirs)) > 0;
  }
}

export interface Credentials {
  username?: string;
  password?: string;
  publicKey?: string;
  privateKey?: string;
}

const CREDENTIALS = "disk.0.os.credentials.";
const NEW_CREDENTIALS = "disk.0.os.credentials.new.";
const CREDENTIAL_FIELDS: [keyof Credentials, string][] = [
  ["username", "username"], ["password", "password"], ["publicKey", "public_key"], ["privateKey", "private_key"],
];

/** `system <name> ( … )`, or a reference to one defined elsewhere (`system <name>`). */
export class System extends Features {
  constructor(
    public name: string,
    features: Iterable<FeatureLike> = [],
    public reference = false,
    public line: number | null = null,
  ) {
    super(features);
  }

  getApplications(): Application[] {
    return this.getContains("disk.0.applications").map((f) => new Application((f.value as Features).features));
  }

  addApplication(name: string, version?: string, path?: string, disk = 0): void {
    this.addFeature(Feature.contains(`disk.${disk}.applications`, Application.of(name, version, path)));
  }

  getCredentials(fromNew = false): Credentials {
    const base = fromNew ? NEW_CREDENTIALS : CREDENTIALS;
    const out: Credentials = {};
    for (const [key, prop] of CREDENTIAL_FIELDS) {
      const value = this.getValue(base + prop);
      if (typeof value === "string") out[key] = value;
    }
    return out;
  }

  setCredentials(credentials: Credentials, toNew = false): void {
    const base = toNew ? NEW_CREDENTIALS : CREDENTIALS;
    for (const [key, prop] of CREDENTIAL_FIELDS) {
      const value = credentials[key];
      if (value) this.setValue(base + prop, value);
    }
  }

  /** Moves `disk.0.os.credentials.new.*` over the current credentials (after IM applied them). */
  updateNewCredentials(): void {
    for (const [, prop] of CREDENTIAL_FIELDS.slice(1)) {
      const value = this.getValue(NEW_CREDENTIALS + prop);
      if (value) {
        this.setValue(CREDENTIALS + prop, value);
        this.delValue(NEW_CREDENTIALS + prop);
      }
    }
  }

  /** The networks of `net_interface.0.connection`, `.1.connection`, … up to the first gap. */
  getNetworkIds(): string[] {
    const ids: string[] = [];
    for (let i = 0; ; i++) {
      const id = this.getValue(`net_interface.${i}.connection`);
      if (typeof id !== "string" || !id) return ids;
      ids.push(id);
    }
  }

  getNumNetworkInterfaces(): number {
    let count = 0;
    while (this.hasFeature(`net_interface.${count}.connection`)) count++;
    return count;
  }

  /** The index of the interface connected to `networkId`, or null. */
  getInterfaceIndex(networkId: string): number | null {
    const index = this.getNetworkIds().indexOf(networkId);
    return index === -1 ? null : index;
  }

  getInterfaceIp(index: number): string | undefined {
    const ip = this.getValue(`net_interface.${index}.ip`);
    return typeof ip === "string" && ip ? ip : undefined;
  }

  hasIp(ip: string): boolean {
    return this.features.some((f) => f instanceof Feature && /^net_interface\.[^.]+\.ip$/.test(f.prop) && f.value === ip);
  }

  /**
   * The host and domain requested for an interface (`net_interface.N.dns_name`, `#N#` replaced
   * by the VM number), falling back to a default host name.
   */
  getRequestedName(index: number, vmNumber?: number, defaultHost?: string, defaultDomain?: string): { host: string; domain: string | undefined } | null {
    const fullName = this.getValue(`net_interface.${index}.dns_name`);
    if (typeof fullName === "string" && fullName) {
      const { host, domain } = System.splitName(fullName, vmNumber);
      return { host, domain: domain ?? defaultDomain };
    }
    if (!defaultHost) return null;
    return { host: System.splitName(defaultHost, vmNumber).host, domain: defaultDomain };
  }

  /** Replaces `#N#` with the VM number and splits host and domain at the first dot. */
  static splitName(fullName: string, vmNumber?: number): { host: string; domain: string | undefined } {
    const name = vmNumber === undefined ? fullName : fullName.replaceAll("#N#", String(vmNumber));
    const dot = name.indexOf(".");
    return dot === -1 ? { host: name, domain: undefined } : { host: name.slice(0, dot), domain: name.slice(dot + 1) };
  }

  /**
   * Concretization (spec §8): a copy with `other` applied and then every soft group that fits,
   * heaviest first; the score is the sum of the applied weights.
   */
  concrete(other?: Features): { system: System; score: number } {
    const system = this.clone();
    const softs = system.softs;
    system.delValue("__soft__");
    if (other) system.applyFeatures(other, "error", "other");
    let score = 0;
    const byWeight = softs.map((soft, order) => ({ soft, order })).sort((a, b) => b.soft.weight - a.soft.weight || a.order - b.order);
    for (const { soft } of byWeight) {
      try {
        system.applyFeatures(soft.features, "error", "other");
        score += soft.weight;
      } catch (error) {
        if (!(error instanceof RadlError)) throw error;
      }
    }
    return { system, score };
  }
}

/** `ansible <id> ( … )`: an external Ansible master reached over SSH. */
export class AnsibleHost extends Features {
  constructor(
    public id: string,
    features: Iterable<FeatureLike> = [],
    public line: number | null = null,
  ) {
    super(features);
  }

  getHost(): string | undefined {
    const host = this.getValue("host");
    return typeof host === "string" ? host : undefined;
  }

  getCredentials(): Pick<Credentials, "username" | "password" | "privateKey"> {
    const pick = (prop: string) => {
      const value = this.getValue(prop);
      return typeof value === "string" ? value : undefined;
    };
    return { username: pick("credentials.username"), password: pick("credentials.password"), privateKey: pick("credentials.private_key") };
  }
}

/** `description <id> ( … )`: infrastructure metadata (`name`, `namespace`). */
export class Description extends Features {
  constructor(
    public id: string,
    features: Iterable<FeatureLike> = [],
    public line: number | null = null,
  ) {
    super(features);
  }
}

/** `configure <name> ( @begin … @end )`; `recipes` is null for a reference. */
export class Configure {
  constructor(
    public name: string,
    public recipes: string | null,
    public line: number | null = null,
  ) {}

  get reference(): boolean {
    return this.recipes === null;
  }

  clone(): Configure {
    return new Configure(this.name, this.recipes, this.line);
  }
}

/** `deploy <system> <n> [<cloud id>]`. */
export class Deploy {
  constructor(
    public system: string,
    public vmNumber: number,
    public cloudId: string | null = null,
    public line: number | null = null,
  ) {}

  clone(): Deploy {
    return new Deploy(this.system, this.vmNumber, this.cloudId, this.line);
  }
}

/** `system S configure C [step N] [with TOOL]` inside `contextualize`. */
export class ContextualizeItem {
  constructor(
    public system: string,
    public configure: string,
    public step = 0,
    public ctxtTool: string | null = null,
    public line: number | null = null,
  ) {}

  get key(): string {
    return `${this.system}\u0000${this.configure}`;
  }

  /** The tool that applies the recipe; Ansible unless the item says otherwise. */
  get tool(): string {
    return this.ctxtTool ?? "Ansible";
  }

  clone(): ContextualizeItem {
    return new ContextualizeItem(this.system, this.configure, this.step, this.ctxtTool, this.line);
  }
}

/**
 * The merged `contextualize` sentences. `items` is null when the document has none (IM then
 * applies its default items) and empty for `contextualize ()` (contextualization disabled).
 */
export class Contextualize {
  constructor(
    public maxTime = 0,
    public options = new Map<string, Feature>(),
    public items: Map<string, ContextualizeItem> | null = null,
    public line: number | null = null,
  ) {}

  /** Merges another block: the larger max time wins, options and items are added. */
  update(other: Contextualize): void {
    this.maxTime = Math.max(this.maxTime, other.maxTime);
    for (const [name, option] of other.options) this.options.set(name, option);
    if (other.items) {
      this.items ??= new Map();
      for (const [key, item] of other.items) this.items.set(key, item);
    }
    this.line ??= other.line;
  }

  /** Items grouped by step, steps ascending; null when there are no items. */
  itemsByStep(): Map<number, ContextualizeItem[]> | null {
    if (!this.items || this.items.size === 0) return null;
    const byStep = new Map<number, ContextualizeItem[]>();
    const sorted = [...this.items.values()].sort((a, b) => a.step - b.step);
    for (const item of sorted) {
      const group = byStep.get(item.step);
      if (group) group.push(item);
      else byStep.set(item.step, [item]);
    }
    return byStep;
  }

  clone(): Contextualize {
    const items = this.items && new Map([...this.items].map(([k, item]) => [k, item.clone()]));
    const options = new Map([...this.options].map(([k, option]) => [k, option.clone()]));
    return new Contextualize(this.maxTime, options, items, this.line);
  }
}

export type Aspect = Description | AnsibleHost | Network | System | Configure | Deploy | Contextualize;

/** What `add` does when an aspect with the same id is already there. */
export type IfPresent = "error" | "ignore" | "replace";

/** A whole RADL document (spec §3.1). */
export class Radl {
  description: Description | null = null;
  ansibleHosts: AnsibleHost[] = [];
  networks: Network[] = [];
  systems: System[] = [];
  configures: Configure[] = [];
  deploys: Deploy[] = [];
  contextualize = new Contextualize();

  /**
   * Adds an aspect. Networks, systems, ansible hosts and configures are unique by id; deploys
   * accumulate; contextualize blocks merge. Returns false when an existing aspect was kept.
   */
  add(aspect: Aspect, ifPresent: IfPresent = "error"): boolean {
    if (aspect instanceof Deploy) {
      this.deploys.push(aspect);
      return true;
    }
    if (aspect instanceof Contextualize) {
      this.contextualize.update(aspect);
      return true;
    }
    if (aspect instanceof Description) {
      if (this.description && ifPresent !== "replace") return this.refuse(ifPresent, aspect.line);
      this.description = aspect;
      return true;
    }
    const list = this.listOf(aspect) as Aspect[];
    const index = list.findIndex((existing) => aspectId(existing) === aspectId(aspect));
    if (index === -1) list.push(aspect);
    else if (ifPresent === "replace") list[index] = aspect;
    else return this.refuse(ifPresent, aspect.line);
    return true;
  }

  private refuse(ifPresent: IfPresent, line: number | null): false {
    if (ifPresent === "error") throw new RadlError("Aspect with the same id was found.", line);
    return false;
  }

  private listOf(aspect: Network | System | AnsibleHost | Configure): unknown[] {
    if (aspect instanceof Network) return this.networks;
    if (aspect instanceof System) return this.systems;
    if (aspect instanceof AnsibleHost) return this.ansibleHosts;
    return this.configures;
  }

  /** The aspect of the same class and id in this document. */
  get<T extends Network | System | AnsibleHost | Configure>(aspect: T): T | undefined {
    return (this.listOf(aspect) as T[]).find((existing) => aspectId(existing) === aspectId(aspect));
  }

  getSystem(name: string): System | undefined {
    return this.systems.find((s) => s.name === name);
  }

  getNetwork(id: string): Network | undefined {
    return this.networks.find((n) => n.id === id);
  }

  getConfigure(name: string): Configure | undefined {
    return this.configures.find((c) => c.name === name);
  }

  getAnsibleHost(id: string): AnsibleHost | undefined {
    return this.ansibleHosts.find((a) => a.id === id);
  }

  getDeploy(system: string): Deploy | undefined {
    return this.deploys.find((d) => d.system === system);
  }

  /** Whether a system has an interface on a public network. */
  hasPublicNetwork(systemName: string): boolean {
    const system = this.getSystem(systemName);
    return !!system?.getNetworkIds().some((id) => this.getNetwork(id)?.isPublic());
  }

  /** The first IP of the system on a public (or private) network. */
  getIp(systemName: string, onPublic: boolean): string | undefined {
    const system = this.getSystem(systemName);
    if (!system) return undefined;
    const ids = system.getNetworkIds();
    for (let i = 0; i < ids.length; i++) {
      const network = this.getNetwork(ids[i]);
      const ip = system.getInterfaceIp(i);
      if (network && ip && network.isPublic() === onPublic) return ip;
    }
    return undefined;
  }

  clone(): Radl {
    const copy = new Radl();
    copy.description = this.description?.clone() ?? null;
    copy.ansibleHosts = this.ansibleHosts.map((a) => a.clone());
    copy.networks = this.networks.map((n) => n.clone());
    copy.systems = this.systems.map((s) => s.clone());
    copy.configures = this.configures.map((c) => c.clone());
    copy.deploys = this.deploys.map((d) => d.clone());
    copy.contextualize = this.contextualize.clone();
    return copy;
  }

  /** Throws the first validation error (spec §5). */
  check(): void {
    checkRadl(this);
  }

  /** The RADL text (spec §7.1), as GetInfrastructureRADL returns it. */
  toString(): string {
    return radlToText(this);
  }
}

function aspectId(aspect: Aspect): string {
  if (aspect instanceof System) return aspect.name;
  if (aspect instanceof Configure) return aspect.name;
  if (aspect instanceof Deploy) return aspect.system;
  if (aspect instanceof Contextualize) return "contextualize";
  return aspect.id;
}

/** LooseVersion-style comparison: numeric parts compare as numbers, others as text. */
export function compareLooseVersions(a: string, b: string): number {
  const split = (v: string) => v.match(/\d+|[a-z]+/gi) ?? [];
  const pa = split(a);
  const pb = split(b);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    if (i >= pa.length) return -1;
    if (i >= pb.length) return 1;
    const [x, y] = [pa[i], pb[i]];
    const numeric = /^\d+$/.test(x) && /^\d+$/.test(y);
    const cmp = numeric ? Number(x) - Number(y) : x < y ? -1 : x > y ? 1 : 0;
    if (cmp !== 0) return Math.sign(cmp);
  }
  return 0;
}
