import { PLUGIN_API_VERSION, type PluginKind, type PluginManifest } from "../../core/index.ts";
import { PluginError, checkApiVersion, importPlugin, loadPlugins, validatePluginShape, type LoadedPlugins, type PluginSpec } from "../plugins.ts";
import { ConformanceFailure, expect, type ConformanceCheck } from "./checks.ts";

// The checks every kit starts with: the plugin module's default export, read with the same
// functions the server uses at start-up, so that a plugin that passes them also loads there.

const DEFINE_PLUGIN = `export default definePlugin({ manifest: { name, kind, version, apiVersion: PLUGIN_API_VERSION }, register(registrar, options) { ... } }) with both imported from "infra-manager/core"`;

export function manifestChecks(module: string, baseDir: string, kind: PluginKind): ConformanceCheck[] {
  let imported: Promise<unknown> | undefined;
  const candidate = () => (imported ??= importPlugin(module, baseDir));
  /** The manifest as written, whatever its shape. */
  const manifest = async (): Promise<Partial<PluginManifest>> => {
    const value = (await candidate().catch((error: unknown) => asFailure(error))) as { manifest?: unknown } | null | undefined;
    const found = typeof value === "object" && value !== null ? value.manifest : undefined;
    expect(typeof found === "object" && found !== null, () => `the module's default export has no manifest: ${DEFINE_PLUGIN}`);
    return found as Partial<PluginManifest>;
  };
  return [
    {
      id: "manifest/valid",
      name: "the default export is a plugin: register() and a well-formed manifest",
      run: async () => {
        // A module that does not import says why by itself; a bad export gets the shape to follow.
        const value = await candidate().catch((error: unknown) => asFailure(error));
        try {
          validatePluginShape(module, value);
        } catch (error) {
          asFailure(error, DEFINE_PLUGIN);
        }
      },
    },
    {
      id: "manifest/kind",
      name: `manifest.kind is '${kind}'`,
      run: async () => {
        const { kind: declared } = await manifest();
        expect(declared === kind, () => `manifest.kind is ${JSON.stringify(declared)}, but this kit checks ${kind} plugins: set kind: '${kind}' and register with registrar.${kind}(...)`);
      },
    },
    {
      id: "manifest/api-version",
      name: `manifest.apiVersion is this build's PLUGIN_API_VERSION (${PLUGIN_API_VERSION})`,
      run: async () => {
        try {
          checkApiVersion(module, await manifest());
        } catch (error) {
          asFailure(error, `set apiVersion: PLUGIN_API_VERSION (imported from "infra-manager/core") once the plugin follows API version ${PLUGIN_API_VERSION}`);
        }
      },
    },
  ];
}

/** Loads one plugin exactly as the server does; a PluginError becomes a failure of the check that needed it. */
export async function loadAsServer(spec: PluginSpec, baseDir: string): Promise<{ loaded: LoadedPlugins; manifest: PluginManifest }> {
  try {
    const loaded = await loadPlugins([spec], baseDir);
    return { loaded, manifest: loaded.manifests[0] };
  } catch (error) {
    return asFailure(error, "the server would refuse to start with it (see the manifest checks)");
  }
}

/** A PluginError as a check failure, with what to do about it; anything else is rethrown. */
function asFailure(error: unknown, fix?: string): never {
  if (error instanceof PluginError) throw new ConformanceFailure(fix ? `${error.message}: ${fix}` : error.message);
  throw error;
}
