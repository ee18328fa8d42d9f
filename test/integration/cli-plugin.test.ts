import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { promisify } from "node:util";
import { after, before, test } from "node:test";
import { pluginNames } from "../../runtime/cli/plugin-command.ts";
import { main } from "../../runtime/cli/main.ts";
import { PACKAGE_ROOT } from "../../runtime/config.ts";

// `infra-manager plugin new`: the template copied with every spelling of its cloud's name
// replaced. That the copy type-checks and passes its tests is test/integration/package.test.ts.

const TEMPLATE = join(PACKAGE_ROOT, "examples/provider-template");
let dir: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "infra-manager-plugin-new-"));
});

after(() => rm(dir, { recursive: true, force: true }));

async function run(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const code = await main(argv, { stdout: (text) => void (stdout += text), stderr: (text) => void (stderr += text), readInput: () => Promise.reject(new Error("no input")) });
  return { code, stdout, stderr };
}

/** Every file under `root`, relative to it, sorted. */
async function files(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => relative(root, join(e.parentPath, e.name))).filter((path) => !/(^|\/)(node_modules|package-lock\.json)/.test(path)).sort();
}

test("pluginNames: kebab-case NAME gives the package name, the auth type and the constant prefix", () => {
  assert.deepEqual(pluginNames("acme-cloud"), { kebab: "acme-cloud", pascal: "AcmeCloud", constant: "ACME_CLOUD", packageName: "infra-manager-provider-acme-cloud" });
  assert.deepEqual(pluginNames("s3"), { kebab: "s3", pascal: "S3", constant: "S3", packageName: "infra-manager-provider-s3" });
});

test("plugin new copies the template with the package, auth type, classes, constants and image scheme renamed", async () => {
  const target = join(dir, "acme");
  const { code, stdout, stderr } = await run(["plugin", "new", "acme-cloud", "--dir", target]);
  assert.equal(code, 0, stderr);
  assert.match(stdout, /^Created infra-manager-provider-acme-cloud in .*acme \(\d+ files\): the provider of IM auth type AcmeCloud\.\n/);
  assert.match(stdout, /npm install.*\n.*npm test/);
  assert.deepEqual(await files(target), await files(TEMPLATE));

  const manifest = JSON.parse(await readFile(join(target, "package.json"), "utf8"));
  assert.equal(manifest.name, "infra-manager-provider-acme-cloud");
  assert.deepEqual(manifest.peerDependencies, { "infra-manager": "^0.1.0" });
  const provider = await readFile(join(target, "src/provider.ts"), "utf8");
  assert.match(provider, /export const ACME_CLOUD_TYPE = "AcmeCloud";/);
  assert.match(provider, /export class AcmeCloudProvider implements CloudProvider/);
  assert.match(provider, /export const ACME_CLOUD_STATE_MAP/);
  assert.match(provider, /const IMAGE_SCHEME = "acme-cloud:\/\/";/);
  assert.match(await readFile(join(target, "test/conformance.test.ts"), "utf8"), /type: "AcmeCloud"/);
  for (const file of await files(target)) {
    assert.doesNotMatch(await readFile(join(target, file), "utf8"), /example/i, `${file} still names the template's cloud`);
  }
});

test("plugin new writes into ./infra-manager-provider-NAME by default, and into an existing empty folder", async () => {
  const cwd = join(dir, "default");
  await mkdir(cwd);
  const { stdout } = await promisify(execFile)(process.execPath, [join(PACKAGE_ROOT, "runtime/cli/infra-manager.mjs"), "plugin", "new", "s3"], { cwd });
  assert.match(stdout, /^Created infra-manager-provider-s3 in infra-manager-provider-s3 /);
  assert.equal(JSON.parse(await readFile(join(cwd, "infra-manager-provider-s3/package.json"), "utf8")).name, "infra-manager-provider-s3");

  const empty = join(dir, "empty");
  await mkdir(empty);
  assert.equal((await run(["plugin", "new", "tiny", "--dir", empty])).code, 0);
});

test("plugin new refuses a folder that is not empty, and a file, and writes nothing there", async () => {
  const taken = join(dir, "taken");
  await mkdir(taken);
  await writeFile(join(taken, "notes.txt"), "mine");
  const refused = await run(["plugin", "new", "acme-cloud", "--dir", taken]);
  assert.equal(refused.code, 1);
  assert.equal(refused.stderr, `infra-manager plugin new: ${taken} exists and is not empty; choose another folder with --dir\n`);
  assert.deepEqual(await readdir(taken), ["notes.txt"]);

  const file = join(dir, "a-file");
  await writeFile(file, "");
  const notFolder = await run(["plugin", "new", "acme-cloud", "--dir", file]);
  assert.equal(notFolder.code, 1);
  assert.match(notFolder.stderr, /a-file exists and is not a folder; choose another folder with --dir\n$/);
});

test("plugin new refuses names that are not kebab-case, and malformed command lines, as usage mistakes", async () => {
  for (const name of ["Acme", "acme_cloud", "acme--cloud", "acme-", "1cloud", "acme cloud", ""]) {
    const { code, stderr } = await run(["plugin", "new", name, "--dir", join(dir, "never")]);
    assert.equal(code, 2, name);
    assert.match(stderr, new RegExp(`^infra-manager: invalid plugin name '${name}': use lower-case letters and digits, words joined by single hyphens, starting with a letter \\(for instance acme-cloud\\)`), name);
  }
  assert.equal((await run(["plugin", "new", "-acme", "--dir", join(dir, "never")])).code, 2);
  await assert.rejects(readdir(join(dir, "never")), { code: "ENOENT" });
  assert.match((await run(["plugin", "new"])).stderr, /^infra-manager: plugin new takes exactly one NAME/);
  assert.match((await run(["plugin", "new", "a", "b"])).stderr, /^infra-manager: plugin new takes exactly one NAME/);
  assert.match((await run(["plugin", "create", "a"])).stderr, /^infra-manager: unknown plugin subcommand 'create'/);
  const help = await run(["plugin", "--help"]);
  assert.deepEqual([help.code, help.stdout.startsWith("  infra-manager plugin new NAME [--dir DIR]")], [0, true]);
});
