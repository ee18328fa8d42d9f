import { Feature, type FeaturesStructure, type FeatureStructure } from "./features.ts";
import { AnsibleHost, Configure, Contextualize, ContextualizeItem, Deploy, Description, Network, Radl, System } from "./radl.ts";

// A whole document as plain JSON that rebuilds exactly the same model (lines included). Used
// where a document crosses a thread boundary and must not change on the way; RADL text is for
// people and for IM's wire format.

interface FeaturesAspect {
  id: string;
  reference: boolean;
  line: number | null;
  features: FeaturesStructure;
}

export interface RadlStructure {
  description: FeaturesAspect | null;
  ansibleHosts: FeaturesAspect[];
  networks: FeaturesAspect[];
  systems: FeaturesAspect[];
  configures: { name: string; recipes: string | null; line: number | null }[];
  deploys: { system: string; vmNumber: number; cloudId: string | null; line: number | null }[];
  contextualize: {
    maxTime: number;
    line: number | null;
    options: [string, FeatureStructure][];
    items: { system: string; configure: string; step: number; ctxtTool: string | null; line: number | null }[] | null;
  };
}

export function radlToStructure(radl: Radl): RadlStructure {
  const ctxt = radl.contextualize;
  return {
    description: radl.description && { id: radl.description.id, reference: false, line: radl.description.line, features: radl.description.toStructure() },
    ansibleHosts: radl.ansibleHosts.map((a) => ({ id: a.id, reference: false, line: a.line, features: a.toStructure() })),
    networks: radl.networks.map((n) => ({ id: n.id, reference: n.reference, line: n.line, features: n.toStructure() })),
    systems: radl.systems.map((s) => ({ id: s.name, reference: s.reference, line: s.line, features: s.toStructure() })),
    configures: radl.configures.map((c) => ({ name: c.name, recipes: c.recipes, line: c.line })),
    deploys: radl.deploys.map((d) => ({ system: d.system, vmNumber: d.vmNumber, cloudId: d.cloudId, line: d.line })),
    contextualize: {
      maxTime: ctxt.maxTime,
      line: ctxt.line,
      options: [...ctxt.options].map(([name, option]) => [name, option.toStructure()]),
      items: ctxt.items && [...ctxt.items.values()].map((i) => ({ system: i.system, configure: i.configure, step: i.step, ctxtTool: i.ctxtTool, line: i.line })),
    },
  };
}

export function radlFromStructure(structure: RadlStructure): Radl {
  const radl = new Radl();
  const d = structure.description;
  if (d) radl.description = new Description(d.id, [], d.line).loadStructure(d.features);
  radl.ansibleHosts = structure.ansibleHosts.map((a) => new AnsibleHost(a.id, [], a.line).loadStructure(a.features));
  radl.networks = structure.networks.map((n) => new Network(n.id, [], n.reference, n.line).loadStructure(n.features));
  radl.systems = structure.systems.map((s) => new System(s.id, [], s.reference, s.line).loadStructure(s.features));
  radl.configures = structure.configures.map((c) => new Configure(c.name, c.recipes, c.line));
  radl.deploys = structure.deploys.map((x) => new Deploy(x.system, x.vmNumber, x.cloudId, x.line));
  const c = structure.contextualize;
  const items = c.items && new Map(c.items.map((i) => {
    const item = new ContextualizeItem(i.system, i.configure, i.step, i.ctxtTool, i.line);
    return [item.key, item] as const;
  }));
  radl.contextualize = new Contextualize(c.maxTime, new Map(c.options.map(([name, option]) => [name, Feature.fromStructure(option)])), items, c.line);
  return radl;
}
