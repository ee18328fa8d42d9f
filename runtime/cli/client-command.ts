// The IM client commands of `infra-manager`: one table from subcommand to API call (with the
// reference im_client's operation names and argument order), and one function that turns every
// failure into a message and an exit code (`reportError`). See docs/cli.md.
import { spawn, spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs, type ParseArgsConfig } from "node:util";
import { AuthFileError, type AuthCredential } from "../../core/auth-file.ts";
import { checkRadl, parseRadl, RadlError } from "../../core/radl/index.ts";
import type { ProxyHost } from "../../core/context-plan.ts";
import { expandPath, readAuthText } from "../client/auth-file.ts";
import { ImCallError, ImClient, RpcFault, TransportError } from "../client/im-client.ts";
import { shellJoin, sshCommand, sshTarget, usesPassword, type SshTarget } from "../client/ssh.ts";
import { processIo, UsageError, type CommandIo } from "./io.ts";
import { describeProgress, judge, plainLine, redraw, renderLive, type ProgressSnapshot } from "./progress.ts";

/** CommandIo plus what the client commands may need; each extra has a default from `process`. */
export interface ClientIo extends CommandIo {
  /** Environment (IM_URL, IM_AUTH, IM_CA_FILE, IM_INSECURE, NO_COLOR); default process.env. */
  env?: NodeJS.ProcessEnv;
  /** Whether standard error, where progress goes, is a terminal (default: false unless processIo). */
  isTTY?: boolean;
  /** Terminal size, for the live display. */
  columns?: number;
  rows?: number;
  /** Runs an interactive program on this terminal (ssh); resolves with its exit code. */
  runInteractive?: (argv: string[], env: NodeJS.ProcessEnv) => Promise<number>;
  /** Whether a program is on the PATH. */
  hasProgram?: (name: string) => boolean;
}

export const EXIT = { ok: 0, failed: 1, usage: 2, unreachable: 3 } as const;

export const DEFAULT_URL = "http://localhost:8899";

/** A mistake found on this side (a file that cannot be read, an invalid RADL, a missing property…). */
export class ClientError extends Error {
  override name = "ClientError";
}

type OptionSpec = NonNullable<ParseArgsConfig["options"]>;
type Values = Record<string, string | boolean | string[] | undefined>;

interface Context {
  name: string;
  args: string[];
  opts: Values;
  io: ClientIo;
  json: boolean;
  env: NodeJS.ProcessEnv;
  /** Everything after `--` (ssh's remote command). */
  rest: string[];
  /** Calls an IM method; the auth array is added by the caller where the method takes it. */
  call<T = unknown>(method: string, ...params: unknown[]): Promise<T>;
  /** The credentials of --auth / IM_AUTH (read on first use). */
  auth(): Promise<AuthCredential[]>;
  /** Prints `value` as JSON with --json, else `human` (a newline is added when missing). */
  emit(value: unknown, human: string): void;
  /** Reads a file given on the command line (`-` is standard input). */
  readText(path: string): Promise<string>;
  /** Reads a RADL file; checks it here first (with FILE:LINE messages) unless `check` is "parse" or "none". */
  readRadl(path: string, check?: "check" | "parse" | "none"): Promise<string>;
}

interface ClientCommandSpec {
  /** Positional arguments and options, for the usage text. */
  usage: string;
  summary: string;
  /** Positional argument count: at least `min`, at most `max`. */
  min: number;
  max: number;
  options?: OptionSpec;
  run(c: Context): Promise<number>;
}

const POLL_OPTIONS: OptionSpec = {
  timeout: { type: "string" },
  interval: { type: "string" },
};

