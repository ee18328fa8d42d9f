// The lowdb store's files: one per record, replaced through one temporary file, and a write
// cut short at any step leaves either the old or the new record.
import assert from "node:assert/strict";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { CorruptRecordError } from "../../../core/index.ts";
import { LowdbStore } from "../../../plugins/stores/lowdb/index.ts";

const folders: string[] = [];
after(async () => {
  for (const folder of folders) await rm(folder, { recursive: true, force: true });
});

async function store(): Promise<{ store: LowdbStore; directory: string }> {
  const directory = await mkdtemp(join(tmpdir(), "infra-manager-lowdb-"));
  folders.push(directory);
  const opened = new LowdbStore(directory);
  await opened.open();
  return { store: opened, directory };
}

const record = (id: string, n = 0) => ({ id, schemaVersion: 1, n });

test("records are written whole, read back, listed, replaced and removed; no temporary file stays", async () => {
  const { store: s, directory } = await store();
  await s.put(record("a", 1));
  await s.put(record("b", 1));
  await s.put(record("a", 2));
  assert.deepEqual(await s.get("a"), record("a", 2));
  assert.deepEqual((await s.list()).sort(), ["a", "b"]);
  assert.equal(await s.get("missing"), undefined);
  await s.remove("b");
  assert.deepEqual(await s.list(), ["a"]);
  assert.deepEqual(await readdir(directory), ["a.json"]);
  assert.deepEqual(JSON.parse(await readFile(join(directory, "a.json"), "utf8")), record("a", 2));
});

test("a write stopped between the unlink and the rename is completed when the store opens", async () => {
  const { directory } = await store();
  await writeFile(join(directory, ".record.tmp"), JSON.stringify(record("a", 2)));
  const reopened = new LowdbStore(directory);
  await reopened.open();
  assert.deepEqual(await reopened.list(), ["a"]);
  assert.deepEqual(await reopened.get("a"), record("a", 2));
  assert.deepEqual(await readdir(directory), ["a.json"]);
});

test("a write stopped before the unlink keeps the old record; a half-written temporary file is dropped", async () => {
  const { store: s, directory } = await store();
  await s.put(record("a", 1));
  await writeFile(join(directory, ".record.tmp"), JSON.stringify(record("a", 2)));
  let reopened = new LowdbStore(directory);
  await reopened.open();
  assert.deepEqual(await reopened.get("a"), record("a", 1));
  await writeFile(join(directory, ".record.tmp"), JSON.stringify(record("b", 1)).slice(0, 10));
  reopened = new LowdbStore(directory);
  await reopened.open();
  assert.deepEqual(await reopened.list(), ["a"]);
  assert.deepEqual(await readdir(directory), ["a.json"]);
});

test("a record that cannot be read is a CorruptRecordError; ids that are not file names are refused", async () => {
  const { store: s, directory } = await store();
  await writeFile(join(directory, "bad.json"), "{ not json");
  await writeFile(join(directory, "other.json"), JSON.stringify(record("someone-else")));
  await assert.rejects(s.get("bad"), CorruptRecordError);
  await assert.rejects(s.get("other"), CorruptRecordError);
  await assert.rejects(s.put(record("../escape")), /Invalid infrastructure id/);
});
