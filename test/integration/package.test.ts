import assert from "node:assert/strict";
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { after, before, test } from "node:test";
import { PACKAGE_ROOT } from "../../runtime/config.ts";
import { FakeCloud } from "../../examples/provider-template/test/fake-cloud.ts";
import { pollUntil, rpcClient } from "../fixtures/xmlrpc-client.ts";

// The package as npm publishes it, used the way a plugin author and an operator use it, outside
// this source tree: `npm pack`, a plugin scaffolded with `infra-manager plugin new` that installs
// the tarball and passes its own `npm test` (type check, unit tests, conformance kit), then a
// server started from the installed package's binary that deploys a VM with that plugin on its
// fake cloud. npm works from its local cache; everything listens on 127.0.0.1.

const PLUGIN_NAME = "acme-cloud";
const PLUGIN_TYPE = "AcmeCloud";

let work: string;
let pluginDir: string;
let tarball: string | undefined;
let installed = false;
let server: ChildProcess | undefined;
let cloud: FakeCloud | undefined;

// A `node --test` started from here would otherwise report to this test run instead of printing.
const { NODE_TEST_CONTEXT: _, ...childEnv } = process.env;

before(async () => {
  work = await mkdtemp(join(tmpdir(), "infra-manager-package-"));
  pluginDir = join(work, PLUGIN_NAME);
});

after(async () => {
  if (server && server.exitCode === null && server.signalCode === null) server.kill("SIGKILL");
  await cloud?.close();
  await rm(work, { recursive: true, force: true });
});

/** Runs a command to completion; its output is in the error when it fails. */
async function run(command: string, args: string[], cwd: string): Promise<string> {
  try {
    return (await promisify(execFile)(command, args, { cwd, env: childEnv, maxBuffer: 64 * 1024 * 1024 })).stdout;
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    throw new Error(`${command} ${args.join(" ")} failed in ${cwd}:\n${stdout}\n${stderr}`);
  }
}

// Only npm's cache: the test may not reach the registry (CI's `npm ci` fills the cache with every package it needs).
const NPM_OFFLINE = ["--offline", "--no-audit", "--no-fund"];

test("npm pack ships the sources, the declarations of the public entry points, the template and the docs, not the tests", { timeout: 60_000 }, async () => {
  const output = await run("npm", ["pack", "--json", "--pack-destination", work, ...NPM_OFFLINE], PACKAGE_ROOT);
  // The prepack build may print before the JSON.
  const [packed] = JSON.parse(output.slice(output.indexOf("[\n"))) as { filename: string; files: { path: string }[] }[];
  assert.ok(packed);
  tarball = join(work, packed.filename);
  const files = packed.files.map((file) => file.path);
  for (const file of [
    "runtime/cli/infra-manager.mjs", "runtime/workers/worker-boot.mjs", "core/index.ts", "runtime/testing/index.ts", "plugins/stores/lowdb/index.ts",
    "dist/core/index.d.ts", "dist/runtime/testing/index.d.ts", "examples/provider-template/src/provider.ts", "docs/plugins.md", "README.md",
  ]) {
    assert.ok(files.includes(file), `${file} is not in the package`);
  }
  assert.deepEqual(files.filter((file) => /^(test|\.ci|docs\/api)\/|node_modules/.test(file)), []);
});

