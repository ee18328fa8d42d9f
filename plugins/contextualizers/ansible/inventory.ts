import type { ContextNode, PlaybookTask } from "../../../core/index.ts";

// The Ansible inventory of one playbook run, written as YAML (flow style) rather than INI: INI
// values are split on spaces and guessed at with Python's literal_eval, which mangles JSON such
// as IM_INFRASTRUCTURE_RADL. Every string is tagged `!unsafe` so that Ansible never templates
// data: a RADL holding `{{ ... }}` in a recipe or a password would otherwise be evaluated.

type InventoryValue = string | number | boolean | null | InventoryValue[] | { [key: string]: InventoryValue };

/** How the playbook runner reaches a target VM. */
export interface RunnerTarget {
  /** The VM's address, or the local end of a tunnel to a VM behind the master. */
  host: string;
  port: number;
  /** The VM's Python, when known: Ansible would otherwise spend a round trip looking for it. */
  python?: string;
}

/**
 * The inventory: a group per system holding its VMs with their `IM_NODE_*` variables, and the
 * task's variables for every host. Each target is reached at its address in `targets` (by IM
 * id), and gets a become password when it logs in as a user other than root with a password.
 */
export function inventoryYaml(task: PlaybookTask, targets: ReadonlyMap<number, RunnerTarget>): string {
  const groups: Record<string, { hosts: Record<string, InventoryValue> }> = {};
  const add = (node: ContextNode) => {
    (groups[node.system] ??= { hosts: {} }).hosts[node.name] = hostVariables(node, targets.get(node.imId));
  };
  for (const node of task.nodes) add(node);
  // Targets are in the inventory even when the runtime left them out of `nodes`.
  for (const node of task.targets) if (!task.nodes.some((other) => other.imId === node.imId)) add(node);
  const inventory = {
    all: {
      vars: { ...structuredVariables(task.variables), ansible_python_interpreter: "auto_silent" },
      children: groups,
    },
  };
  return `${yamlValue(inventory, "")}\n`;
}

function hostVariables(node: ContextNode, target: RunnerTarget | undefined): Record<string, InventoryValue> {
  const { username, password } = node.connection;
  const address = target ?? node.connection;
  return {
    ansible_host: address.host,
    ansible_port: address.port,
    ansible_user: username,
    ...(target?.python && { ansible_python_interpreter: target.python }),
    ...(target && username !== "root" && password ? { ansible_become_password: password } : {}),
    ...structuredVariables(node.variables),
  };
}

/**
 * Values that hold a JSON list or object become that structure, as the reference's INI
 * inventory turns them into one: IM_INFRASTRUCTURE_RADL is meant for filters such as json_query.
 */
function structuredVariables(variables: Record<string, string | number | boolean>): Record<string, InventoryValue> {
  return Object.fromEntries(Object.entries(variables).map(([name, value]) => [name, structuredValue(value)]));
}

function structuredValue(value: string | number | boolean): InventoryValue {
  if (typeof value !== "string" || !/^\s*[[{]/.test(value)) return value;
  try {
    return JSON.parse(value) as InventoryValue;
  } catch {
    return value;
  }
}

/** YAML in flow style that PyYAML (YAML 1.1) reads back exactly. */
export function yamlValue(value: InventoryValue, indent: string): string {
  if (typeof value === "string") return `!unsafe ${yamlString(value)}`;
  if (typeof value === "number") return yamlNumber(value);
  if (typeof value === "boolean" || value === null) return String(value);
  const inner = `${indent}  `;
  const items = Array.isArray(value)
    ? value.map((item) => `${inner}${yamlValue(item, inner)}`)
    : Object.entries(value).map(([key, item]) => `${inner}${yamlString(key)}: ${yamlValue(item, inner)}`);
  const [open, close] = Array.isArray(value) ? ["[", "]"] : ["{", "}"];
  return items.length ? `${open}\n${items.join(",\n")}\n${indent}${close}` : `${open}${close}`;
}

/**
 * A double-quoted scalar holding only printable ASCII: everything else is escaped, since
 * PyYAML rejects some characters outright and folds U+2028/U+2029 as line breaks.
 */
export function yamlString(text: string): string {
  let quoted = '"';
  for (const char of text) {
    const code = char.codePointAt(0)!;
    if (char === '"' || char === "\\") quoted += `\\${char}`;
    else if (code >= 0x20 && code < 0x7f) quoted += char;
    else if (code >= 0xd800 && code <= 0xdfff) quoted += "\\ufffd"; // a lone surrogate has no encoding
    else if (code <= 0xffff) quoted += `\\u${code.toString(16).padStart(4, "0")}`;
    else quoted += `\\U${code.toString(16).padStart(8, "0")}`;
  }
  return `${quoted}"`;
}

function yamlNumber(value: number): string {
  if (!Number.isFinite(value)) return `!unsafe ${yamlString(String(value))}`;
  // YAML 1.1 reads an exponent without a fraction ("1e+21") as a string.
  return String(value).replace(/^(-?\d+)e/, "$1.0e");
}
