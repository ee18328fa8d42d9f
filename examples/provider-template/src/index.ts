import { PLUGIN_API_VERSION, definePlugin } from "infra-manager/core";
import { EXAMPLE_TYPE, ExampleProvider, type ExampleOptions } from "./provider.ts";

// The plugin module infra-manager imports (in its main thread and in every worker thread) when
// a server's configuration lists this package. `options` are the ones the configuration gives.

export { EXAMPLE_STATE_MAP, EXAMPLE_TYPE, ExampleProvider, type ExampleOptions } from "./provider.ts";

export default definePlugin<ExampleOptions>({
  // A provider plugin is named after the IM auth type it answers to.
  manifest: { name: EXAMPLE_TYPE, kind: "provider", version: "0.1.0", apiVersion: PLUGIN_API_VERSION },
  register(registrar, options) {
    registrar.provider(() => new ExampleProvider(options));
  },
});