test("a plugin made with `plugin new` installs the tarball and passes its own npm test, conformance kit included", { timeout: 120_000 }, async () => {
  assert.ok(tarball, "npm pack failed");
  await run(process.execPath, [join(PACKAGE_ROOT, "runtime/cli/infra-manager.mjs"), "plugin", "new", PLUGIN_NAME, "--dir", pluginDir], work);
  // The tarball stands in for the registry's infra-manager (the peer dependency); the rest comes from npm's cache.
  await run("npm", ["install", "--no-save", "--ignore-scripts", ...NPM_OFFLINE, tarball], pluginDir);
  installed = true;
  const output = await run("npm", ["test"], pluginDir);
  assert.match(output, /^# fail 0$/m);
  assert.match(output, /^ok \d+ - provider conformance: /m);
  assert.match(output, /^# pass [1-9]\d*$/m);

  // The installed package scaffolds too: the template travels inside it.
  const second = join(work, "second");
  await run(join(pluginDir, "node_modules/.bin/infra-manager"), ["plugin", "new", "second", "--dir", second], work);
  assert.match(await readFile(join(second, "src/provider.ts"), "utf8"), /export class SecondProvider implements CloudProvider/);
});

test("the installed server loads the plugin by path and deploys, observes and destroys a VM on its cloud over XML-RPC", { timeout: 60_000 }, async () => {
  assert.ok(installed, "the plugin could not be installed");
  cloud = await FakeCloud.start();
  const configFile = join(work, "server.json");
  await writeFile(configFile, JSON.stringify({
    listen: { host: "127.0.0.1", port: 0 },
    dataDir: join(work, "data"),
    store: "lowdb",
    plugins: [join(pluginDir, "src/index.ts"), "infra-manager/plugins/stores/lowdb"],
    log: { level: "warn" },
    workerThreads: 1,
    // Every read asks the cloud, so that the VM's boot shows at once.
    im: { VM_INFO_UPDATE_FREQUENCY: 0 },
  }));
  const started = await startInstalledServer(configFile);
  const auth = [
    { type: "InfrastructureManager", username: "packager", password: "pw" },
    { id: "acme", type: PLUGIN_TYPE, host: cloud.url, token: cloud.token },
  ];
  const rpc = rpcClient(started.url);
  const ok = async <T>(method: string, ...params: unknown[]): Promise<T> => {
    const [success, value] = await rpc.call<[boolean, T]>(method, ...params);
    assert.equal(success, true, `${method}: ${String(value)}\nserver log:\n${started.stderr()}`);
    return value;
  };

  const radl = `network public (outbound = 'yes')
system node (
  cpu.count = 2 and memory.size >= 1024m and
  net_interface.0.connection = 'public' and
  disk.0.image.url = '${PLUGIN_NAME}://ubuntu-24.04'
)
deploy node 1
contextualize ()`;
  const infId = await ok<string>("CreateInfrastructure", radl, auth);
  const [launched] = [...cloud.servers.values()];
  assert.equal(cloud.servers.size, 1);
  assert.deepEqual([launched?.image, launched?.cpus, launched?.memoryMb], ["ubuntu-24.04", 2, 1024]);

  const state = await pollUntil(() => ok<{ state: string; vm_states: Record<string, string> }>("GetInfrastructureState", infId, auth), (s) => s.state === "configured", 20_000, "the VM to be configured");
  assert.deepEqual(state.vm_states, { "0": "configured" });
  const vmInfo = await ok<string>("GetVMInfo", infId, "0", auth);
  assert.match(vmInfo, new RegExp(`provider\\.type = '${PLUGIN_TYPE}'`));
  assert.match(vmInfo, /net_interface\.0\.ip = '192\.0\.2\.\d+'/);

  await ok("DestroyInfrastructure", infId, auth);
  assert.equal(cloud.servers.size, 0);
  assert.equal(await started.stop(), 0);
});

/** `infra-manager serve` from the plugin's node_modules, as an operator starts it. */
async function startInstalledServer(configFile: string): Promise<{ url: string; stderr: () => string; stop: () => Promise<number | null> }> {
  const child = spawn(join(pluginDir, "node_modules/.bin/infra-manager"), ["serve", "--config", configFile], { cwd: pluginDir, env: childEnv, stdio: ["ignore", "pipe", "pipe"] });
  server = child;
  let stdout = "";
  let stderr = "";
  child.stderr.on("data", (chunk) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout.on("data", (chunk) => {
      stdout += chunk;
      const match = /listening on [^:]+:(\d+)/.exec(stdout);
      if (match) resolve(Number(match[1]));
    });
    void exited.then((code) => reject(new Error(`the installed server exited with ${code} before listening:\n${stderr}`)));
  });
  return {
    url: `http://127.0.0.1:${port}/RPC2`,
    stderr: () => stderr,
    stop: () => {
      child.kill("SIGTERM");
      return exited;
    },
  };
}