/** THE table: subcommand → API call(s). Names and argument order follow im_client. */
const COMMANDS: Record<string, ClientCommandSpec> = {
  list: {
    usage: "[FILTER]",
    summary: "the ids of your infrastructures (FILTER: a regular expression searched in their RADL)",
    min: 0, max: 1,
    async run(c) {
      const filter = c.args[0];
      const ids = await c.call<string[]>("GetInfrastructureList", await c.auth(), ...(filter ? [filter] : []));
      c.emit(ids, ids.length ? ids.join("\n") : "No infrastructures.");
      return EXIT.ok;
    },
  },
  create: {
    usage: "FILE [--async] [--timeout SECONDS]",
    summary: "create an infrastructure from a RADL file and follow it until it settles (--async: print the id and return)",
    min: 1, max: 2,
    options: { async: { type: "boolean" }, ...POLL_OPTIONS },
    async run(c) {
      const radl = await c.readRadl(c.args[0]);
      const asyncOnly = c.opts.async === true || flag01(c.args[1], "ASYNC_FLAG");
      const id = await c.call<string>("CreateInfrastructure", radl, await c.auth(), true);
      if (asyncOnly) {
        c.emit({ id }, id);
        if (!c.json) c.io.stderr(`Follow it with: infra-manager wait ${id}\n`);
        return EXIT.ok;
      }
      if (!c.json) c.io.stdout(`${id}\n`);
      return follow(c, id, "configured", true);
    },
  },
  destroy: {
    usage: "INF [--force] [--async]",
    summary: "destroy an infrastructure and its VMs (--force: even if some VMs cannot be deleted)",
    min: 1, max: 1,
    options: { force: { type: "boolean", short: "f" }, async: { type: "boolean" } },
    async run(c) {
      const [inf] = c.args;
      const value = await c.call("DestroyInfrastructure", inf, await c.auth(), c.opts.force === true, c.opts.async === true);
      c.emit(value, c.opts.async ? `Destruction of infrastructure ${inf} started.` : `Infrastructure ${inf} destroyed.`);
      return EXIT.ok;
    },
  },
  getinfo: {
    usage: "INF [PROPERTY] [--property NAME]",
    summary: "the description of every VM (with a property: its value on every VM)",
    min: 1, max: 2,
    options: { property: { type: "string", short: "p" } },
    async run(c) {
      const [inf] = c.args;
      const property = (c.opts.property as string | undefined) ?? c.args[1];
      const auth = await c.auth();
      const vms = await c.call<string[]>("GetInfrastructureInfo", inf, auth);
      const result: Record<string, unknown> = {};
      for (const vm of vms) {
        result[vm] = property === undefined ? await c.call<string>("GetVMInfo", inf, vm, auth) : await vmProperty(c, inf, vm, property, auth, false);
      }
      if (property === undefined) {
        c.emit(result, vms.length ? vms.map((vm) => `# VM ${vm}\n${withNewline(String(result[vm]))}`).join("\n") : `Infrastructure ${inf} has no VMs.`);
      } else {
        c.emit(result, vms.length ? table(["VM", property], vms.map((vm) => [vm, result[vm] === null ? "(not set)" : showValue(result[vm])])) : `Infrastructure ${inf} has no VMs.`);
      }
      return EXIT.ok;
    },
  },
  getcontmsg: {
    usage: "INF [--header-only]",
    summary: "the contextualization log of the infrastructure and its VMs",
    min: 1, max: 1,
    options: { "header-only": { type: "boolean" } },
    async run(c) {
      const [inf] = c.args;
      const text = await c.call<string>("GetInfrastructureContMsg", inf, await c.auth(), c.opts["header-only"] === true);
      c.emit(text, text === "" ? "(no contextualization messages)" : text);
      return EXIT.ok;
    },
  },
  getstate: {
    usage: "INF",
    summary: "the state of the infrastructure and of each VM",
    min: 1, max: 1,
    async run(c) {
      const [inf] = c.args;
      const state = await c.call<StateAnswer>("GetInfrastructureState", inf, await c.auth());
      const ids = Object.keys(state.vm_states).sort((a, b) => Number(a) - Number(b));
      const lines = `Infrastructure ${inf} is ${state.state}.${ids.length ? `\n${table(["VM", "STATE"], ids.map((id) => [id, state.vm_states[id]]))}` : "\n(no VMs)"}`;
      c.emit(state, lines);
      return EXIT.ok;
    },
  },
  getvminfo: {
    usage: "INF VM [PROPERTY] [--property NAME]",
    summary: "the description of a VM as RADL (with a property: its value)",
    min: 2, max: 3,
    options: { property: { type: "string", short: "p" } },
    async run(c) {
      const [inf, vm] = c.args;
      const property = (c.opts.property as string | undefined) ?? c.args[2];
      const auth = await c.auth();
      if (property === undefined) {
        const radl = await c.call<string>("GetVMInfo", inf, vm, auth);
        c.emit(radl, radl);
      } else {
        const value = await vmProperty(c, inf, vm, property, auth, true);
        c.emit(value, showValue(value));
      }
      return EXIT.ok;
    },
  },
  getvmcontmsg: {
    usage: "INF VM",
    summary: "the contextualization log of a VM",
    min: 2, max: 2,
    async run(c) {
      const [inf, vm] = c.args;
      const text = await c.call<string>("GetVMContMsg", inf, vm, await c.auth());
      c.emit(text, text === "" ? "(no contextualization messages)" : text);
      return EXIT.ok;
    },
  },
  addresource: {
    usage: "INF FILE [--no-context]",
    summary: "add the VMs of a RADL file's deploy lines (--no-context: do not contextualize afterwards)",
    min: 2, max: 3,
    options: { "no-context": { type: "boolean" } },
    async run(c) {
      const [inf, file] = c.args;
      const radl = await c.readRadl(file);
      const context = contextFlag(c, c.args[2]);
      const ids = await c.call<number[]>("AddResource", inf, radl, await c.auth(), ...(context === undefined ? [] : [context]));
      c.emit(ids, ids.length ? `Added VM${ids.length === 1 ? "" : "s"} ${ids.join(", ")} to infrastructure ${inf}.` : "No VMs added (the RADL has no deploy lines).");
      return EXIT.ok;
    },
  },
  removeresource: {
    usage: "INF VMS [--no-context]",
    summary: "remove VMs (a comma-separated list of ids)",
    min: 2, max: 3,
    options: { "no-context": { type: "boolean" } },
    async run(c) {
      const [inf, vms] = c.args;
      const list = vmList(vms);
      const context = contextFlag(c, c.args[2]);
      const count = await c.call<number>("RemoveResource", inf, list.join(","), await c.auth(), ...(context === undefined ? [] : [context]));
      c.emit(count, `Removed ${count} VM${count === 1 ? "" : "s"} from infrastructure ${inf}.`);
      return EXIT.ok;
    },
  },
  alter: {
    usage: "INF VM FILE",
    summary: "change a VM's features (cpu, memory…) from a RADL file's system of the same name; prints its new description",
    min: 3, max: 3,
    async run(c) {
      const [inf, vm, file] = c.args;
      const radl = await c.readRadl(file, "parse");
      const info = await c.call<string>("AlterVM", inf, vm, radl, await c.auth());
      c.emit(info, info);
      return EXIT.ok;
    },
  },
  reconfigure: {
    usage: "INF [FILE] [--vms LIST]",
    summary: "contextualize again (with FILE: after updating the configure blocks; --vms: only these VMs)",
    min: 1, max: 3,
    options: { vms: { type: "string" } },
    async run(c) {
      const [inf, file] = c.args;
      const radl = file ? await c.readRadl(file, "parse") : "";
      const vmsText = (c.opts.vms as string | undefined) ?? c.args[2];
      const vms = vmsText === undefined ? undefined : vmList(vmsText).map(Number);
      const value = await c.call("Reconfigure", inf, radl, await c.auth(), ...(vms ? [vms] : []));
      c.emit(value, `Reconfiguration of infrastructure ${inf} started.`);
      return EXIT.ok;
    },
  },
  start: infraOp("StartInfrastructure", "started"),
  stop: infraOp("StopInfrastructure", "stopped"),
  startvm: vmOp("StartVM", "started"),
  stopvm: vmOp("StopVM", "stopped"),
  rebootvm: vmOp("RebootVM", "rebooted"),
  getradl: {
    usage: "INF",
    summary: "the RADL of the infrastructure",
    min: 1, max: 1,
    async run(c) {
      const radl = await c.call<string>("GetInfrastructureRADL", c.args[0], await c.auth());
      c.emit(radl, radl);
      return EXIT.ok;
    },
  },
  export: {
    usage: "INF [--delete]",
    summary: "the infrastructure as a JSON document for import (--delete: then forget it here, leaving its VMs)",
    min: 1, max: 2,
    options: { delete: { type: "boolean" } },
    async run(c) {
      const [inf] = c.args;
      const remove = c.opts.delete === true || flag01(c.args[1], "DELETE");
      const data = await c.call<string>("ExportInfrastructure", inf, remove, await c.auth());
      c.io.stdout(withNewline(data)); // already JSON, with or without --json
      return EXIT.ok;
    },
  },
  import: {
    usage: "FILE",
    summary: "import an infrastructure exported with export; prints its id",
    min: 1, max: 1,
    async run(c) {
      const data = await c.readText(c.args[0]);
      const id = await c.call<string>("ImportInfrastructure", data, await c.auth());
      c.emit({ id }, id);
      return EXIT.ok;
    },
  },
  createsnapshot: {
    usage: "INF VM DISK NAME [AUTODELETE] [--auto-delete]",
    summary: "save a VM's disk as a new image; prints its URL (AUTODELETE 1: delete it with the infrastructure)",
    min: 4, max: 5,
    options: { "auto-delete": { type: "boolean" } },
    async run(c) {
      const [inf, vm, disk, name] = c.args;
      if (!/^\d+$/.test(disk)) throw new UsageError(`DISK must be a disk number, not '${disk}'`);
      const autoDelete = c.opts["auto-delete"] === true || flag01(c.args[4], "AUTODELETE");
      const url = await c.call<string>("CreateDiskSnapshot", inf, vm, Number(disk), name, autoDelete, await c.auth());
      c.emit(url, url);
      return EXIT.ok;
    },
  },
  getcloudimages: {
    usage: "CLOUD [--filter KEY=VALUE]...",
    summary: "the images of a cloud of your auth file (CLOUD: its id)",
    min: 1, max: 1,
    options: { filter: { type: "string", multiple: true } },
    async run(c) {
      const filters: Record<string, string> = {};
      for (const entry of (c.opts.filter as string[] | undefined) ?? []) {
        const equals = entry.indexOf("=");
        if (equals <= 0) throw new UsageError(`--filter takes KEY=VALUE, not '${entry}'`);
        filters[entry.slice(0, equals)] = entry.slice(equals + 1);
      }
      const images = await c.call<Record<string, unknown>[]>("GetCloudImageList", c.args[0], await c.auth(), ...(Object.keys(filters).length ? [filters] : []));
      c.emit(images, images.length ? table(["NAME", "URI"], images.map((image) => [String(image.name ?? ""), String(image.uri ?? "")])) : "No images.");
      return EXIT.ok;
    },
  },
  getcloudquotas: {
    usage: "CLOUD",
    summary: "the quotas of a cloud of your auth file: used and limit of each resource",
    min: 1, max: 1,
    async run(c) {
      const quotas = await c.call<Record<string, { used?: unknown; limit?: unknown } | unknown>>("GetCloudQuotas", c.args[0], await c.auth());
      const rows = Object.entries(quotas).map(([name, quota]) => {
        const q = (typeof quota === "object" && quota !== null ? quota : { used: quota }) as { used?: unknown; limit?: unknown };
        return [name, showValue(q.used ?? ""), showValue(q.limit ?? "")];
      });
      c.emit(quotas, rows.length ? table(["RESOURCE", "USED", "LIMIT"], rows) : "No quotas.");
      return EXIT.ok;
    },
  },
  changeauth: {
    usage: "INF NEW_AUTH_FILE [--overwrite]",
    summary: "add the InfrastructureManager credentials of another auth file as owners (--overwrite: make them the only owners)",
    min: 2, max: 3,
    options: { overwrite: { type: "boolean" } },
    async run(c) {
      const [inf, file] = c.args;
      const text = await c.readText(file);
      let credentials: AuthCredential[];
      try {
        credentials = readAuthText(text);
      } catch (error) {
        if (error instanceof AuthFileError) throw new ClientError(`${file}: ${error.message}`);
        throw error;
      }
      const owners = credentials.filter((item) => item.type === "InfrastructureManager");
      if (owners.length === 0) throw new ClientError(`${file} has no InfrastructureManager credential`);
      const overwrite = c.opts.overwrite === true || flag01(c.args[2], "OVERWRITE");
      const value = await c.call("ChangeInfrastructureAuth", inf, owners, overwrite, await c.auth());
      const names = owners.map((o) => o.username ?? "(token)").join(", ");
      c.emit(value, overwrite ? `The owners of infrastructure ${inf} are now: ${names}.` : `Added to the owners of infrastructure ${inf}: ${names}.`);
      return EXIT.ok;
    },
  },
  getowners: {
    usage: "INF",
    summary: "the user names that own the infrastructure",
    min: 1, max: 1,
    async run(c) {
      const owners = await c.call<string[]>("GetInfrastructureOwners", c.args[0], await c.auth());
      c.emit(owners, owners.join("\n"));
      return EXIT.ok;
    },
  },
  getversion: {
    usage: "",
    summary: "the version of IM the server speaks (needs no auth file)",
    min: 0, max: 0,
    async run(c) {
      const version = await c.call<string>("GetVersion");
      c.emit(version, version);
      return EXIT.ok;
    },
  },
  estimate: {
    usage: "FILE",
    summary: "what a RADL file would use on each cloud (VMs, CPUs, memory, disks), launching nothing",
    min: 1, max: 1,
    async run(c) {
      const radl = await c.readRadl(c.args[0]);
      const estimate = await c.call<Record<string, CloudEstimate>>("EstimateResources", radl, await c.auth());
      const rows = Object.entries(estimate).map(([cloud, e]) => estimateRow(cloud, e));
      c.emit(estimate, rows.length ? table(["CLOUD", "TYPE", "ENDPOINT", "VMS", "CPUS", "MEMORY", "VM DISKS", "PUBLIC IPS", "VOLUMES"], rows) : "Nothing to deploy (the RADL has no deploy lines).");
      return EXIT.ok;
    },
  },
  stats: {
    usage: "[FROM [TO]] [--from YYYY-MM-DD] [--to YYYY-MM-DD]",
    summary: "your infrastructures created in a period (deleted ones too): VMs, CPUs, memory, cloud",
    min: 0, max: 2,
    options: { from: { type: "string" }, to: { type: "string" } },
    async run(c) {
      const from = (c.opts.from as string | undefined) ?? c.args[0] ?? "";
      const to = (c.opts.to as string | undefined) ?? c.args[1] ?? "";
      for (const date of [from, to]) if (date && !/^\d{4}-\d{2}-\d{2}$/.test(date)) throw new UsageError(`dates are YYYY-MM-DD, not '${date}'`);
      const stats = await c.call<StatsRow[]>("GetStats", from, to, await c.auth());
      const rows = stats.map((s) => [s.inf_id, s.creation_date, String(s.vm_count), String(s.cpu_count), `${s.memory_size} MB`, s.cloud_type + (s.hybrid ? " (hybrid)" : ""), s.im_user, s.deleted ? "yes" : "no"]);
      c.emit(stats, rows.length ? table(["INFRASTRUCTURE", "CREATED", "VMS", "CPUS", "MEMORY", "CLOUD", "USER", "DELETED"], rows) : "No infrastructures in that period.");
      return EXIT.ok;
    },
  },
  wait: {
    usage: "INF [MAX_TIME] [--state STATE] [--timeout SECONDS]",
    summary: "wait until the infrastructure reaches a state (default configured); exit 1 if it settles elsewhere or time runs out",
    min: 1, max: 2,
    options: { state: { type: "string" }, ...POLL_OPTIONS },
    async run(c) {
      const [inf, maxTime] = c.args;
      if (maxTime !== undefined && c.opts.timeout === undefined) c.opts.timeout = maxTime;
      const target = (c.opts.state as string | undefined) ?? "configured";
      if (!STATES.includes(target)) throw new UsageError(`--state must be one of ${STATES.join(", ")}`);
      return follow(c, inf, target, false);
    },
  },
  ssh: {
    usage: "INF [VM] [--print] [-- COMMAND...]",
    summary: "open an SSH session on a VM (default VM 0) with the credentials it reports (--print: print the command instead)",
    min: 1, max: 2,
    options: { print: { type: "boolean" } },
    run: sshRun,
  },
};

