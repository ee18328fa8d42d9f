import { LineCounter, parseAllDocuments, type YAMLError } from "yaml";
import { RadlError } from "./errors.ts";
import { Feature, Features, SoftFeatures } from "./features.ts";
import { parseOutports } from "./outports.ts";
import { pyListRepr } from "./python-repr.ts";
import type { AnsibleHost, Configure, Contextualize, Deploy, Radl, System } from "./radl.ts";
import { CPU_PERFORMANCE_UNITS, MEMORY_UNITS } from "./units.ts";
import { isCertainlyValidYaml } from "./yaml-subset.ts";

// Validation of a parsed document (spec §5). Messages are the reference's, Python type names
// included, because clients match on them.

type ValueKind = "string" | "number" | "stringOrList" | "contains";

interface Rule {
  kind: ValueKind;
  /** Allowed values, upper-case (compared case-insensitively). */
  oneOf?: readonly string[];
  /** A predicate on the value; false gives `Invalid value in property '<prop>'`. */
  valid?: (feature: Feature, scope: Scope) => boolean;
  /** Allowed units, upper-case; absent means no unit is allowed. */
  units?: readonly string[];
}

/** Rules by property name. */
type Rules = ReadonlyMap<string, Rule>;

/** What `<family>.<index>.<suffix>` names: a feature to check with `rule` and count as using `index`. */
interface IndexedProperty {
  family: string;
  index: number;
  rule: Rule;
}

/** A property of an indexed family whose index is not `[0-9]+`. */
const BAD_INDEX = "bad index";

/** The ids of the document's aspects, collected once per check so that rules look them up in O(1). */
interface Scope {
  systems: ReadonlySet<string>;
  networks: ReadonlySet<string>;
  configures: ReadonlySet<string>;
  ansibleHosts: ReadonlySet<string>;
  /** How each property name met so far reads as an indexed property (names repeat in every system). */
  indexedProperties: Map<string, IndexedProperty | typeof BAD_INDEX | null>;
}

const TYPE_NAMES: Record<ValueKind, string> = {
  string: "<class 'str'>",
  number: "<class 'float'>",
  stringOrList: "(<class 'str'>, <class 'list'>)",
  contains: "<class 'radl.radl.Features'>",
};

const nonNegative = (f: Feature) => (f.value as number) >= 0;
const nonEmpty = (f: Feature) => f.value !== "";
/** `[0-9]+` parts separated by dots, or nothing. */
const VERSION = /^(?:[0-9]+(?:\.[0-9]+)*)?$/;
const isVersion = (f: Feature) => VERSION.test(f.value as string);

/** More than 6 characters with an upper-case letter, a digit and a symbol. */
function isStrongPassword(f: Feature): boolean {
  const password = f.value as string;
  return [...password].length > 6 && password.toLowerCase() !== password && /\p{Nd}/u.test(password) && /[^\p{L}\p{N}]/u.test(password);
}

const str: Rule = { kind: "string" };
const memory: Rule = { kind: "number", valid: nonNegative, units: MEMORY_UNITS };

const ruleTable = (table: Record<string, Rule>): Rules => new Map(Object.entries(table));

const NETWORK_RULES = ruleTable({
  outbound: { kind: "string", oneOf: ["YES", "NO"] },
  outports: { kind: "string", valid: (f) => isOutports(f.value as string) },
  provider_id: str,
});

const SYSTEM_RULES = ruleTable({
  spot: { kind: "string", oneOf: ["YES", "NO"] },
  image_type: { kind: "string", oneOf: ["VMDK", "QCOW", "QCOW2", "RAW"] },
  virtual_system_type: str,
  price: { kind: "number", valid: nonNegative },
  "cpu.count": { kind: "number", valid: nonNegative },
  "cpu.arch": { kind: "string", oneOf: ["I386", "I686", "X86_64", "ARM64", "AARCH64"] },
  "cpu.performance": { kind: "number", valid: nonNegative, units: CPU_PERFORMANCE_UNITS },
  "memory.size": memory,
  "gpu.count": { kind: "number", valid: nonNegative },
  "disk.0.os.credentials.new.password": { kind: "string", valid: isStrongPassword },
  ansible_host: { kind: "string", valid: (f, scope) => scope.ansibleHosts.has(f.value as string) },
});

