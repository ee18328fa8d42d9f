import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { promisify } from "node:util";
import { PACKAGE_ROOT, loadConfig } from "../../runtime/config.ts";
import { startTestServer, type TestServer } from "../fixtures/server.ts";

// The examples an operator starts from must work as written.

let server: TestServer;
before(async () => {
  server = await startTestServer();
});
after(() => server.close());

test("examples/client.py creates the example infrastructure, sees it configured and destroys it", { timeout: 60_000 }, async () => {
  const { stdout } = await promisify(execFile)("python3", [join(PACKAGE_ROOT, "examples/client.py"), server.url]);
  assert.match(stdout, /created infrastructure [0-9a-f-]{36}/);
  assert.match(stdout, /state: configured \{'0': 'configured'\}/);
  assert.match(stdout, /VM 0 ip: 10\.0\.0\.1/);
  assert.match(stdout, /destroyed/);
});

test("examples/server-config.json is a valid configuration", async () => {
  const config = await loadConfig(join(PACKAGE_ROOT, "examples/server-config.json"), {});
  assert.equal(config.port, 8899);
  assert.equal(config.dataDir, join(PACKAGE_ROOT, "data"));
  assert.equal(config.im.MAX_SIMULTANEOUS_LAUNCHES, 5);
});

test("the example RADL documents pass infra-manager radl check", async () => {
  const documents = ["examples/simple.radl", "examples/deployed-node.radl"].map((path) => join(PACKAGE_ROOT, path));
  const { stdout } = await promisify(execFile)(process.execPath, [join(PACKAGE_ROOT, "runtime/cli/infra-manager.mjs"), "radl", "check", ...documents]);
  assert.equal(stdout, "");
});