/** im_client's other names for the same operations. */
const ALIASES: Record<string, string> = {
  cloudimages: "getcloudimages",
  cloudusage: "getcloudquotas",
  change_auth: "changeauth",
  sshvm: "ssh",
};

const STATES = ["pending", "running", "configured", "unconfigured", "stopped", "off", "failed", "unknown", "deleting"];

interface StateAnswer {
  state: string;
  vm_states: Record<string, string>;
}

interface CloudEstimate {
  cloudType?: string;
  cloudEndpoint?: string;
  compute?: { cpuCores?: number; memoryInMegabytes?: number; diskSizeInGigabytes?: number; publicIP?: number }[];
  storage?: { sizeInGigabytes?: number }[];
}

interface StatsRow {
  inf_id: string;
  creation_date: string;
  vm_count: number;
  cpu_count: number;
  memory_size: number;
  cloud_type: string;
  hybrid: boolean;
  im_user: string;
  deleted: boolean;
}

function infraOp(method: string, done: string): ClientCommandSpec {
  return {
    usage: "INF",
    summary: `${done === "started" ? "start" : "stop"} every VM of the infrastructure`,
    min: 1, max: 1,
    async run(c) {
      const value = await c.call(method, c.args[0], await c.auth());
      c.emit(value, `Infrastructure ${c.args[0]} ${done}.`);
      return EXIT.ok;
    },
  };
}

