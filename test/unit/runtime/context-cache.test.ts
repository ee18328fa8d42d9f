import assert from "node:assert/strict";
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { contextCacheDir, removeContextCache, sweepContextCaches } from "../../../runtime/service/context-cache.ts";

// The infrastructures' contextualization cache folders (runtime/service/context-cache.ts).

let root: string;
before(async () => {
  root = await mkdtemp(join(tmpdir(), "infra-manager-context-cache-"));
});
after(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

test("an infrastructure's folder is named by its id, or by a hash of an id that is no safe file name, under a dot no id has", () => {
  assert.equal(contextCacheDir("/data/contextualization", "7f1c6a10-ea61-11f1-8d84-2b9f9a13bfdd"), "/data/contextualization/7f1c6a10-ea61-11f1-8d84-2b9f9a13bfdd");
  for (const id of ["..", ".", "../../etc", "a/b", ".hidden", "", "x\u0000y"]) {
    const dir = contextCacheDir("/data/contextualization", id);
    assert.match(dir, /^\/data\/contextualization\/\.sha256-[0-9a-f]{32}$/, `${JSON.stringify(id)} gave ${dir}`);
  }
  assert.notEqual(contextCacheDir("/r", "a/b"), contextCacheDir("/r", "a/c"));
});

test("removing one folder leaves the others; a sweep keeps the folders of the ids it is given", async () => {
  for (const id of ["live-1", "live/2", "gone-1", "gone/2"]) {
    await mkdir(join(contextCacheDir(root, id), "ansible-facts"), { recursive: true });
    await writeFile(join(contextCacheDir(root, id), "ansible-facts", "host"), "{}");
  }
  const name = (id: string) => contextCacheDir(root, id).slice(root.length + 1);
  await removeContextCache(root, "gone-1");
  assert.deepEqual((await readdir(root)).sort(), [name("gone/2"), name("live-1"), name("live/2")].sort());
  const failures: string[] = [];
  await sweepContextCaches(root, ["live-1", "live/2"], (dir) => failures.push(dir));
  assert.deepEqual((await readdir(root)).sort(), [name("live-1"), name("live/2")].sort());
  await removeContextCache(root, "never-had-one");
  await sweepContextCaches(join(root, "missing"), [], (dir) => failures.push(dir));
  assert.deepEqual(failures, []);
});
