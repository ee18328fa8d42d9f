import assert from "node:assert/strict";
import { access, mkdtemp, rm, writeFile } from "node:fs/promises";
import { connect, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { pathToFileURL } from "node:url";
import { PLUGIN_API_VERSION } from "../../core/index.ts";
import { PACKAGE_ROOT, defaultConfig } from "../../runtime/config.ts";
import { PluginError } from "../../runtime/plugins.ts";
import { startServer } from "../../runtime/server.ts";
import { startServerProcess } from "../fixtures/server-process.ts";

// A plugin whose manifest is invalid, or written for another plugin API version, stops the
// server from starting: a PluginError naming the module, a non-zero exit from the command, and
// nothing started on the way: no port listening, no data folder (so no store file) written.

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "infra-manager-plugin-startup-"));
});
after(() => rm(dir, { recursive: true, force: true }));

const CORE_URL = pathToFileURL(join(PACKAGE_ROOT, "core/index.ts")).href;
const BUILTINS = defaultConfig().plugins;

/** The bad plugins, each with the words its error must contain. */
const CASES = [
  { name: "an invalid manifest", manifest: { name: "", kind: "provider", version: "1.0.0", apiVersion: PLUGIN_API_VERSION }, says: ["invalid manifest", "name must be a non-empty string"] },
  {
    name: "another plugin API version",
    manifest: { name: "Future", kind: "provider", version: "1.0.0", apiVersion: PLUGIN_API_VERSION + 1 },
    says: [`plugin API version ${PLUGIN_API_VERSION + 1}`, `implements version ${PLUGIN_API_VERSION}`],
  },
];

/** Writes the plugin module; it would register a provider if it were ever allowed to. */
async function pluginModule(file: string, manifest: Record<string, unknown>): Promise<string> {
  const path = join(dir, file);
  await writeFile(path, `import { definePlugin } from ${JSON.stringify(CORE_URL)};
export default definePlugin({ manifest: ${JSON.stringify(manifest)}, register(r) { r.provider(() => ({ type: ${JSON.stringify(manifest.name)}, capabilities: [] })); } });
`);
  return path;
}

/** A loopback port nothing listens on (the moment it is returned). */
async function freePort(): Promise<number> {
  const server = createServer().listen(0, "127.0.0.1");
  await new Promise((resolve) => server.once("listening", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function assertNothingStarted(port: number, dataDir: string): Promise<void> {
  const refused = await new Promise<string>((resolve) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => (socket.destroy(), resolve("connected")));
    socket.once("error", (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
  assert.equal(refused, "ECONNREFUSED", `nothing listens on port ${port}`);
  await assert.rejects(access(dataDir), { code: "ENOENT" }, "the data folder, and so any store file, was never written");
}

// At once: each spends its time starting Node and TypeScript.
describe("start-up with a bad plugin", { concurrency: true }, () => {
  for (const [index, { name, manifest, says }] of CASES.entries()) {
    test(`in-process start with ${name}: a PluginError naming the module, nothing started`, async () => {
      const module = await pluginModule(`in-process-${index}.mjs`, manifest);
      const dataDir = join(dir, `in-process-data-${index}`);
      const port = await freePort();
      const config = { ...defaultConfig(), port, dataDir, store: "lowdb", logLevel: "error", plugins: [...BUILTINS, { module }] };
      await assert.rejects(startServer(config), (error: unknown) => {
        assert.ok(error instanceof PluginError, `a PluginError, got ${String(error)}`);
        assert.equal(error.name, "PluginError");
        assert.equal(error.module, module);
        for (const words of says) assert.ok(error.message.includes(words), `'${error.message}' says '${words}'`);
        return true;
      });
      await assertNothingStarted(port, dataDir);
    });

    test(`infra-manager serve with ${name}: exit code 1 with the error, nothing started`, async () => {
      const module = await pluginModule(`serve-${index}.mjs`, manifest);
      const dataDir = join(dir, `serve-data-${index}`);
      const port = await freePort();
      const configFile = join(dir, `serve-${index}.json`);
      await writeFile(configFile, JSON.stringify({ listen: { host: "127.0.0.1", port }, dataDir, store: "lowdb", plugins: [...BUILTINS.map((p) => p.module), module] }));
      await assert.rejects(startServerProcess(configFile), (error: Error) => {
        assert.match(error.message, /server exited with 1 before listening/);
        assert.ok(error.message.includes(`infra-manager: Plugin ${module}: `), `the error names the module: ${error.message}`);
        for (const words of says) assert.ok(error.message.includes(words), `'${error.message}' says '${words}'`);
        return true;
      });
      await assertNothingStarted(port, dataDir);
    });
  }
});