function vmOp(method: string, done: string): ClientCommandSpec {
  const verb = { started: "start", stopped: "stop", rebooted: "reboot" }[done];
  return {
    usage: "INF VM",
    summary: `${verb} a VM`,
    min: 2, max: 2,
    async run(c) {
      const [inf, vm] = c.args;
      const value = await c.call(method, inf, vm, await c.auth());
      c.emit(value, `VM ${vm} of infrastructure ${inf} ${done}.`);
      return EXIT.ok;
    },
  };
}

/** GetVMProperty; a property the VM does not have is null (IM answers it with a fault). */
async function vmProperty(c: Context, inf: string, vm: string, property: string, auth: AuthCredential[], required: boolean): Promise<unknown> {
  try {
    return await c.call("GetVMProperty", inf, vm, property, auth);
  } catch (error) {
    if (error instanceof RpcFault && /cannot marshal None/.test(error.faultString)) {
      if (required) throw new ClientError(`VM ${vm} has no property '${property}'`);
      return null;
    }
    throw error;
  }
}

function estimateRow(cloud: string, e: CloudEstimate): string[] {
  const compute = e.compute ?? [];
  const storage = e.storage ?? [];
  const sum = (values: (number | undefined)[]) => values.reduce<number>((total, value) => total + (value ?? 0), 0);
  const disk = sum(compute.map((vm) => vm.diskSizeInGigabytes));
  const volumes = sum(storage.map((s) => s.sizeInGigabytes));
  return [
    cloud, e.cloudType ?? "", e.cloudEndpoint ?? "", String(compute.length), String(sum(compute.map((vm) => vm.cpuCores))),
    `${sum(compute.map((vm) => vm.memoryInMegabytes))} MB`, disk ? `${disk} GB` : "-", String(sum(compute.map((vm) => vm.publicIP))),
    storage.length ? `${storage.length} (${volumes} GB)` : "-",
  ];
}

