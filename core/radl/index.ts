import { checkRadl } from "./check.ts";
import { parseRadlJson } from "./json.ts";
import { parseRadlText } from "./parser.ts";
import type { Radl } from "./radl.ts";

export { RadlError } from "./errors.ts";
export { Feature, Features, SoftFeatures, SOFT, quoteString, valueToText } from "./features.ts";
export type { Comparator, FeatureLike, MergePolicy, Operator, SimpleValue, ValueType } from "./features.ts";
export { AnsibleHost, Application, Configure, Contextualize, ContextualizeItem, Deploy, Description, Network, Radl, System, compareLooseVersions } from "./radl.ts";
export type { Aspect, Credentials, IfPresent } from "./radl.ts";
export { parseOutports, DEFAULT_CIDR } from "./outports.ts";
export type { Outport, PortProtocol } from "./outports.ts";
export { checkRadl, invalidRecipe, readRecipes, yamlProblem } from "./check.ts";
export { parseRadlText, MAX_NESTING } from "./parser.ts";
export { parseRadlJson, radlToSimple, featuresToSimple, dumpRadlJson } from "./json.ts";
export type { SimpleJson, SimpleObject } from "./json.ts";
export { radlToText, contextualizeToText } from "./text.ts";
export { mergeRadl, resolveReferences } from "./merge.ts";
export { radlFromStructure, radlToStructure, type RadlStructure } from "./structure.ts";
export { convertUnits, unitFactor, MEMORY_UNITS } from "./units.ts";
export { describeRadl } from "./describe.ts";
export type { RadlDescription } from "./describe.ts";

export type RadlFormat = "radl" | "json";

/** RADL-JSON when the first non-blank character is `[`, RADL text otherwise. */
export function detectFormat(text: string): RadlFormat {
  return /^\s*\[/.test(text) ? "json" : "radl";
}

/** Parses RADL text or RADL-JSON (auto-detected unless `format` is given). */
export function parseRadl(text: string, format: RadlFormat = detectFormat(text)): Radl {
  return format === "json" ? parseRadlJson(text) : parseRadlText(text);
}

/** Parses and checks, as IM does for CreateInfrastructure, AddResource and EstimateResources. */
export function parseAndCheckRadl(text: string, format?: RadlFormat): Radl {
  const radl = parseRadl(text, format);
  checkRadl(radl);
  return radl;
}
