import { RadlError } from "./errors.ts";
import { AnsibleHost, Configure, Network, System, type Radl } from "./radl.ts";

// How AddResource combines a new document with an infrastructure's stored one (IM behaviour
// §5.2): references are resolved against the stored definitions, then the two are merged.

/** The Python class names the reference shows in `Unknown reference` errors. */
const CLASS_NAMES = new Map<Function, string>([
  [Network, "network"], [System, "system"], [Configure, "configure"], [AnsibleHost, "ansible"],
]);

/**
 * A copy of `radl` where every reference (`system x`, `network x`, `configure x` without a
 * body) is replaced by the definition of the same id in `stored`.
 */
export function resolveReferences(radl: Radl, stored: Radl): Radl {
  const resolved = radl.clone();
  const resolve = <T extends Network | System | Configure>(aspect: T): T => {
    if (!aspect.reference) return aspect;
    const definition = stored.get(aspect);
    if (!definition || definition.reference) {
      const id = aspect instanceof System ? aspect.name : aspect instanceof Configure ? aspect.name : aspect.id;
      throw new RadlError(`Unknown reference in RADL to <class 'radl.radl.${CLASS_NAMES.get(aspect.constructor)}'> '${id}'`);
    }
    return definition.clone() as T;
  };
  resolved.networks = resolved.networks.map(resolve);
  resolved.systems = resolved.systems.map(resolve);
  resolved.configures = resolved.configures.map(resolve);
  return resolved;
}

/**
 * The stored document with `incoming` merged in: the description is replaced, networks and
 * ansible hosts are added only when new, systems and configures are added or replaced,
 * contextualize blocks merge, and deploy lines (when `incoming` has any) replace the stored ones.
 * Neither argument is modified.
 */
export function mergeRadl(stored: Radl, incoming: Radl): Radl {
  const merged = stored.clone();
  const copy = incoming.clone();
  if (copy.description) merged.add(copy.description, "replace");
  for (const network of copy.networks) merged.add(network, "ignore");
  for (const host of copy.ansibleHosts) merged.add(host, "ignore");
  for (const system of copy.systems) merged.add(system, "replace");
  for (const configure of copy.configures) merged.add(configure, "replace");
  merged.add(copy.contextualize);
  if (copy.deploys.length > 0) merged.deploys = copy.deploys;
  return merged;
}
