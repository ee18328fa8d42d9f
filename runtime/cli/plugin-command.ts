import { mkdir, readdir, readFile, stat, writeFile } from "node:fs/promises";
import { join, relative, resolve } from "node:path";
import { parseArgs } from "node:util";
import { PACKAGE_ROOT } from "../config.ts";
import { UsageError, type CommandIo } from "./io.ts";

export const PLUGIN_USAGE = `  infra-manager plugin new NAME [--dir DIR]
      Start a provider plugin package from the template (docs/plugins.md). NAME is the cloud's
      name in kebab-case: acme-cloud gives the package infra-manager-provider-acme-cloud, the IM
      auth type AcmeCloud and the class AcmeCloudProvider. DIR (default: the package name) must
      be absent or empty.
`;

const TEMPLATE = join(PACKAGE_ROOT, "examples/provider-template");

/** What working on the template in place leaves behind; never part of a new plugin. */
const LOCAL_ONLY = new Set(["node_modules", "package-lock.json"]);

const PLUGIN_NAME = /^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$/;

/** The template's spellings of its cloud's name, and what each becomes for a new plugin. */
export interface PluginNames {
  /** `acme-cloud`: package name suffix, image URL scheme (template: `example`). */
  kebab: string;
  /** `AcmeCloud`: IM auth type, class names (template: `Example`). */
  pascal: string;
  /** `ACME_CLOUD`: constants (template: `EXAMPLE`). */
  constant: string;
  packageName: string;
}

export function pluginNames(name: string): PluginNames {
  const words = name.split("-");
  return {
    kebab: name,
    pascal: words.map((word) => word[0]!.toUpperCase() + word.slice(1)).join(""),
    constant: words.join("_").toUpperCase(),
    packageName: `infra-manager-provider-${name}`,
  };
}

/** `infra-manager plugin new NAME [--dir DIR]`. */
export async function pluginCommand(args: string[], io: CommandIo): Promise<number> {
  const [subcommand, ...rest] = args;
  if (subcommand === undefined || subcommand === "help" || subcommand === "--help") {
    io.stdout(PLUGIN_USAGE);
    return subcommand ? 0 : 2;
  }
  if (subcommand !== "new") throw new UsageError(`unknown plugin subcommand '${subcommand}'`);
  const { values, positionals } = parseArgs({ args: rest, options: { dir: { type: "string" } }, allowPositionals: true });
  if (positionals.length !== 1) throw new UsageError("plugin new takes exactly one NAME");
  const name = positionals[0]!;
  if (!PLUGIN_NAME.test(name)) {
    throw new UsageError(`invalid plugin name '${name}': use lower-case letters and digits, words joined by single hyphens, starting with a letter (for instance acme-cloud)`);
  }
  const names = pluginNames(name);
  const dir = resolve(values.dir ?? names.packageName);
  const problem = await unusableTarget(dir);
  if (problem) {
    io.stderr(`infra-manager plugin new: ${dir} ${problem}; choose another folder with --dir\n`);
    return 1;
  }
  const files = await copyRenamed(TEMPLATE, dir, names);
  const shown = relative(process.cwd(), dir) || ".";
  io.stdout(`Created ${names.packageName} in ${shown} (${files} files): the provider of IM auth type ${names.pascal}.
Next:
  cd ${shown}
  npm install            # or, to test against this infra-manager: npm install --save-dev ${PACKAGE_ROOT}
  npm test               # type check, unit tests and the conformance kit
Then follow docs/plugins.md to talk to your cloud.
`);
  return 0;
}

/** Why `dir` cannot receive a new plugin, or undefined when it can. */
async function unusableTarget(dir: string): Promise<string | undefined> {
  const info = await stat(dir).catch(() => undefined);
  if (!info) return undefined;
  if (!info.isDirectory()) return "exists and is not a folder";
  if ((await readdir(dir)).length > 0) return "exists and is not empty";
  return undefined;
}

/** Copies the template, replacing each spelling of its cloud's name; returns how many files were written. */
async function copyRenamed(from: string, to: string, names: PluginNames): Promise<number> {
  const spellings: Record<string, string> = { example: names.kebab, Example: names.pascal, EXAMPLE: names.constant };
  await mkdir(to, { recursive: true });
  let written = 0;
  for (const entry of await readdir(from, { withFileTypes: true })) {
    if (LOCAL_ONLY.has(entry.name)) continue;
    const source = join(from, entry.name);
    const target = join(to, entry.name);
    if (entry.isDirectory()) {
      written += await copyRenamed(source, target, names);
    } else {
      await writeFile(target, (await readFile(source, "utf8")).replace(/example|Example|EXAMPLE/g, (spelling) => spellings[spelling]!));
      written++;
    }
  }
  return written;
}
