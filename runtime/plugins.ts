import "reflect-metadata";
import { isAbsolute, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { container as rootContainer, type DependencyContainer } from "tsyringe";
import {
  PLUGIN_API_VERSION,
  type CloudProvider, type Contextualizer, type Plugin, type PluginKind, type PluginManifest, type Store, type StoreContext,
} from "../core/index.ts";

// Loading plugins by module specifier and registering them in a tsyringe container. The main
// thread and every worker thread run this with the same list, each with its own container.

/** A plugin as the configuration names it. */
export interface PluginSpec {
  /** A path (absolute, or relative to `baseDir`) or a package name. */
  module: string;
  options?: Record<string, unknown>;
}

/** A plugin whose module or manifest is unusable; the server does not start. */
export class PluginError extends Error {
  constructor(
    readonly module: string,
    message: string,
  ) {
    super(`Plugin ${module}: ${message}`);
    this.name = "PluginError";
  }
}

const KINDS: readonly PluginKind[] = ["provider", "contextualizer", "store"];

export const providerToken = (type: string) => `provider:${type}`;
export const storeToken = (name: string) => `store:${name}`;
export const contextualizerToken = (name: string) => `contextualizer:${name}`;

export interface LoadedPlugins {
  container: DependencyContainer;
  manifests: PluginManifest[];
  providerTypes: string[];
  contextualizerNames: string[];
}

/** Where a specifier points, as a URL `import()` accepts. */
export function resolvePluginModule(module: string, baseDir: string): string {
  if (module.startsWith("file:")) return module;
  if (isAbsolute(module) || module.startsWith(".")) return pathToFileURL(resolve(baseDir, module)).href;
  return module;
}

/** Imports, validates and registers every plugin; throws PluginError before registering anything if one is bad. */
export async function loadPlugins(specs: readonly PluginSpec[], baseDir: string): Promise<LoadedPlugins> {
  const plugins: { spec: PluginSpec; plugin: Plugin }[] = [];
  for (const spec of specs) {
    const candidate = await importPlugin(spec.module, baseDir);
    const plugin = validatePluginShape(spec.module, candidate);
    checkApiVersion(spec.module, plugin.manifest);
    plugins.push({ spec, plugin });
  }
  const names = new Set<string>();
  for (const { spec, plugin } of plugins) {
    const key = `${plugin.manifest.kind}:${plugin.manifest.name}`;
    if (names.has(key)) throw new PluginError(spec.module, `a second ${plugin.manifest.kind} plugin is named '${plugin.manifest.name}'`);
    names.add(key);
  }
  const container = rootContainer.createChildContainer();
  const providerTypes: string[] = [];
  const contextualizerNames: string[] = [];
  for (const { spec, plugin } of plugins) {
    const { name, kind } = plugin.manifest;
    let registered = false;
    const wrongKind = (what: PluginKind) => new PluginError(spec.module, `its manifest says kind '${kind}' but it registers a ${what}`);
    const registrar = {
      provider: (factory: () => CloudProvider) => {
        if (kind !== "provider") throw wrongKind("provider");
        container.register(providerToken(name), { useFactory: instanceCachingFactory(factory) });
        providerTypes.push(name);
        registered = true;
      },
      store: (factory: (context: StoreContext) => Store) => {
        if (kind !== "store") throw wrongKind("store");
        container.register(storeToken(name), { useValue: factory });
        registered = true;
      },
      contextualizer: (factory: () => Contextualizer) => {
        if (kind !== "contextualizer") throw wrongKind("contextualizer");
        container.register(contextualizerToken(name), { useFactory: instanceCachingFactory(factory) });
        contextualizerNames.push(name);
        registered = true;
      },
    };
    try {
      plugin.register(registrar, spec.options ?? {});
    } catch (error) {
      throw error instanceof PluginError ? error : new PluginError(spec.module, `register() failed: ${(error as Error).message}`);
    }
    if (!registered) throw new PluginError(spec.module, `registered nothing for its ${kind} '${name}'`);
  }
  return { container, manifests: plugins.map((p) => p.plugin.manifest), providerTypes, contextualizerNames };
}

function instanceCachingFactory<T>(factory: () => T): () => T {
  let instance: T | undefined;
  return () => (instance ??= factory());
}

/** A plugin module's default export, unchecked; a module that cannot be imported is a PluginError. */
export async function importPlugin(module: string, baseDir: string): Promise<unknown> {
  try {
    return ((await import(resolvePluginModule(module, baseDir))) as { default?: unknown }).default;
  } catch (error) {
    throw new PluginError(module, `cannot be loaded: ${(error as Error).message}`);
  }
}

/** Throws PluginError unless `candidate` has register() and a manifest whose every field is well formed. */
export function validatePluginShape(module: string, candidate: unknown): Plugin {
  if (typeof candidate !== "object" || candidate === null) throw new PluginError(module, "has no default export with a manifest and register()");
  const { manifest, register } = candidate as Partial<Plugin>;
  if (typeof register !== "function") throw new PluginError(module, "its default export has no register() function");
  if (typeof manifest !== "object" || manifest === null) throw new PluginError(module, "its default export has no manifest");
  const problems: string[] = [];
  if (typeof manifest.name !== "string" || manifest.name === "") problems.push("name must be a non-empty string");
  if (!KINDS.includes(manifest.kind)) problems.push(`kind must be one of ${KINDS.join(", ")}`);
  if (typeof manifest.version !== "string" || manifest.version === "") problems.push("version must be a non-empty string");
  if (typeof manifest.apiVersion !== "number") problems.push("apiVersion must be a number");
  if (problems.length) throw new PluginError(module, `invalid manifest: ${problems.join("; ")}`);
  return candidate as Plugin;
}

/** Throws PluginError unless the plugin was written for the plugin API this build implements. */
export function checkApiVersion(module: string, manifest: { apiVersion?: unknown }): void {
  if (manifest.apiVersion !== PLUGIN_API_VERSION) {
    throw new PluginError(module, `it was written for plugin API version ${manifest.apiVersion}, but this infra-manager implements version ${PLUGIN_API_VERSION}`);
  }
}

/** The provider registered for an IM auth type, or undefined. */
export function resolveProvider(plugins: LoadedPlugins, type: string): CloudProvider | undefined {
  const token = providerToken(type);
  return plugins.container.isRegistered(token) ? plugins.container.resolve<CloudProvider>(token) : undefined;
}

/** The contextualizer plugin of that name, or undefined. */
export function resolveContextualizer(plugins: LoadedPlugins, name: string): Contextualizer | undefined {
  const token = contextualizerToken(name);
  return plugins.container.isRegistered(token) ? plugins.container.resolve<Contextualizer>(token) : undefined;
}

export function resolveStore(plugins: LoadedPlugins, name: string, context: StoreContext): Store {
  const token = storeToken(name);
  if (!plugins.container.isRegistered(token)) throw new PluginError(name, `no store plugin named '${name}' is loaded`);
  return plugins.container.resolve<(context: StoreContext) => Store>(token)(context);
}
