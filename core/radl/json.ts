import { RadlError } from "./errors.ts";
import { Feature, Features, SoftFeatures, type FeatureLike } from "./features.ts";
import { MAX_NESTING } from "./parser.ts";
import { AnsibleHost, Configure, Contextualize, ContextualizeItem, Deploy, Description, Network, Radl, System } from "./radl.ts";

// RADL-JSON (spec §7.2): what REST clients send with application/json, and what IM returns
// for VMINFO_JSON and gives playbooks as IM_INFRASTRUCTURE_RADL. Errors carry no line.

export type SimpleObject = { [key: string]: SimpleJson };
export type SimpleJson = string | number | boolean | null | SimpleJson[] | SimpleObject;

/** Parses RADL-JSON text, or an already decoded array. Does not run `check`. */
export function parseRadlJson(input: string | unknown[]): Radl {
  let document: unknown = input;
  if (typeof input === "string") {
    try {
      document = JSON.parse(input);
    } catch (error) {
      throw new RadlError(`Error parsing JSON: ${(error as Error).message}`);
    }
  }
  if (!Array.isArray(document)) throw new RadlError("A RADL-JSON document must be a JSON array of objects.");
  const radl = new Radl();
  for (const element of document) radl.add(aspectFromJson(element));
  return radl;
}

function aspectFromJson(element: unknown) {
  if (!isObject(element)) throw new RadlError(`A RADL-JSON element must be an object, not ${jsonForMessage(element)}.`);
  const kind = element.class;
  switch (kind) {
    case "network": return element.reference === true ? new Network(requiredId(element), [], true) : new Network(requiredId(element), featuresFromJson(element));
    case "system": return element.reference === true ? new System(requiredId(element), [], true) : new System(requiredId(element), featuresFromJson(element));
    case "ansible": return new AnsibleHost(requiredId(element), featuresFromJson(element));
    case "description": return new Description(requiredId(element), featuresFromJson(element));
    case "configure": {
      const recipes = element.recipes;
      if (recipes !== undefined && typeof recipes !== "string") throw new RadlError("The 'recipes' of a configure must be a string.");
      return new Configure(requiredId(element), element.reference === true ? null : (recipes ?? ""));
    }
    case "deploy": {
      const { system, vm_number: vmNumber, cloud } = element;
      if (typeof system !== "string") throw new RadlError("A deploy needs a 'system' string.");
      if (typeof vmNumber !== "number") throw new RadlError("A deploy needs a 'vm_number' number.");
      if (cloud !== undefined && cloud !== null && typeof cloud !== "string") throw new RadlError("The 'cloud' of a deploy must be a string.");
      return new Deploy(system, vmNumber, cloud ?? null);
    }
    case "contextualize": return contextualizeFromJson(element);
    default: throw new RadlError(`Unknown RADL-JSON class ${jsonForMessage(kind)}.`);
  }
}

/** A value as JSON for an error message; one nested too deep for JSON.stringify is only named. */
function jsonForMessage(value: unknown): string {
  try {
    return JSON.stringify(value);
  } catch {
    return Array.isArray(value) ? "an array" : typeof value;
  }
}

function requiredId(element: SimpleObject): string {
  if (typeof element.id !== "string" || element.id === "") throw new RadlError(`A ${element.class} needs an 'id' string.`);
  return element.id;
}

const RESERVED_KEYS = new Set(["class", "id", "reference"]);

/** `depth` counts the nested feature sets (soft groups, contains), limited like the text parser's. */
function featuresFromJson(element: SimpleObject, reserved = RESERVED_KEYS, depth = 1): FeatureLike[] {
  if (depth > MAX_NESTING) throw new RadlError(`RADL-JSON features nested deeper than ${MAX_NESTING} levels.`);
  const features: FeatureLike[] = [];
  for (const [key, value] of Object.entries(element)) {
    if (reserved.has(key)) continue;
    if (key === "softs") features.push(...softsFromJson(value, depth));
    else features.push(...featureFromJson(key, value, depth));
  }
  return features;
}

function softsFromJson(value: SimpleJson, depth: number): SoftFeatures[] {
  if (!Array.isArray(value)) throw new RadlError("'softs' must be an array.");
  return value.map((soft) => {
    if (!isObject(soft) || typeof soft.weight !== "number" || !isObject(soft.items)) {
      throw new RadlError("Each element of 'softs' must be {\"weight\": number, \"items\": object}.");
    }
    return new SoftFeatures(soft.weight, featuresFromJson(soft.items, new Set(), depth + 1));
  });
}

function featureFromJson(key: string, value: SimpleJson, depth: number): Feature[] {
  if (typeof value === "number") {
    if (key.endsWith("_min")) return [Feature.number(key.slice(0, -4), ">=", value)];
    if (key.endsWith("_max")) return [Feature.number(key.slice(0, -4), "<=", value)];
    return [Feature.number(key, "=", value)];
  }
  if (typeof value === "string") return [Feature.string(key, value)];
  if (typeof value === "boolean") return [Feature.string(key, value ? "yes" : "no")];
  if (Array.isArray(value)) {
    if (value.every((item) => typeof item === "string")) return [Feature.list(key, value as string[])];
    if (value.every(isObject)) return value.map((item) => Feature.contains(key, new Features(featuresFromJson(item, new Set(), depth + 1))));
    throw new RadlError(`The array of '${key}' must hold only strings or only objects.`);
  }
  if (isObject(value)) return [Feature.contains(key, new Features(featuresFromJson(value, new Set(), depth + 1)))];
  throw new RadlError(`Invalid value for '${key}': ${JSON.stringify(value)}.`);
}

