import type { Contextualizer } from "./contextualizer.ts";
import type { CloudProvider } from "./provider.ts";
import type { Store } from "./store.ts";

// What a plugin module exports (as its default export), and how it registers its parts.

/** The plugin API this build of infra-manager implements. */
export const PLUGIN_API_VERSION = 1;

export type PluginKind = "provider" | "contextualizer" | "store";

export interface PluginManifest {
  /** For providers, the IM auth type it answers to (`Dummy`); otherwise a unique name. */
  name: string;
  kind: PluginKind;
  version: string;
  /** The plugin API version the plugin was written for; must equal PLUGIN_API_VERSION. */
  apiVersion: number;
}

/** Runtime facts a store needs. */
export interface StoreContext {
  /** The server's data directory. */
  dataDir: string;
}

/**
 * Registers a plugin's parts (in the tsyringe container, under tokens derived from the
 * manifest name). Called once in the main thread and once in every worker thread.
 */
export interface PluginRegistrar {
  provider(factory: () => CloudProvider): void;
  store(factory: (context: StoreContext) => Store): void;
  contextualizer(factory: () => Contextualizer): void;
}

export interface Plugin<Options = Record<string, unknown>> {
  manifest: PluginManifest;
  register(registrar: PluginRegistrar, options: Options): void;
}

/** Identity helper for plugin modules: gives plugin authors type checking. */
export function definePlugin<Options = Record<string, unknown>>(plugin: Plugin<Options>): Plugin<Options> {
  return plugin;
}