/** Rules of the indexed families `net_interface.N.<suffix>` and `disk.N.<suffix>`. */
const INDEXED_RULES: ReadonlyMap<string, Rules> = new Map([
  ["net_interface", ruleTable({
    connection: { kind: "string", valid: (f, scope) => scope.networks.has(f.value as string) },
    ip: str,
    dns_name: str,
  })],
  ["disk", ruleTable({
    "image.url": { kind: "stringOrList" },
    "image.name": str,
    type: str,
    device: str,
    mount_path: str,
    fstype: str,
    size: memory,
    free_size: memory,
    "os.name": { kind: "string", oneOf: ["LINUX", "WINDOWS", "MAC OS X"] },
    "os.flavour": str,
    "os.version": { kind: "string", valid: isVersion },
    "os.credentials.username": str,
    "os.credentials.password": str,
    "os.credentials.public_key": str,
    "os.credentials.private_key": str,
    applications: { kind: "contains", valid: (f, scope) => (checkFeatures(f.value as Features, APPLICATION_RULES, scope), true) },
  })],
]);

const APPLICATION_RULES = ruleTable({
  name: { kind: "string", valid: nonEmpty },
  path: { kind: "string", valid: nonEmpty },
  version: { kind: "string", valid: isVersion },
  preinstalled: { kind: "string", oneOf: ["YES", "NO"] },
});

const ANSIBLE_RULES = ruleTable({
  host: str,
  "credentials.username": str,
  "credentials.password": str,
  "credentials.private_key": str,
});

/**
 * Checks a document and throws the first error (spec §5.2 order: networks, ansible hosts,
 * systems, deploys, configures, contextualize).
 */
export function checkRadl(radl: Radl): void {
  const scope = checkUniqueIds(radl);
  for (const network of radl.networks) checkFeatures(network, NETWORK_RULES, scope);
  for (const host of radl.ansibleHosts) checkAnsibleHost(host, scope);
  for (const system of radl.systems) checkSystem(system, scope);
  for (const deploy of radl.deploys) checkDeploy(deploy, scope);
  const invalid = invalidRecipe(radl.configures);
  if (invalid) throw new RadlError(`Invalid YAML code: ${invalid.problem}.`, invalid.configure.line);
  checkContextualize(radl.contextualize, scope);
}

/** Refuses duplicated system and network names and collects the ids of every aspect. */
function checkUniqueIds(radl: Radl): Scope {
  const systems = new Set(radl.systems.map((s) => s.name));
  if (systems.size !== radl.systems.length) throw new RadlError("Some System name duplicated.");
  const networks = new Set(radl.networks.map((n) => n.id));
  if (networks.size !== radl.networks.length) throw new RadlError("Some Network name duplicated.");
  return {
    systems,
    networks,
    configures: new Set(radl.configures.map((c) => c.name)),
    ansibleHosts: new Set(radl.ansibleHosts.map((a) => a.id)),
    indexedProperties: new Map(),
  };
}

function checkAnsibleHost(host: AnsibleHost, scope: Scope): void {
  checkFeatures(host, ANSIBLE_RULES, scope);
  if (!host.hasFeature("host")) throw new RadlError("Ansible host must have a host", host.line);
  if (!host.hasFeature("credentials.username")) throw new RadlError("Ansible host must have a credentials.username", host.line);
  if (!host.hasFeature("credentials.password") && !host.hasFeature("credentials.private_key")) {
    throw new RadlError("Ansible host must have a credentials.password or credentials.private_key", host.line);
  }
}

function checkSystem(system: System, scope: Scope): void {
  const features = system.features;
  checkFeatures(system, SYSTEM_RULES, scope, features);
  const indices = checkIndexedFeatures(system, scope, features);
  if (!indices) return;
  for (const [family, used] of indices) {
    if (!isZeroToN(used)) throw new RadlError(`Invalid indices values in properties '${family}'`, system.line);
  }
  for (const index of indices.get("net_interface") ?? []) {
    if (!system.hasFeature(`net_interface.${index}.connection`)) {
      throw new RadlError("Some net_interface does not have a connection", system.line);
    }
  }
}