/** `1,2, 3` → ["1","2","3"]; a usage error for anything else. */
function vmList(text: string): string[] {
  const ids = text.split(",").map((id) => id.trim());
  if (ids.some((id) => !/^\d+$/.test(id))) throw new UsageError(`expected a comma-separated list of VM ids, not '${text}'`);
  return ids;
}

/** im_client's positional 0/1 flags (also true/false, yes/no). */
function flag01(value: string | undefined, name: string): boolean {
  if (value === undefined) return false;
  if (/^(1|true|yes)$/i.test(value)) return true;
  if (/^(0|false|no)$/i.test(value)) return false;
  throw new UsageError(`${name} must be 0 or 1, not '${value}'`);
}

/** The `context` parameter: false with --no-context or a 0 flag, else omitted (IM's default is true). */
function contextFlag(c: Context, positional: string | undefined): boolean | undefined {
  if (c.opts["no-context"] === true) return false;
  if (positional === undefined) return undefined;
  return flag01(positional, "CTXT_FLAG");
}

/** A value from GetVMProperty and friends, for a person. */
function showValue(value: unknown): string {
  return typeof value === "string" ? value : JSON.stringify(value);
}

function withNewline(text: string): string {
  return text === "" || text.endsWith("\n") ? text : `${text}\n`;
}

/** A plain text table: columns padded to their widest cell, two spaces apart. */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((header, i) => Math.max(header.length, ...rows.map((row) => (row[i] ?? "").length)));
  const line = (cells: string[]) => cells.map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i]))).join("  ").trimEnd();
  return [line(headers), ...rows.map(line)].join("\n");
}

// ---------------------------------------------------------------------------------------------
// Following an infrastructure until it settles: the live display on a terminal, plain lines
// otherwise (both on standard error, so that standard output keeps only results).

