import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CorruptRecordError, type Store, type StoredRecord } from "../../core/index.ts";
import { resolveStore, type LoadedPlugins, type PluginSpec } from "../plugins.ts";
import { CheckSkipped, ConformanceFailure, describeError, expect, requireHook, type ConformanceSuite, type Hook, type NotApplicable } from "./checks.ts";
import { loadAsServer, manifestChecks } from "./manifest-checks.ts";

// The conformance kit for Store plugins: every check opens the store as the server does, on a
// data folder of its own, and removes the folder afterwards.

/** Makes the stored record `id` unreadable, the way a crash or a disk fault would. */
export type CorruptRecord = (id: string, store: { dataDir: string }) => Promise<void> | void;

export interface StoreFixture {
  /** The plugin module, as a server config names it: an absolute path, a file: URL or a package name. */
  module: string;
  /** What a relative `module` is relative to (default: the current directory). */
  baseDir?: string;
  /** The plugin options, as a server config would give them. */
  options?: Record<string, unknown>;
  /** Ways to corrupt one record, by name; one check each. */
  corrupt?: Hook<Record<string, CorruptRecord>>;
  /** notApplicable(why) for a store that keeps nothing once closed; the restart check runs otherwise. */
  restart?: NotApplicable;
}

/** A realistic record: nested data, text that needs escaping, a few KiB; its length grows with `version`. */
function sampleRecord(id: string, version = 0): StoredRecord {
  return {
    id,
    schemaVersion: 1,
    version,
    deleted: false,
    owners: [{ username: "user", hash: "0".repeat(64) }],
    radl: `network public (outbound = 'yes')\nsystem front (\ncpu.count >= 1 and\nmemory.size >= 512m and\ndescription = 'ünïcødé \\' "quoted" ✓'\n)`,
    vms: Array.from({ length: 3 }, (_, imId) => ({ imId, providerId: `vm-${imId}`, info: "x".repeat(1000), errorMsg: null, lastUpdate: 1.5 })),
    contMsg: "line 1\nline 2\ttabbed\u0000nul",
    configured: null,
    // Versions of different lengths, so that two writes mixed in one file leave it broken.
    notes: "n".repeat(version * 101),
    actor: { value: { deployed: "idle" }, context: { batches: [1, 2, 3] } },
  };
}

const ids = (count: number, prefix = "rec") => Array.from({ length: count }, (_, i) => `${prefix}-${String(i).padStart(4, "0")}`);
const json = (value: unknown) => JSON.stringify(value);
/** A value as failure messages show it: JSON, cut short. */
const preview = (value: unknown) => (value instanceof Error ? describeError(value) : value === undefined ? "undefined" : json(value).slice(0, 200));

/** The store kit's checks for one plugin; register them with registerConformance(). */
export function storeConformance(fixture: StoreFixture): ConformanceSuite {
  const baseDir = fixture.baseDir ?? process.cwd();
  const spec: PluginSpec = { module: fixture.module, options: fixture.options ?? {} };
  let loading: Promise<{ loaded: LoadedPlugins; name: string }> | undefined;
  const folders: string[] = [];

  /** A store on a data folder of its own, opened; `dataDir` opens another instance on the same folder. */
  const open = async (dataDir?: string): Promise<{ store: Store; dataDir: string }> => {
    const { loaded, name } = await (loading ??= loadAsServer(spec, baseDir).then(({ loaded, manifest }) => ({ loaded, name: manifest.name })));
    if (!dataDir) folders.push((dataDir = await mkdtemp(join(tmpdir(), "infra-manager-store-conformance-"))));
    const store = resolveStore(loaded, name, { dataDir });
    await store.open();
    return { store, dataDir };
  };
  /** Runs `body` on a fresh store, closed afterwards. */
  const withStore = (body: (store: Store) => Promise<void>) => async () => {
    const { store } = await open();
    try {
      await body(store);
    } finally {
      await store.close();
    }
  };
  const corruptions = fixture.corrupt && !("notApplicable" in fixture.corrupt) ? Object.entries(fixture.corrupt as Record<string, CorruptRecord>) : [];

  return {
    name: `store conformance: ${fixture.module}`,
    checks: [
      ...manifestChecks(fixture.module, baseDir, "store"),
      { id: "store/crud", name: "put, get, list and remove", run: withStore(checkCrud) },
      { id: "store/copies", name: "a stored record does not change with the caller's object", run: withStore(checkCopies) },
      {
        id: "store/restart",
        name: "close and a new instance on the same folder: every record identical",
        run: async () => {
          if (fixture.restart) throw new CheckSkipped(`not applicable: ${fixture.restart.notApplicable}`);
          await checkRestart(open);
        },
      },
      { id: "store/concurrent-puts", name: "many puts at once, of different and the same ids: every record whole and readable", run: withStore(checkConcurrentPuts) },
      { id: "store/atomic-replace", name: "a reader during a replacement sees the old or the new record", run: withStore(checkAtomicReplace) },
      ...(corruptions.length
        ? corruptions.map(([way, corrupt]) => ({
            id: `store/corrupt-record/${way}`,
            name: `a corrupted record (${way}) is a CorruptRecordError and loses nothing else`,
            run: async () => checkCorruptRecord(open, corrupt, way, fixture.restart === undefined),
          }))
        : [{ id: "store/corrupt-record", name: "a corrupted record is a CorruptRecordError and loses nothing else", run: async () => void requireHook(fixture.corrupt, "corrupt", "what a corrupted record does") }]),
    ],
    close: async () => {
      await Promise.all(folders.map((folder) => rm(folder, { recursive: true, force: true })));
    },
  };
}