/** Whether distinct numbers are 0, 1, … without a gap. */
function isZeroToN(numbers: ReadonlySet<number>): boolean {
  let min = Infinity;
  let max = -Infinity;
  for (const n of numbers) {
    if (n < min) min = n;
    if (n > max) max = n;
  }
  return min === 0 && max === numbers.size - 1;
}

/** Checks the features that have a rule, soft groups included (with the same rules). */
function checkFeatures(features: Features, rules: Rules, scope: Scope, listed = features.features): void {
  for (const feature of listed) {
    if (feature instanceof SoftFeatures) {
      const inner = feature.features.features;
      checkFeatures(feature.features, rules, scope, inner);
      checkIndexedFeatures(feature.features, scope, inner);
    } else {
      const rule = rules.get(feature.prop);
      if (rule) checkFeature(feature, rule, scope);
    }
  }
}

/**
 * Checks `net_interface.N.*` and `disk.N.*` features and returns, per family, the indices that
 * carry at least one property with a rule (null when none does).
 */
function checkIndexedFeatures(features: Features, scope: Scope, listed = features.features): Map<string, Set<number>> | null {
  let indices: Map<string, Set<number>> | null = null;
  for (const feature of listed) {
    if (feature instanceof SoftFeatures) continue;
    let indexed = scope.indexedProperties.get(feature.prop);
    if (indexed === undefined) {
      indexed = readIndexedProperty(feature.prop);
      scope.indexedProperties.set(feature.prop, indexed);
    }
    if (indexed === null) continue;
    if (indexed === BAD_INDEX) throw new RadlError("Invalid property name; expected an index.", feature.line);
    checkFeature(feature, indexed.rule, scope);
    indices ??= new Map();
    const used = indices.get(indexed.family);
    if (used) used.add(indexed.index);
    else indices.set(indexed.family, new Set<number>().add(indexed.index));
  }
  return indices;
}

/**
 * Reads `<family>.<index>[.<suffix>]` for the families with rules; null when the name is not
 * in such a family, or names no index's property with a rule.
 */
function readIndexedProperty(prop: string): IndexedProperty | typeof BAD_INDEX | null {
  const firstDot = prop.indexOf(".");
  if (firstDot === -1) return null;
  const family = prop.slice(0, firstDot);
  const familyRules = INDEXED_RULES.get(family);
  if (!familyRules) return null;
  const secondDot = prop.indexOf(".", firstDot + 1);
  const index = secondDot === -1 ? prop.slice(firstDot + 1) : prop.slice(firstDot + 1, secondDot);
  if (!isIndex(index)) return BAD_INDEX;
  if (secondDot === -1) return null;
  const rule = familyRules.get(prop.slice(secondDot + 1));
  return rule ? { family, index: Number(index), rule } : null;
}

/** `[0-9]+` */
function isIndex(text: string): boolean {
  if (text.length === 0) return false;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 48 || code > 57) return false;
  }
  return true;
}

function checkFeature(feature: Feature, rule: Rule, scope: Scope): void {
  if (!hasKind(feature, rule.kind)) fail(feature, `Invalid type; expected ${TYPE_NAMES[rule.kind]}`);
  if (feature.type === "string" && feature.operator !== "=" && !feature.prop.includes("version")) fail(feature, "Invalid operator; expected '='");
  if (rule.oneOf && !rule.oneOf.includes((feature.value as string).toUpperCase())) fail(feature, `Invalid value; expected one of ${pyListRepr(rule.oneOf)}`);
  if (rule.valid && !rule.valid(feature, scope)) fail(feature, `Invalid value in property '${feature.prop}'`);
  if (!rule.units && feature.unit) fail(feature, "Invalid unit; expected none");
  if (rule.units && !rule.units.includes(feature.unit.toUpperCase())) fail(feature, `Invalid unit; expected one of ${pyListRepr(rule.units)}`);
}

function fail(feature: Feature, message: string): never {
  throw new RadlError(message, feature.line);
}