async function follow(c: Context, inf: string, target: string, afterCreate: boolean): Promise<number> {
  const timeoutMs = seconds(c.opts.timeout, "--timeout");
  const intervalMs = seconds(c.opts.interval, "--interval") ?? 2000;
  const auth = await c.auth();
  const started = Date.now();
  const live = c.io.isTTY === true;
  const color = live && !c.env.NO_COLOR;
  let snapshot: ProgressSnapshot = { infId: inf, state: "pending", vmStates: {}, elapsedMs: 0 };
  let drawn = 0;
  let frame = 0;
  let lastPlain = "";
  const draw = () => {
    snapshot = { ...snapshot, elapsedMs: Date.now() - started };
    if (live) {
      const lines = renderLive(snapshot, { frame: frame++, color, columns: c.io.columns, maxRows: c.io.rows ? Math.max(c.io.rows - 5, 3) : undefined });
      c.io.stderr(redraw(drawn, lines));
      drawn = lines.length;
    } else {
      const text = describeProgress(snapshot);
      if (text !== lastPlain) c.io.stderr(`${plainLine(snapshot)}\n`);
      lastPlain = text;
    }
  };
  const ticker = live ? setInterval(draw, 150) : undefined;
  let failures = 0;
  let outcome: "done" | "fail" | "timeout";
  try {
    for (;;) {
      try {
        const answer = await c.call<StateAnswer>("GetInfrastructureState", inf, auth);
        snapshot = { ...snapshot, state: answer.state, vmStates: answer.vm_states };
        failures = 0;
      } catch (error) {
        // A server restarting or a network hiccup: try a few times before giving up.
        if (!(error instanceof TransportError) || ++failures >= 3) throw error;
      }
      draw();
      const verdict = judge(snapshot.state, target);
      if (verdict !== "wait") {
        outcome = verdict;
        break;
      }
      if (timeoutMs !== undefined && Date.now() - started >= timeoutMs) {
        outcome = "timeout";
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, timeoutMs === undefined ? intervalMs : Math.min(intervalMs, Math.max(started + timeoutMs - Date.now(), 0))));
    }
  } finally {
    clearInterval(ticker);
  }
  if (c.json) c.io.stdout(`${JSON.stringify({ id: inf, state: snapshot.state, vm_states: snapshot.vmStates }, null, 2)}\n`);
  if (outcome === "done") {
    if (!c.json) c.io.stderr(`Infrastructure ${inf} is ${snapshot.state}.\n`);
    return EXIT.ok;
  }
  if (outcome === "timeout") {
    c.io.stderr(`infra-manager ${c.name}: timed out after ${formatSeconds(timeoutMs!)} waiting for infrastructure ${inf} to be ${target}; it is ${snapshot.state}\n`);
    return EXIT.failed;
  }
  c.io.stderr(`infra-manager ${c.name}: infrastructure ${inf} is ${snapshot.state}, not ${target}\n`);
  if (afterCreate || snapshot.state === "failed" || snapshot.state === "unconfigured") {
    try {
      const log = await c.call<string>("GetInfrastructureContMsg", inf, auth);
      if (log.trim()) c.io.stderr(`Its contextualization log ends with:\n${tail(log, 15)}\n`);
    } catch {
      // the log is a courtesy
    }
    c.io.stderr(`See: infra-manager getcontmsg ${inf}${afterCreate ? `; remove it with: infra-manager destroy ${inf}` : ""}\n`);
  }
  return EXIT.failed;
}

function tail(text: string, lines: number): string {
  const all = text.trimEnd().split("\n");
  return all.slice(-lines).map((line) => `  ${line}`).join("\n");
}

function seconds(value: unknown, name: string): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (typeof value !== "string" || value.trim() === "" || !Number.isFinite(number) || number < 0) throw new UsageError(`${name} takes a number of seconds, not '${String(value)}'`);
  return number * 1000;
}

function formatSeconds(ms: number): string {
  return `${Math.round(ms / 100) / 10} s`;
}

// ---------------------------------------------------------------------------------------------
// ssh