async function expectRecord(store: Store, id: string, expected: StoredRecord, when: string): Promise<void> {
  const found = await store.get(id).catch((error: unknown) => {
    throw new ConformanceFailure(`get('${id}') ${when} threw ${describeError(error)}`);
  });
  expect(json(found) === json(expected), () => `get('${id}') ${when} returned ${found === undefined ? "undefined" : "a different record"}: the store must give back exactly the record last put (JSON-equal), ${found === undefined ? "not lose it" : `not ${preview(found)}`}`);
}

async function expectIds(store: Store, expected: readonly string[], when: string): Promise<void> {
  const listed = [...(await store.list())].sort();
  expect(json(listed) === json([...expected].sort()), () => `list() ${when} returned ${json(listed)}, not ${json([...expected].sort())}: list the id of every record put and not removed`);
}

async function checkCrud(store: Store): Promise<void> {
  await expectIds(store, [], "on an empty folder");
  expect((await store.get("rec-missing")) === undefined, () => "get() of an id never put did not return undefined: return undefined for records that do not exist");
  const [a, b] = ids(2);
  await store.put(sampleRecord(a, 1));
  await store.put(sampleRecord(b, 1));
  await expectRecord(store, a, sampleRecord(a, 1), "after put");
  await expectIds(store, [a, b], "after two puts");
  await store.put(sampleRecord(a, 2));
  await expectRecord(store, a, sampleRecord(a, 2), "after a second put of the same id");
  await expectIds(store, [a, b], "after replacing a record");
  await store.remove(b);
  expect((await store.get(b)) === undefined, () => `get('${b}') after remove('${b}') still found it: remove() must delete the record`);
  await expectIds(store, [a], "after remove");
  await store.remove("rec-missing").catch((error: unknown) => {
    throw new ConformanceFailure(`remove() of an id never put threw ${describeError(error)}: removing a missing record must succeed`);
  });
}

async function checkCopies(store: Store): Promise<void> {
  const [id] = ids(1);
  const record = sampleRecord(id);
  await store.put(record);
  (record.vms as { providerId: string }[])[0].providerId = "changed after put";
  await expectRecord(store, id, sampleRecord(id), "after the caller changed its object");
  const read = (await store.get(id))!;
  read.version = 99;
  await expectRecord(store, id, sampleRecord(id), "after the caller changed a record it read");
}

async function checkRestart(open: (dataDir?: string) => Promise<{ store: Store; dataDir: string }>): Promise<void> {
  const { store, dataDir } = await open();
  const all = ids(20);
  for (const id of all) await store.put(sampleRecord(id, 1));
  await store.put(sampleRecord(all[0], 2));
  await store.remove(all[1]);
  await store.close();
  const { store: reopened } = await open(dataDir);
  try {
    await expectIds(reopened, all.filter((id) => id !== all[1]), "after a restart");
    await expectRecord(reopened, all[0], sampleRecord(all[0], 2), "after a restart");
    for (const id of all.slice(2)) await expectRecord(reopened, id, sampleRecord(id, 1), "after a restart");
  } finally {
    await reopened.close();
  }
}