function hasKind(feature: Feature, kind: ValueKind): boolean {
  switch (kind) {
    case "string": return feature.type === "string";
    case "number": return feature.isNumber;
    case "stringOrList": return feature.type === "string" || feature.type === "list";
    case "contains": return feature.type === "contains";
  }
}

function isOutports(value: string): boolean {
  try {
    parseOutports(value);
    return true;
  } catch {
    return false;
  }
}

function checkDeploy(deploy: Deploy, scope: Scope): void {
  if (!scope.systems.has(deploy.system)) throw new RadlError("Invalid system id in the deploy.", deploy.line);
  if (!Number.isInteger(deploy.vmNumber) || deploy.vmNumber < 0) throw new RadlError("Invalid number of virtual machines to deploy.", deploy.line);
}

/** The first configure whose recipes are not valid YAML, and why; the document's recipes share one budget. */
export function invalidRecipe(configures: readonly Configure[]): { configure: Configure; problem: string } | null {
  const budget = yamlBudget();
  for (const configure of configures) {
    const problem = configure.recipes ? yamlProblem(configure.recipes, budget) : null;
    if (problem) return { configure, problem };
  }
  return null;
}

/**
 * How many characters of recipes one document may send to the `yaml` package. It is linear,
 * but at some microseconds a character on hostile input: the budget keeps a 10 MB request from
 * holding the server for half a minute. Real recipes take the fast path, or are far smaller.
 */
const SLOW_YAML_BUDGET = 1 << 20;

/** What is left of a document's budget for the `yaml` package; shared by its recipes. */
interface YamlBudget {
  characters: number;
}

function yamlBudget(): YamlBudget {
  return { characters: SLOW_YAML_BUDGET };
}

/** Why a recipe is not one valid YAML document, or null when it is. */
export function yamlProblem(recipe: string, budget: YamlBudget = yamlBudget()): string | null {
  if (isCertainlyValidYaml(recipe)) return null;
  budget.characters -= recipe.length;
  if (budget.characters < 0) {
    return "the recipes hold more than 1 MiB of YAML beyond block collections and one-line scalars, more than infra-manager checks";
  }
  return yamlPackageProblem(recipe);
}

/**
 * `yamlProblem` as the `yaml` package alone answers it: slow, but it reads all of YAML and words
 * the errors. Exported for the test that compares it with the fast path.
 */
export function yamlPackageProblem(recipe: string): string | null {
  const lines = new LineCounter();
  const documents = readRecipes(recipe, lines);
  if (!Array.isArray(documents)) return null; // an empty stream is valid
  for (const document of documents) {
    if (document.errors.length > 0) return located(document.errors[0], lines);
  }
  if (documents.length > 1) return "expected a single document in the stream, but found another document";
  return null;
}

/**
 * Recipes as YAML documents, read as PyYAML reads them for the reference: a key given twice is
 * no error (the last one wins). Errors carry no position text: the package would scan the
 * error's line for each of them, which is quadratic on a long line with many.
 */
export function readRecipes(recipes: string, lineCounter?: LineCounter): ReturnType<typeof parseAllDocuments> {
  return parseAllDocuments(recipes, { uniqueKeys: false, prettyErrors: false, ...(lineCounter && { lineCounter }) });
}

/** An error's message with where it is, `… at line L, column C`. */
function located(error: YAMLError, lines: LineCounter): string {
  const message = error.message.split("\n")[0];
  if (error.pos[0] < 0) return message;
  const { line, col } = lines.linePos(error.pos[0]);
  return `${message} at line ${line}, column ${col}`;
}

function checkContextualize(ctxt: Contextualize, scope: Scope): void {
  if (!Number.isInteger(ctxt.maxTime) || ctxt.maxTime < 0) throw new RadlError("Invalid 'max time' in 'contextualize'", ctxt.line);
  for (const item of ctxt.items?.values() ?? []) {
    if (!scope.systems.has(item.system)) throw new RadlError(`Invalid system id '${item.system}'`, item.line);
    if (!scope.configures.has(item.configure)) throw new RadlError(`Invalid configure id '${item.configure}'`, item.line);
  }
}
