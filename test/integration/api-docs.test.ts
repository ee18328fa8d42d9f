import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { test } from "node:test";
import { PACKAGE_ROOT } from "../../runtime/config.ts";

// `npm run docs:api` (typedoc over infra-manager/core and infra-manager/testing) works and
// documents the plugin contracts. It writes to a temporary folder here, not to docs/api.

test("npm run docs:api generates the HTML reference of the plugin API", { timeout: 60_000 }, async (t) => {
  const out = await mkdtemp(join(tmpdir(), "infra-manager-api-docs-"));
  t.after(() => rm(out, { recursive: true, force: true }));
  await promisify(execFile)("npm", ["run", "--silent", "docs:api", "--", "--out", out], { cwd: PACKAGE_ROOT }).catch((error: { stdout?: string; stderr?: string }) => {
    throw new Error(`npm run docs:api failed:\n${error.stdout}\n${error.stderr}`);
  });
  assert.match(await readFile(join(out, "index.html"), "utf8"), /infra-manager plugin API/);
  const cloudProvider = await readFile(join(out, "interfaces/core.CloudProvider.html"), "utf8");
  for (const member of ["concreteSystem", "launch", "observe", "finalize", "capabilities"]) assert.match(cloudProvider, new RegExp(member));
  assert.ok((await readdir(join(out, "functions"))).some((file) => file.includes("providerConformance")), "the conformance kit is not documented");
});