async function sshRun(c: Context): Promise<number> {
  const [inf, vm = "0"] = c.args;
  const auth = await c.auth();
  let target: SshTarget;
  let jump: ProxyHost | undefined;
  try {
    target = sshTarget(await c.call<string>("GetVMInfo", inf, vm, auth), vm);
    jump = target.proxy;
    if (!jump && !target.public && vm !== "0") {
      // Like im_client: a VM without a public IP is reached through VM 0 when that one has one.
      const front = await c.call<string>("GetVMInfo", inf, "0", auth).then((info) => sshTarget(info, "0")).catch(() => undefined);
      if (front?.public) jump = front;
    }
  } catch (error) {
    if (error instanceof ImCallError || error instanceof RpcFault || error instanceof TransportError) throw error;
    throw new ClientError((error as Error).message);
  }
  const keyFiles: string[] = [];
  const writeKey = (key: string, owner: string) => {
    const dir = mkdtempSync(join(tmpdir(), "infra-manager-ssh-"));
    const file = join(dir, `${owner}.key`);
    writeFileSync(file, key.endsWith("\n") ? key : `${key}\n`, { mode: 0o600 });
    chmodSync(file, 0o600);
    keyFiles.push(file);
    return file;
  };
  const keyFile = target.privateKey ? writeKey(target.privateKey, `vm-${vm}`) : undefined;
  const jumpKey = jump?.privateKey ? writeKey(jump.privateKey, target.proxy ? "proxy" : "vm-0") : undefined;
  const argv = sshCommand(target, { keyFile, jump: jump ? { target: jump, keyFile: jumpKey } : undefined, remoteCommand: c.rest });
  const password = usesPassword(target, keyFile) ? target.password : undefined;
  if (target.proxy) c.io.stderr(`VM ${vm} is reached through the proxy host of its network (${target.proxy.host}).\n`);
  else if (jump) c.io.stderr(`VM ${vm} has no public IP: going through VM 0 (${jump.host}).\n`);
  if (c.opts.print) {
    const line = (password !== undefined ? `SSHPASS=${shellJoin([password])} ` : "") + shellJoin(argv);
    c.emit({ command: argv, ...(password !== undefined ? { env: { SSHPASS: password } } : {}), keyFiles }, line);
    for (const file of keyFiles) c.io.stderr(`The private key is in ${file} (mode 600); delete it when you are done.\n`);
    return EXIT.ok;
  }
  const hasProgram = c.io.hasProgram ?? onPath;
  let command = argv;
  const env: NodeJS.ProcessEnv = { ...c.env };
  if (password !== undefined) {
    env.SSHPASS = password;
    if (!hasProgram("sshpass")) {
      command = argv.slice(2); // plain ssh: the user types the password
      c.io.stderr(`sshpass is not installed: type the password of ${target.username}@${target.host} when ssh asks: ${password}\n`);
    }
  }
  const run = c.io.runInteractive ?? runInteractive;
  try {
    return await run(command, env);
  } catch (error) {
    throw new ClientError(`cannot run ${command[0]}: ${(error as Error).message}`);
  } finally {
    for (const file of keyFiles) rmSync(join(file, ".."), { recursive: true, force: true });
  }
}

