import "reflect-metadata";
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, before, test } from "node:test";
import { pathToFileURL } from "node:url";
import { container as rootContainer } from "tsyringe";
import { PLUGIN_API_VERSION } from "../../../core/index.ts";
import { PACKAGE_ROOT } from "../../../runtime/config.ts";
import {
  PluginError, loadPlugins, providerToken, resolvePluginModule, resolveProvider, resolveStore, storeToken, type PluginSpec,
} from "../../../runtime/plugins.ts";

// Loading plugin modules (runtime/plugins.ts, IM behaviour §6.1): good plugins register and
// resolve; every kind of bad plugin is a PluginError naming its module, and then nothing is
// registered at all.

const CORE_URL = pathToFileURL(resolve(PACKAGE_ROOT, "core/index.ts")).href;

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "infra-manager-plugins-"));
});
after(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Names registered by the test plugins' register(), in call order. */
declare global {
  // eslint-disable-next-line no-var
  var __pluginTestRegisterCalls: string[] | undefined;
}
const registerCalls = () => (globalThis.__pluginTestRegisterCalls ??= []);

let moduleCounter = 0;
/** Writes a plugin module and returns its absolute path. */
async function pluginModule(source: string): Promise<string> {
  const file = join(dir, `plugin-${++moduleCounter}.mjs`);
  await writeFile(file, source);
  return file;
}

const manifestSource = (fields: Record<string, unknown>) => JSON.stringify(fields);

/** A well-formed plugin module; `body` is register()'s body (registrar `r`, options `o`). */
function pluginSource(manifest: Record<string, unknown>, body: string): string {
  return `import { definePlugin, PLUGIN_API_VERSION } from ${JSON.stringify(CORE_URL)};
const manifest = { apiVersion: PLUGIN_API_VERSION, version: "1.0.0", ...${manifestSource(manifest)} };
export default definePlugin({
  manifest,
  register(r, o) {
    (globalThis.__pluginTestRegisterCalls ??= []).push(manifest.name);
    ${body}
  },
});
`;
}

let nameCounter = 0;
const uniqueName = (prefix: string) => `${prefix}${++nameCounter}x${process.pid}`;

/** A provider plugin module whose provider remembers its options. */
async function providerModule(name: string): Promise<string> {
  return pluginModule(pluginSource({ name, kind: "provider" }, `r.provider(() => ({ type: ${JSON.stringify(name)}, capabilities: [], options: o, made: Math.random() }));`));
}

async function storeModule(name: string): Promise<string> {
  return pluginModule(pluginSource({ name, kind: "store" }, `r.store((context) => ({ name: ${JSON.stringify(name)}, context, options: o }));`));
}

/** Asserts a PluginError for `module` whose message includes every fragment. */
async function rejectsFor(specs: PluginSpec[], module: string, ...fragments: (string | RegExp)[]): Promise<PluginError> {
  let caught: PluginError | undefined;
  await assert.rejects(loadPlugins(specs, dir), (error: unknown) => {
    assert.ok(error instanceof PluginError, `a PluginError, got ${String(error)}`);
    assert.equal(error.name, "PluginError");
    assert.equal(error.module, module);
    assert.ok(error.message.startsWith(`Plugin ${module}: `), `'${error.message}' names the module`);
    for (const fragment of fragments) {
      if (typeof fragment === "string") assert.ok(error.message.includes(fragment), `'${error.message}' mentions '${fragment}'`);
      else assert.match(error.message, fragment);
    }
    caught = error;
    return true;
  });
  return caught!;
}

const notInRoot = (token: string) => assert.equal(rootContainer.isRegistered(token, true), false, `${token} is not in the root container`);

// ------------------------------------------------------------------------------ good plugins

test("valid provider and store plugins register and resolve", async () => {
  const cloud = uniqueName("Cloud");
  const store = uniqueName("store");
  const providerPath = await providerModule(cloud);
  const storePath = await storeModule(store);
  const loaded = await loadPlugins([{ module: providerPath, options: { latency: 3 } }, { module: storePath, options: { file: "x" } }], dir);

  assert.deepEqual(loaded.providerTypes, [cloud]);
  assert.deepEqual(loaded.manifests.map((m) => [m.name, m.kind, m.version, m.apiVersion]), [
    [cloud, "provider", "1.0.0", PLUGIN_API_VERSION],
    [store, "store", "1.0.0", PLUGIN_API_VERSION],
  ]);

  const provider = resolveProvider(loaded, cloud) as unknown as { type: string; options: unknown; made: number };
  assert.equal(provider.type, cloud);
  assert.deepEqual(provider.options, { latency: 3 }, "register() gets the spec's options");
  assert.equal(resolveProvider(loaded, cloud), provider, "one provider instance per container");
  assert.equal(resolveProvider(loaded, "NoSuchCloud"), undefined);

  const resolved = resolveStore(loaded, store, { dataDir: "/data" }) as unknown as { name: string; context: unknown; options: unknown };
  assert.equal(resolved.name, store);
  assert.deepEqual(resolved.context, { dataDir: "/data" }, "the store factory gets the store context");
  assert.deepEqual(resolved.options, { file: "x" });
  assert.throws(() => resolveStore(loaded, "nope", { dataDir: "/data" }), (error: unknown) => error instanceof PluginError && /no store plugin named 'nope'/.test(error.message));

  // The registrations live in the loaded container only.
  notInRoot(providerToken(cloud));
  notInRoot(storeToken(store));
});

test("options default to {} when the spec has none", async () => {
  const cloud = uniqueName("Cloud");
  const loaded = await loadPlugins([{ module: await providerModule(cloud) }], dir);
  assert.deepEqual((resolveProvider(loaded, cloud) as unknown as { options: unknown }).options, {});
});

test("each load has its own container: two loads give two provider instances", async () => {
  const cloud = uniqueName("Cloud");
  const path = await providerModule(cloud);
  const first = await loadPlugins([{ module: path }], dir);
  const second = await loadPlugins([{ module: path }], dir);
  assert.notEqual(resolveProvider(first, cloud), resolveProvider(second, cloud));
});

test("the built-in plugins load", async () => {
  const loaded = await loadPlugins([
    { module: resolve(PACKAGE_ROOT, "plugins/providers/dummy/index.ts") },
    { module: resolve(PACKAGE_ROOT, "plugins/stores/lowdb/index.ts") },
    { module: resolve(PACKAGE_ROOT, "plugins/stores/memory/index.ts") },
  ], PACKAGE_ROOT);
  assert.deepEqual(loaded.providerTypes, ["Dummy"]);
  assert.deepEqual(loaded.manifests.map((m) => `${m.kind}:${m.name}`), ["provider:Dummy", "store:lowdb", "store:memory"]);
  assert.equal(resolveProvider(loaded, "Dummy")?.type, "Dummy");
});

test("a provider and a store may share a name", async () => {
  const name = uniqueName("Shared");
  const loaded = await loadPlugins([{ module: await providerModule(name) }, { module: await storeModule(name) }], dir);
  assert.ok(resolveProvider(loaded, name));
  assert.ok(resolveStore(loaded, name, { dataDir: "/d" }));
});

test("module specifiers: relative to the base folder, absolute, file URLs, and package names", async () => {
  const cloud = uniqueName("Cloud");
  const path = await providerModule(cloud);
  const relativeSpec = `./${path.slice(dir.length + 1)}`;
  assert.equal(resolvePluginModule(relativeSpec, dir), pathToFileURL(path).href);
  assert.equal(resolvePluginModule(path, "/elsewhere"), pathToFileURL(path).href);
  assert.equal(resolvePluginModule(pathToFileURL(path).href, "/elsewhere"), pathToFileURL(path).href);
  assert.equal(resolvePluginModule("some-package/plugin", dir), "some-package/plugin");
  const loaded = await loadPlugins([{ module: relativeSpec }], dir);
  assert.deepEqual(loaded.providerTypes, [cloud]);
});

// ------------------------------------------------------------------------------ bad plugins

test("a module that fails to import is a PluginError naming it", async () => {
  const throwing = await pluginModule(`throw new Error("boom at import time");\n`);
  await rejectsFor([{ module: throwing }], throwing, "cannot be loaded", "boom at import time");
  const syntax = await pluginModule(`export default {{;\n`);
  await rejectsFor([{ module: syntax }], syntax, "cannot be loaded");
  const missing = join(dir, "missing-plugin.mjs");
  await rejectsFor([{ module: missing }], missing, "cannot be loaded");
  await rejectsFor([{ module: "./relative-missing.mjs" }], "./relative-missing.mjs", "cannot be loaded");
});

test("a module without a default export is a PluginError", async () => {
  const path = await pluginModule(`export const manifest = { name: "x", kind: "provider", version: "1", apiVersion: 1 };\nexport function register() {}\n`);
  await rejectsFor([{ module: path }], path, "no default export");
  const primitive = await pluginModule(`export default 42;\n`);
  await rejectsFor([{ module: primitive }], primitive, "no default export");
});

test("a default export without register() is a PluginError", async () => {
  const path = await pluginModule(`export default { manifest: { name: "x", kind: "provider", version: "1", apiVersion: ${PLUGIN_API_VERSION} } };\n`);
  await rejectsFor([{ module: path }], path, "register()");
  const notFunction = await pluginModule(`export default { manifest: { name: "x", kind: "provider", version: "1", apiVersion: ${PLUGIN_API_VERSION} }, register: "yes" };\n`);
  await rejectsFor([{ module: notFunction }], notFunction, "register()");
});

test("a default export without a manifest is a PluginError", async () => {
  const path = await pluginModule(`export default { register() {} };\n`);
  await rejectsFor([{ module: path }], path, "manifest");
});

test("each invalid manifest field is named in the message", async () => {
  const base = { name: "Valid", kind: "provider", version: "1.0.0", apiVersion: PLUGIN_API_VERSION };
  const cases: [Record<string, unknown>, string][] = [
    [{ ...base, name: "" }, "name"],
    [{ ...base, name: 7 }, "name"],
    [{ ...base, name: undefined }, "name"],
    [{ ...base, kind: "database" }, "kind"],
    [{ ...base, kind: undefined }, "kind"],
    [{ ...base, version: "" }, "version"],
    [{ ...base, version: 1 }, "version"],
    [{ ...base, apiVersion: "1" }, "apiVersion"],
    [{ ...base, apiVersion: undefined }, "apiVersion"],
  ];
  for (const [manifest, field] of cases) {
    const path = await pluginModule(`export default { manifest: ${JSON.stringify(manifest)}, register(r) { r.provider(() => ({})); } };\n`);
    const error = await rejectsFor([{ module: path }], path, "invalid manifest", field);
    const others = ["name must", "kind must", "version must", "apiVersion must"].filter((p) => !p.startsWith(`${field} `));
    for (const other of others) assert.ok(!error.message.includes(other), `only ${field} is reported: ${error.message}`);
  }
});

test("all invalid manifest fields are named together", async () => {
  const path = await pluginModule(`export default { manifest: { name: "", kind: "x", version: 2, apiVersion: "one" }, register() {} };\n`);
  const error = await rejectsFor([{ module: path }], path, "invalid manifest");
  for (const field of ["name", "kind", "version", "apiVersion"]) assert.match(error.message, new RegExp(`\\b${field} must`));
  assert.ok(error.message.includes("provider, contextualizer, store"), "the allowed kinds are listed");
});

test("an apiVersion mismatch names both versions", async () => {
  const other = PLUGIN_API_VERSION + 41;
  const path = await pluginModule(pluginSource({ name: uniqueName("Old"), kind: "provider", apiVersion: other }, "r.provider(() => ({}));"));
  const error = await rejectsFor([{ module: path }], path, `version ${other}`, `version ${PLUGIN_API_VERSION}`);
  assert.match(error.message, /API/);
});

test("two plugins of the same kind and name are a PluginError naming the second module", async () => {
  const name = uniqueName("Twin");
  const first = await providerModule(name);
  const second = await providerModule(name);
  await rejectsFor([{ module: first }, { module: second }], second, `'${name}'`, "provider");
  // The same module twice is a duplicate too.
  await rejectsFor([{ module: first }, { module: first }], first, `'${name}'`);
  const storeName = uniqueName("twinstore");
  const s1 = await storeModule(storeName);
  const s2 = await storeModule(storeName);
  await rejectsFor([{ module: s1 }, { module: s2 }], s2, `'${storeName}'`, "store");
});

test("a manifest kind that does not match what register() registers is a PluginError", async () => {
  const saysStore = await pluginModule(pluginSource({ name: uniqueName("Liar"), kind: "store" }, "r.provider(() => ({}));"));
  await rejectsFor([{ module: saysStore }], saysStore, "kind 'store'", "registers a provider");
  const saysProvider = await pluginModule(pluginSource({ name: uniqueName("Liar"), kind: "provider" }, "r.store(() => ({}));"));
  await rejectsFor([{ module: saysProvider }], saysProvider, "kind 'provider'", "registers a store");
  const saysContextualizer = await pluginModule(pluginSource({ name: uniqueName("Liar"), kind: "contextualizer" }, "r.provider(() => ({}));"));
  await rejectsFor([{ module: saysContextualizer }], saysContextualizer, "kind 'contextualizer'", "registers a provider");
});

test("a register() that registers nothing is a PluginError", async () => {
  const name = uniqueName("Empty");
  const path = await pluginModule(pluginSource({ name, kind: "provider" }, "/* nothing */"));
  await rejectsFor([{ module: path }], path, "registered nothing", `'${name}'`);
});

test("nothing is registered, and no register() runs, when a plugin fails validation", async () => {
  const good = uniqueName("Good");
  const goodPath = await providerModule(good);
  const goodStore = uniqueName("goodstore");
  const goodStorePath = await storeModule(goodStore);
  const bad = await pluginModule(`export default { manifest: { name: "Bad", kind: "provider", version: "1", apiVersion: ${PLUGIN_API_VERSION + 1} }, register(r) { r.provider(() => ({})); } };\n`);
  const broken = await pluginModule(`throw new Error("nope");\n`);
  const duplicate = await providerModule(good);
  for (const [specs, culprit] of [
    [[goodPath, goodStorePath, bad], bad],
    [[bad, goodPath], bad],
    [[goodPath, broken, goodStorePath], broken],
    [[goodPath, goodStorePath, duplicate], duplicate],
  ] as [string[], string][]) {
    const before = registerCalls().length;
    await rejectsFor(specs.map((module) => ({ module })), culprit);
    assert.deepEqual(registerCalls().slice(before), [], "every plugin is validated before any register() runs");
  }
  notInRoot(providerToken(good));
  notInRoot(storeToken(goodStore));
});

test("nothing is registered when a plugin fails while registering", async () => {
  const good = uniqueName("Good");
  const goodPath = await providerModule(good);
  const goodStore = uniqueName("goodstore");
  const goodStorePath = await storeModule(goodStore);
  const liar = await pluginModule(pluginSource({ name: uniqueName("Liar"), kind: "store" }, "r.provider(() => ({}));"));
  const empty = await pluginModule(pluginSource({ name: uniqueName("Empty"), kind: "provider" }, ""));
  await rejectsFor([{ module: goodPath }, { module: goodStorePath }, { module: liar }], liar, "registers a provider");
  await rejectsFor([{ module: goodPath }, { module: empty }, { module: goodStorePath }], empty, "registered nothing");
  notInRoot(providerToken(good));
  notInRoot(storeToken(goodStore));
  // A later good load is unaffected by the failed ones.
  const loaded = await loadPlugins([{ module: goodPath }, { module: goodStorePath }], dir);
  assert.deepEqual(loaded.providerTypes, [good]);
});
