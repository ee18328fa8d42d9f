import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { join } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import { main } from "../../../runtime/cli/main.ts";
import type { CommandIo } from "../../../runtime/cli/io.ts";
import { CORPUS_DIR } from "../../fixtures/corpus.ts";
import { GOLDEN_RADL } from "../../fixtures/golden.ts";

/** Runs the command in-process with the given files (`-` is standard input). */
async function run(argv: string[], files: Record<string, string> = {}) {
  let stdout = "";
  let stderr = "";
  const io: CommandIo = {
    stdout: (text) => void (stdout += text),
    stderr: (text) => void (stderr += text),
    readInput: async (path) => {
      if (path in files) return files[path];
      throw Object.assign(new Error(`ENOENT: no such file or directory, open '${path}'`), { code: "ENOENT" });
    },
  };
  const code = await main(argv, io);
  return { code, stdout, stderr };
}

test("parse prints one JSON object describing the document", async () => {
  const { code, stdout } = await run(["radl", "parse", "doc.radl"], { "doc.radl": GOLDEN_RADL.RADL });
  assert.equal(code, 0);
  assert.equal(stdout.trim().split("\n").length, 1);
  const parsed = JSON.parse(stdout);
  assert.equal(parsed.ok, true);
  assert.deepEqual(parsed.networks[0], {
    id: "publica", reference: false, public: true, features: { outbound: [{ op: "=", type: "string", value: "yes" }] }, outports: null,
  });
  const front = parsed.systems[0];
  assert.deepEqual(front.features["memory.size"], [{ op: ">=", type: "int", value: 512, unit: "m", base: 512000000 }]);
  assert.deepEqual(front.softs, []);
  assert.deepEqual(front.concrete, { score: 0, features: front.features });
  assert.deepEqual(parsed.deploys, [{ system: "front", vm_number: 1, cloud: null }]);
  assert.equal(parsed.contextualize, null);
  assert.match(parsed.text, /^network publica \( outbound = 'yes' \)\nsystem front \(\n/);
});

test("parse describes intervals, lists, contains, softs, outports and contextualize", async () => {
  const doc = `network n (outbound = 'yes' and outports = '8080,9000:9100/udp')
system s (
  cpu.count >= 1 and cpu.count <= 4 and memory.size = 2Gi and
  disk.0.image.url = ['one://a', 'ost://b'] and
  disk.0.applications contains (name = 'app' and version = '1.0') and
  soft 10 (cpu.count >= 2) and
  net_interface.0.connection = 'n'
)
configure s (
@begin
- tasks: []
@end
)
contextualize 30 (option ansible_version = '2.9.0' system s configure s step 2 with Ansible)
deploy s 2 mycloud`;
  const { code, stdout } = await run(["radl", "parse", "-"], { "-": doc });
  assert.equal(code, 0);
  const parsed = JSON.parse(stdout);
  const [system] = parsed.systems;
  assert.deepEqual(system.features["cpu.count"].map((c: { op: string }) => c.op), [">=", "<="]);
  assert.deepEqual(system.features["memory.size"], [{ op: "=", type: "int", value: 2, unit: "Gi", base: 2147483648 }]);
  assert.deepEqual(system.features["disk.0.image.url"], [{ op: "=", type: "list", value: ["one://a", "ost://b"] }]);
  assert.deepEqual(system.features["disk.0.applications"][0].value.version, [{ op: "=", type: "string", value: "1.0" }]);
  assert.deepEqual(system.softs, [{ weight: 10, features: { "cpu.count": [{ op: ">=", type: "int", value: 2, unit: "", base: 2 }] } }]);
  assert.equal(system.concrete.score, 10);
  assert.deepEqual(system.concrete.features["cpu.count"].map((c: { value: number }) => c.value), [2, 4]);
  assert.deepEqual(parsed.networks[0].outports, [
    { remote_cidr: "0.0.0.0/0", remote_port: 8080, local_port: 8080, protocol: "tcp", range: false },
    { remote_cidr: "0.0.0.0/0", remote_port: 9000, local_port: 9100, protocol: "udp", range: true },
  ]);
  assert.deepEqual(parsed.configures, [{ id: "s", reference: false, recipes: "\n- tasks: []\n" }]);
  assert.deepEqual(parsed.deploys, [{ system: "s", vm_number: 2, cloud: "mycloud" }]);
  assert.deepEqual(parsed.contextualize, {
    max_time: 30,
    options: { ansible_version: { op: "=", type: "string", value: "2.9.0" } },
    items: [{ system: "s", configure: "s", step: 2, ctxt_tool: "Ansible" }],
  });
});

test("parse reports errors as JSON with the line, and exits 1", async () => {
  const { code, stdout } = await run(["radl", "parse", "bad.radl"], { "bad.radl": GOLDEN_RADL.RADL_INVALID });
  assert.equal(code, 1);
  assert.deepEqual(JSON.parse(stdout), { ok: false, error: "Line 1: Parse error in: LexToken(RPAREN,')',1,27)", line: 1 });
  const json = await run(["radl", "parse", "--format", "json", "bad.json"], { "bad.json": '[{"class": "deploy", "system": "x", "vm_number": 1}]' });
  assert.equal(json.code, 1);
  assert.deepEqual(JSON.parse(json.stdout), { ok: false, error: "Invalid system id in the deploy.", line: null });
});

test("parse --no-check describes a document that fails check", async () => {
  const { code, stdout } = await run(["radl", "parse", "--no-check", "d"], { d: "deploy ghost 1" });
  assert.equal(code, 0);
  assert.deepEqual(JSON.parse(stdout).deploys, [{ system: "ghost", vm_number: 1, cloud: null }]);
});

test("fmt prints the canonical text; its output formats to itself", async () => {
  const first = await run(["radl", "fmt", "a"], { a: GOLDEN_RADL.RADL });
  assert.equal(first.code, 0);
  assert.equal(first.stdout, "network publica ( outbound = 'yes' )\nsystem front (\ncpu.count >= 1 and\nmemory.size >= 512m and\nnet_interface.0.connection = 'publica' and\ndisk.0.os.name = 'linux' and\ndisk.0.image.url = 'mock0://linux.for.ev.er/image'\n)\n\n\ndeploy front 1\n");
  const second = await run(["radl", "fmt", "b"], { b: first.stdout });
  assert.equal(second.stdout, first.stdout);
});

test("fmt of a broken document prints FILE:LINE: message to stderr", async () => {
  const { code, stdout, stderr } = await run(["radl", "fmt", "x.radl"], { "x.radl": "system a (\ncpu.count = 1 and\ncpu.count = 2)" });
  assert.equal(code, 1);
  assert.equal(stdout, "");
  assert.equal(stderr, "x.radl:3: Disjoint intervals!. Involved features: ['cpu.count = 1', 'cpu.count = 1']\n");
});

test("check prints FILE:LINE: message per failing document and exits 1 if any", async () => {
  const files = { "good.radl": GOLDEN_RADL.RADL, "bad.radl": "network n ()\nsystem s (net_interface.0.connection = 'm')", "bad.json": "[{]" };
  const { code, stdout } = await run(["radl", "check", "good.radl", "bad.radl", "bad.json", "missing.radl"], files);
  assert.equal(code, 1);
  const lines = stdout.trim().split("\n");
  assert.equal(lines[0], "bad.radl:2: Invalid value in property 'net_interface.0.connection'");
  assert.match(lines[1], /^bad\.json: Error parsing JSON: /);
  assert.match(lines[2], /^missing\.radl: cannot read: ENOENT/);
  assert.equal(lines.length, 3);
  assert.equal((await run(["radl", "check", "good.radl"], files)).code, 0);
});

test("usage mistakes exit 2 with the usage text", async () => {
  for (const argv of [["radl", "parse"], ["radl", "frobnicate"], ["nope"], ["radl", "parse", "--format", "xml", "f"], ["radl", "parse", "--bogus", "f"]]) {
    const { code, stderr } = await run(argv, { f: "" });
    assert.equal(code, 2, argv.join(" "));
    assert.match(stderr, /Usage: infra-manager/);
  }
});

test("the installed command runs the real binary on corpus files", async () => {
  const bin = join(import.meta.dirname, "../../../runtime/cli/infra-manager.mjs");
  const file = join(CORPUS_DIR, "examples__hadoop.radl");
  const { stdout } = await promisify(execFile)(process.execPath, [bin, "radl", "check", file]);
  assert.equal(stdout, "");
  await assert.rejects(promisify(execFile)(process.execPath, [bin, "radl", "check", join(CORPUS_DIR, "examples__oscar.radl")]), (error: { code: number; stdout: string }) => {
    assert.equal(error.code, 1);
    assert.match(error.stdout, /examples__oscar\.radl:23: Invalid system id in the deploy\.\n$/);
    return true;
  });
});