function contextualizeFromJson(element: SimpleObject): Contextualize {
  const maxTime = element.max_time ?? 0;
  if (typeof maxTime !== "number") throw new RadlError("The 'max_time' of contextualize must be a number.");
  const ctxt = new Contextualize(maxTime, new Map(), new Map());
  const options = element.options ?? {};
  if (!isObject(options)) throw new RadlError("The 'options' of contextualize must be an object.");
  for (const [name, value] of Object.entries(options)) {
    if (typeof value !== "string" && typeof value !== "number") throw new RadlError(`Invalid value for option '${name}'.`);
    ctxt.options.set(name, Feature.of(name, value));
  }
  const items = element.items ?? [];
  if (!Array.isArray(items)) throw new RadlError("The 'items' of contextualize must be an array.");
  for (const item of items) {
    if (!isObject(item) || typeof item.system !== "string" || typeof item.configure !== "string") {
      throw new RadlError("Each contextualize item needs 'system' and 'configure' strings.");
    }
    const step = item.step ?? 0;
    const tool = item.ctxt_tool ?? null;
    if (typeof step !== "number" || (tool !== null && typeof tool !== "string")) throw new RadlError("Invalid 'step' or 'ctxt_tool' in a contextualize item.");
    const parsed = new ContextualizeItem(item.system, item.configure, step, tool);
    ctxt.items!.set(parsed.key, parsed);
  }
  return ctxt;
}

function isObject(value: unknown): value is SimpleObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The simple-object form of a document (spec §7.2, writing). */
export function radlToSimple(radl: Radl): SimpleObject[] {
  const out: SimpleObject[] = [];
  if (radl.description) out.push({ class: "description", id: radl.description.id, ...featuresToSimple(radl.description) });
  for (const host of radl.ansibleHosts) out.push({ class: "ansible", id: host.id, ...featuresToSimple(host) });
  for (const network of radl.networks) {
    out.push(network.reference ? { class: "network", id: network.id, reference: true } : { class: "network", id: network.id, ...featuresToSimple(network) });
  }
  for (const system of radl.systems) {
    out.push(system.reference ? { class: "system", id: system.name, reference: true } : { class: "system", id: system.name, ...featuresToSimple(system) });
  }
  for (const configure of radl.configures) {
    out.push(configure.reference ? { class: "configure", id: configure.name, reference: true } : { class: "configure", id: configure.name, recipes: configure.recipes });
  }
  for (const deploy of radl.deploys) {
    out.push({ class: "deploy", system: deploy.system, vm_number: deploy.vmNumber, ...(deploy.cloudId ? { cloud: deploy.cloudId } : {}) });
  }
  const ctxt = radl.contextualize;
  if (ctxt.items) {
    const simple: SimpleObject = { class: "contextualize" };
    if (ctxt.maxTime) simple.max_time = ctxt.maxTime;
    if (ctxt.options.size) simple.options = Object.fromEntries([...ctxt.options].map(([name, option]) => [name, option.value as string | number]));
    simple.items = [...ctxt.items.values()].map((item) => ({
      system: item.system,
      configure: item.configure,
      ...(item.step ? { step: item.step } : {}),
      ...(item.ctxtTool ? { ctxt_tool: item.ctxtTool } : {}),
    }));
    out.push(simple);
  }
  return out;
}

/** Features as JSON keys: intervals become `prop`, `prop_min` and/or `prop_max` in base units. */
export function featuresToSimple(features: Features): SimpleObject {
  // A Map, not an object: a feature may be called `__proto__` or `constructor`.
  const out = new Map<string, SimpleJson>();
  const softs: SimpleObject[] = [];
  const bounds = new Map<string, { min?: number; max?: number }>();
  for (const feature of features.features) {
    if (feature instanceof SoftFeatures) softs.push({ weight: feature.weight, items: featuresToSimple(feature.features) });
    else if (feature.value instanceof Features) {
      const contains = out.get(feature.prop);
      if (Array.isArray(contains)) contains.push(featuresToSimple(feature.value));
      else out.set(feature.prop, [featuresToSimple(feature.value)]);
    } else if (!feature.isNumber) out.set(feature.prop, feature.value);
    else {
      const bound = bounds.get(feature.prop) ?? {};
      bounds.set(feature.prop, bound);
      if (feature.operator === "=") {
        bound.min ??= feature.base();
        bound.max = feature.base();
      } else if (feature.operator.startsWith(">")) bound.min = feature.base();
      else bound.max = feature.base();
    }
  }
  for (const [prop, { min, max }] of bounds) {
    if (min !== undefined && min === max) out.set(prop, min);
    else {
      if (min !== undefined) out.set(`${prop}_min`, min);
      if (max !== undefined) out.set(`${prop}_max`, max);
    }
  }
  if (softs.length) out.set("softs", softs);
  return Object.fromEntries(out);
}

/** RADL-JSON text: pretty (2-space indent, sorted keys) or compact. */
export function dumpRadlJson(radl: Radl, pretty = true): string {
  const simple = radlToSimple(radl);
  return pretty ? JSON.stringify(sortKeys(simple), null, 2) : JSON.stringify(simple);
}

function sortKeys(value: SimpleJson): SimpleJson {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (isObject(value)) return Object.fromEntries(Object.keys(value).sort().map((key) => [key, sortKeys(value[key])]));
  return value;
}