async function checkConcurrentPuts(store: Store): Promise<void> {
  const distinct = ids(40, "one");
  const shared = ids(5, "many");
  const versions = 8;
  await Promise.all([
    ...distinct.map((id) => store.put(sampleRecord(id))),
    // Longest first: a later, shorter write that does not replace the whole file leaves garbage.
    ...shared.flatMap((id) => Array.from({ length: versions }, (_, i) => store.put(sampleRecord(id, versions - 1 - i)))),
  ]);
  await expectIds(store, [...distinct, ...shared], "after concurrent puts");
  for (const id of distinct) await expectRecord(store, id, sampleRecord(id), "after concurrent puts");
  for (const id of shared) {
    const found = await store.get(id);
    const version = typeof found?.version === "number" ? found.version : -1;
    expect(version >= 0 && version < versions && json(found) === json(sampleRecord(id, version)), () =>
      `get('${id}') after ${versions} concurrent puts of it returned ${preview(found)}, none of the records put: each put must replace the whole record, never mix two`);
  }
}

async function checkAtomicReplace(store: Store): Promise<void> {
  const [id] = ids(1);
  const versions = 50;
  await store.put(sampleRecord(id, 0));
  const seen: unknown[] = [];
  const puts: Promise<void>[] = [];
  let writing = true;
  const reader = (async () => {
    while (writing) {
      seen.push(await store.get(id).catch((error: unknown) => error));
      await new Promise((resolve) => setImmediate(resolve));
    }
  })();
  for (let version = 1; version <= versions; version++) puts.push(store.put(sampleRecord(id, version)));
  await Promise.all(puts);
  writing = false;
  await reader;
  for (const found of seen) {
    const version = (found as StoredRecord | undefined)?.version;
    expect(typeof version === "number" && json(found) === json(sampleRecord(id, version)), () =>
      `get('${id}') while puts replaced it returned ${preview(found)}: a reader must see the old record or the new one (write a temporary file and rename it over the record, say)`);
  }
}

async function checkCorruptRecord(open: (dataDir?: string) => Promise<{ store: Store; dataDir: string }>, corrupt: CorruptRecord, way: string, persistent: boolean): Promise<void> {
  const { store, dataDir } = await open();
  const [a, b, c] = ids(3);
  let current = store;
  try {
    for (const id of [a, b, c]) await store.put(sampleRecord(id));
    await corrupt(b, { dataDir });
    const whenCorrupt = async (s: Store, when: string) => {
      const error = await s.get(b).then(() => undefined, (thrown: unknown) => thrown);
      expect(error instanceof CorruptRecordError && error.id === b, () =>
        `get('${b}') of a record corrupted by ${way}${when} ${error === undefined ? "did not throw" : `threw ${describeError(error)}`}: throw new CorruptRecordError('${b}', reason) (from "infra-manager/core") so that the server reports it and keeps serving the others`);
      for (const id of [a, c]) await expectRecord(s, id, sampleRecord(id), `with '${b}' corrupted${when}`);
      const listed = await s.list();
      expect(listed.includes(a) && listed.includes(c), () => `list()${when}, with '${b}' corrupted, returned ${json(listed)}: the other records must stay listed`);
    };
    await whenCorrupt(store, "");
    if (persistent) {
      await store.close();
      current = (await open(dataDir).catch((error: unknown) => {
        throw new ConformanceFailure(`open() of a folder holding a record corrupted by ${way} threw ${describeError(error)}: open must succeed and leave the corrupt record to get()`);
      })).store;
      await whenCorrupt(current, " after a restart");
    }
    await current.put(sampleRecord(b, 1));
    await expectRecord(current, b, sampleRecord(b, 1), "once a new record replaced the corrupted one");
  } finally {
    await current.close();
  }
}

/** Where the lowdb store keeps a record: `<dataDir>/infrastructures/<id>.json` unless its options say otherwise. */
export type RecordFile = (id: string, dataDir: string) => string;

const lowdbRecordFile: RecordFile = (id, dataDir) => join(dataDir, "infrastructures", `${id}.json`);

/** The ways a file-per-record store's file breaks: the built-in corruptions of the lowdb store. */
export function fileCorruptions(recordFile: RecordFile = lowdbRecordFile): Record<string, CorruptRecord> {
  return {
    "a write cut short": async (id, { dataDir }) => {
      const file = recordFile(id, dataDir);
      const text = await readFile(file, "utf8");
      await writeFile(file, text.slice(0, Math.floor(text.length / 2)));
    },
    "an empty file after a crash": (id, { dataDir }) => writeFile(recordFile(id, dataDir), ""),
    "bytes that are not JSON": (id, { dataDir }) => writeFile(recordFile(id, dataDir), Buffer.from([0xff, 0xfe, 0x00, 0x7b, 0x80])),
    "another record's content": (id, { dataDir }) => writeFile(recordFile(id, dataDir), JSON.stringify(sampleRecord(`${id}-elsewhere`))),
    "JSON that is no record": (id, { dataDir }) => writeFile(recordFile(id, dataDir), "null"),
  };
}
