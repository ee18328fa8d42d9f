import { Feature, Features, SoftFeatures } from "./features.ts";
import type { Outport } from "./outports.ts";
import type { Network, Radl } from "./radl.ts";

// The JSON shape printed by `infra-manager radl parse` (documented in docs/radl.md). It spells
// every constraint out, so tools and tests can compare documents without knowing our classes.

export type Constraint =
  | { op: string; type: "int" | "float"; value: number; unit: string; base: number }
  | { op: string; type: "string"; value: string }
  | { op: string; type: "list"; value: string[] }
  | { op: "contains"; type: "contains"; value: FeatureMap };

export type FeatureMap = Record<string, Constraint[]>;

export interface RadlDescription {
  ok: true;
  description: { id: string; features: FeatureMap } | null;
  ansible_hosts: { id: string; features: FeatureMap }[];
  networks: { id: string; reference: boolean; public: boolean; features: FeatureMap; outports: OutportDescription[] | null }[];
  systems: {
    id: string;
    reference: boolean;
    features: FeatureMap;
    softs: { weight: number; features: FeatureMap }[];
    concrete?: { score: number; features: FeatureMap };
  }[];
  configures: { id: string; reference: boolean; recipes: string | null }[];
  deploys: { system: string; vm_number: number; cloud: string | null }[];
  contextualize: {
    max_time: number;
    options: Record<string, Constraint>;
    items: { system: string; configure: string; step: number; ctxt_tool: string | null }[];
  } | null;
  text: string;
}

interface OutportDescription {
  remote_cidr: string;
  remote_port: number;
  local_port: number;
  protocol: string;
  range: boolean;
}

export function describeRadl(radl: Radl): RadlDescription {
  const ctxt = radl.contextualize;
  return {
    ok: true,
    description: radl.description && { id: radl.description.id, features: describeFeatures(radl.description) },
    ansible_hosts: radl.ansibleHosts.map((host) => ({ id: host.id, features: describeFeatures(host) })),
    networks: radl.networks.map((network) => ({
      id: network.id,
      reference: network.reference,
      public: network.isPublic(),
      features: describeFeatures(network),
      outports: describeOutports(network),
    })),
    systems: radl.systems.map((system) => {
      const described: RadlDescription["systems"][number] = {
        id: system.name,
        reference: system.reference,
        features: describeFeatures(system),
        softs: system.softs.map((soft) => ({ weight: soft.weight, features: describeFeatures(soft.features) })),
      };
      if (!system.reference) {
        const { system: concrete, score } = system.concrete();
        described.concrete = { score, features: describeFeatures(concrete) };
      }
      return described;
    }),
    configures: radl.configures.map((c) => ({ id: c.name, reference: c.reference, recipes: c.recipes })),
    deploys: radl.deploys.map((d) => ({ system: d.system, vm_number: d.vmNumber, cloud: d.cloudId })),
    contextualize: ctxt.items && {
      max_time: ctxt.maxTime,
      options: Object.fromEntries([...ctxt.options].map(([name, option]) => [name, describeConstraint(option)])),
      items: [...ctxt.items.values()].map((i) => ({ system: i.system, configure: i.configure, step: i.step, ctxt_tool: i.ctxtTool })),
    },
    text: radl.toString(),
  };
}

/** Property name -> constraints in listing order; soft groups are described separately. */
export function describeFeatures(features: Features): FeatureMap {
  // A Map, not an object: a feature may be called `__proto__` or `constructor`.
  const out = new Map<string, Constraint[]>();
  for (const feature of features.features) {
    if (feature instanceof SoftFeatures) continue;
    const constraints = out.get(feature.prop);
    if (constraints) constraints.push(describeConstraint(feature));
    else out.set(feature.prop, [describeConstraint(feature)]);
  }
  return Object.fromEntries(out);
}

function describeConstraint(feature: Feature): Constraint {
  const { operator: op, value } = feature;
  if (value instanceof Features) return { op: "contains", type: "contains", value: describeFeatures(value) };
  if (feature.type === "int" || feature.type === "float") {
    return { op, type: feature.type, value: value as number, unit: feature.unit, base: feature.base() };
  }
  if (feature.type === "list") return { op, type: "list", value: [...(value as string[])] };
  return { op, type: "string", value: value as string };
}

function describeOutports(network: Network): OutportDescription[] | null {
  let outports: Outport[] | null;
  try {
    outports = network.getOutports();
  } catch {
    return null;
  }
  return outports?.map((p) => ({ remote_cidr: p.remoteCidr, remote_port: p.remotePort, local_port: p.localPort, protocol: p.protocol, range: p.range })) ?? null;
}