function runInteractive(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), { stdio: "inherit", env });
    child.once("error", reject);
    child.once("exit", (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}

function onPath(program: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${program}`], { stdio: "ignore" }).status === 0;
}

// ---------------------------------------------------------------------------------------------
// Running a command: options, the auth file, the connection, and what failures become.

const GLOBAL_OPTIONS: OptionSpec = {
  url: { type: "string", short: "u" },
  auth: { type: "string", short: "a" },
  "ca-file": { type: "string" },
  insecure: { type: "boolean" },
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
};

export const CLIENT_OPTIONS_USAGE = `Options of the client commands (also from the environment):
  -u, --url URL       the server (IM_URL; default ${DEFAULT_URL})
  -a, --auth FILE     the auth file, text lines or JSON (IM_AUTH); not needed by getversion
  --ca-file FILE      trust the CA certificates in FILE for https:// (IM_CA_FILE)
  --insecure          do not verify the server's TLS certificate (IM_INSECURE=1)
  --json              print results as JSON, for scripts
  --interval SECONDS  how often create and wait poll the state (default 2)
Exit codes: 0 success, 1 the operation failed (the server said no, or a local file is wrong),
2 a command-line mistake, 3 the server could not be reached.
`;

/** Usage of every client command, for `infra-manager --help`. */
export const CLIENT_USAGE = `Client commands (talk to an IM server; see docs/cli.md):
${Object.entries(COMMANDS).map(([name, spec]) => `  infra-manager ${name}${spec.usage ? ` ${spec.usage}` : ""}\n      ${spec.summary}`).join("\n")}
  (im_client's names also work: ${Object.entries(ALIASES).map(([alias, name]) => `${alias} = ${name}`).join(", ")})

${CLIENT_OPTIONS_USAGE}`;

function commandUsage(name: string): string {
  const spec = COMMANDS[ALIASES[name] ?? name];
  return `Usage: infra-manager ${name}${spec.usage ? ` ${spec.usage}` : ""} [options]\n  ${spec.summary}\n\n${CLIENT_OPTIONS_USAGE}`;
}

/** Runs client command `name`; returns the exit code. */
export async function clientCommand(name: string, argv: string[], io: ClientIo = processIo): Promise<number> {
  const spec = COMMANDS[ALIASES[name] ?? name];
  if (!spec) throw new UsageError(`unknown command '${name}'`);
  if (io === processIo) {
    io = { ...processIo, isTTY: process.stderr.isTTY === true, columns: process.stderr.columns || undefined, rows: process.stderr.rows || undefined };
  }
  const env = io.env ?? process.env;
  try {
    const dashes = argv.indexOf("--");
    const args = dashes === -1 ? argv : argv.slice(0, dashes);
    const rest = dashes === -1 ? [] : argv.slice(dashes + 1);
    if (rest.length && spec !== COMMANDS.ssh) throw new UsageError("'--' is only for ssh's remote command");
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: { ...GLOBAL_OPTIONS, ...spec.options },
    });
    if (values.help) {
      io.stdout(commandUsage(name));
      return EXIT.ok;
    }
    if (positionals.length < spec.min || positionals.length > spec.max) {
      const expected = spec.usage.replace(/ ?\[--.*$/, "");
      throw new UsageError(`${expected ? `expected ${expected}` : "expected no arguments"}, got ${positionals.length === 0 ? "none" : positionals.map((p) => `'${p}'`).join(" ")}`);
    }
    const client = connect(values as Values, env, io);
    const json = values.json === true;
    let auth: AuthCredential[] | undefined;
    const context: Context = {
      name,
      args: positionals,
      opts: values as Values,
      io,
      json,
      env,
      rest,
      call: async (method, ...params) => {
        try {
          return await client.call(method, ...params);
        } catch (error) {
          if (error instanceof RpcFault || error instanceof ImCallError) Object.assign(error, { method });
          throw error;
        }
      },
      auth: async () => (auth ??= await readAuth(values as Values, env, io)),
      emit: (value, human) => io.stdout(json ? `${JSON.stringify(value, null, 2)}\n` : withNewline(human)),
      readText: (path) => readLocal(io, path),
      readRadl: async (path, check = "check") => {
        const text = await readLocal(io, path);
        if (check === "none") return text;
        try {
          const radl = parseRadl(text);
          if (check === "check") checkRadl(radl);
        } catch (error) {
          if (!(error instanceof RadlError)) throw error;
          throw new ClientError(`${error.line === null ? path : `${path}:${error.line}`}: ${error.detail}`);
        }
        return text;
      },
    };
    return await spec.run(context);
  } catch (error) {
    return reportError(error, name, io);
  }
}

/**
 * THE place where failures become messages and exit codes: usage mistakes (2), IM's
 * `[false, message]` and faults (1), local mistakes (1), an unreachable server (3).
 */
export function reportError(error: unknown, name: string, io: CommandIo): number {
  const say = (text: string) => io.stderr(`infra-manager ${name}: ${text}\n`);
  if (error instanceof UsageError || (error as { code?: string })?.code?.startsWith?.("ERR_PARSE_ARGS")) {
    say((error as Error).message);
    io.stderr(`Usage: infra-manager ${name}${COMMANDS[ALIASES[name] ?? name].usage ? ` ${COMMANDS[ALIASES[name] ?? name].usage}` : ""} (infra-manager ${name} --help for more)\n`);
    return EXIT.usage;
  }
  if (error instanceof ImCallError) {
    say(`${error.method}: ${error.message}`);
    return EXIT.failed;
  }
  if (error instanceof RpcFault) {
    const method = (error as RpcFault & { method?: string }).method;
    say(`${method ? `${method}: ` : ""}the server answered with a fault (code ${error.faultCode}): ${error.faultString}`);
    return EXIT.failed;
  }
  if (error instanceof TransportError) {
    say(error.message);
    return error.code === "EINVALIDURL" ? EXIT.usage : EXIT.unreachable;
  }
  if (error instanceof ClientError) {
    say(error.message);
    return EXIT.failed;
  }
  const code = (error as NodeJS.ErrnoException)?.code;
  if (code === "ENOENT" || code === "EISDIR" || code === "EACCES" || code === "EPERM") {
    say((error as Error).message);
    return EXIT.failed;
  }
  throw error;
}

function connect(values: Values, env: NodeJS.ProcessEnv, io: ClientIo): ImClient {
  const url = (values.url as string | undefined) ?? (env.IM_URL || DEFAULT_URL);
  const caFile = (values["ca-file"] as string | undefined) ?? (env.IM_CA_FILE || undefined);
  const insecure = values.insecure === true || /^(1|true|yes)$/i.test(env.IM_INSECURE ?? "");
  let ca: Buffer | undefined;
  if (caFile) {
    try {
      ca = readFileSync(expandPath(caFile));
    } catch (error) {
      throw new ClientError(`cannot read the CA file ${caFile}: ${(error as Error).message}`);
    }
  }
  const client = new ImClient({ url, ca, insecure });
  if (insecure && client.url.protocol === "https:") io.stderr("infra-manager: warning: the server's TLS certificate is not verified (--insecure)\n");
  return client;
}

async function readAuth(values: Values, env: NodeJS.ProcessEnv, io: ClientIo): Promise<AuthCredential[]> {
  const file = (values.auth as string | undefined) ?? (env.IM_AUTH || undefined);
  if (!file) throw new UsageError("no auth file: give -a FILE (or set IM_AUTH)");
  const text = await readLocal(io, file, "auth file ");
  try {
    return readAuthText(text);
  } catch (error) {
    if (error instanceof AuthFileError) throw new ClientError(`auth file ${file}: ${error.message}`);
    throw error;
  }
}

async function readLocal(io: CommandIo, path: string, what = ""): Promise<string> {
  try {
    return await io.readInput(path === "-" ? path : expandPath(path));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === "ENOENT" ? "no such file" : code === "EISDIR" ? "it is a directory" : code === "EACCES" ? "permission denied" : (error as Error).message;
    throw new ClientError(`cannot read ${what}${path}: ${reason}`);
  }
}

/** Every client command and alias, for main's command table. */
export const CLIENT_COMMANDS: Record<string, (args: string[], io: CommandIo) => Promise<number>> = Object.fromEntries(
  [...Object.keys(COMMANDS), ...Object.keys(ALIASES)].map((name) => [name, (args: string[], io: CommandIo) => clientCommand(name, args, io as ClientIo)]),
);

/** The names of the client commands (without aliases), in table order. */
export const CLIENT_COMMAND_NAMES = Object.keys(COMMANDS);
