import type { Contextualize, Radl } from "./radl.ts";

// The reference's text rendering (spec §7.1). GetInfrastructureRADL and GetVMInfo return it,
// so blanks and newlines matter: e.g. a system ends with ")\n" and the contextualize block is
// always part of the join, even when empty. Objects are converted with explicit `toString()`
// calls, which are much faster than a template's generic conversion.

export function radlToText(radl: Radl): string {
  const parts: string[] = [];
  if (radl.description) parts.push(`description ${radl.description.id} (\n${radl.description.toString()}\n)\n`);
  for (const host of radl.ansibleHosts) parts.push(`ansible ${host.id} (${host.toString()})`);
  for (const network of radl.networks) parts.push(network.reference ? `network ${network.id} ` : `network ${network.id} ( ${network.toString()} )`);
  for (const system of radl.systems) parts.push(system.reference ? `system ${system.name} ` : `system ${system.name} (\n${system.toString()}\n)\n`);
  for (const configure of radl.configures) {
    if (configure.recipes === null) parts.push(`configure ${configure.name}`);
    else if (configure.recipes === "") parts.push(`configure ${configure.name} ()`);
    else parts.push(`configure ${configure.name} (\n@begin${framedRecipe(configure.recipes)}@end\n)`);
  }
  parts.push(contextualizeToText(radl.contextualize));
  for (const deploy of radl.deploys) parts.push(`deploy ${deploy.system} ${deploy.vmNumber}${deploy.cloudId ? ` ${deploy.cloudId}` : ""}`);
  return parts.join("\n");
}

export function contextualizeToText(ctxt: Contextualize): string {
  if (ctxt.items === null) return "";
  const maxTime = ctxt.maxTime ? String(ctxt.maxTime) : "";
  if (ctxt.items.size === 0 && ctxt.options.size === 0) return maxTime ? `contextualize ${maxTime} ()` : "contextualize ()";
  const lines = [...ctxt.options.values()].map((option) => `option ${option.toString()}`);
  for (const item of ctxt.items.values()) {
    const step = item.step ? `step ${item.step}` : "";
    const tool = item.ctxtTool ? `with ${item.ctxtTool}` : "";
    lines.push(`system ${item.system} configure ${item.configure} ${step} ${tool}`);
  }
  return `contextualize ${maxTime} (\n${lines.join("\n")}\n)`;
}

/**
 * A recipe between `@begin` and `@end`. The reference always adds a newline on both sides (the
 * spec's stored example shows it), so every text round trip grew a blank line at each end; a
 * recipe parsed from text already starts and ends with one, and is written back as it was read.
 */
function framedRecipe(recipes: string): string {
  return recipes.startsWith("\n") && recipes.endsWith("\n") ? recipes : `\n${recipes}\n`;
}
