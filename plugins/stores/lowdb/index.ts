import { mkdir, readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { Low } from "lowdb";
import { DataFile } from "lowdb/node";
import { CorruptRecordError, PLUGIN_API_VERSION, definePlugin, type Store, type StoredRecord } from "../../../core/index.ts";

// The embedded default store: lowdb with one file per infrastructure, since lowdb rewrites a
// whole file per write (one file for all would cost ~260 ms per write at 10k records). Writes
// to one file are chained, because two lowdb writers on one file corrupt it.

export interface LowdbStoreOptions {
  /** Folder for the files; default `<dataDir>/infrastructures`. */
  directory?: string;
}

const SUFFIX = ".json";
const SAFE_ID = /^[A-Za-z0-9_.-]+$/;

export class LowdbStore implements Store {
  private readonly writes = new Map<string, Promise<void>>();

  constructor(private readonly directory: string) {}

  async open(): Promise<void> {
    await mkdir(this.directory, { recursive: true });
  }

  async list(): Promise<string[]> {
    const files = await readdir(this.directory);
    return files.filter((file) => file.endsWith(SUFFIX) && !file.startsWith(".")).map((file) => file.slice(0, -SUFFIX.length));
  }

  async get(id: string): Promise<StoredRecord | undefined> {
    await this.writes.get(id);
    const db = this.database(id);
    try {
      await db.read();
    } catch (error) {
      throw new CorruptRecordError(id, (error as Error).message);
    }
    if (db.data === null) return undefined;
    if (typeof db.data !== "object" || db.data.id !== id) throw new CorruptRecordError(id, "not an infrastructure record");
    return db.data;
  }

  put(record: StoredRecord): Promise<void> {
    return this.chain(record.id, async () => {
      const db = this.database(record.id);
      db.data = record;
      await db.write();
    });
  }

  remove(id: string): Promise<void> {
    return this.chain(id, () => rm(this.path(id), { force: true }));
  }

  async close(): Promise<void> {
    await Promise.all(this.writes.values());
  }

  private chain(id: string, write: () => Promise<void>): Promise<void> {
    const previous = this.writes.get(id) ?? Promise.resolve();
    const next = previous.then(write, write);
    this.writes.set(id, next);
    const forget = () => {
      if (this.writes.get(id) === next) this.writes.delete(id);
    };
    next.then(forget, forget);
    return next;
  }

  private path(id: string): string {
    if (!SAFE_ID.test(id)) throw new Error(`Invalid infrastructure id for a file name: ${JSON.stringify(id)}`);
    return join(this.directory, id + SUFFIX);
  }

  private database(id: string): Low<StoredRecord | null> {
    return new Low(new DataFile<StoredRecord | null>(this.path(id), { parse: JSON.parse, stringify: (data) => JSON.stringify(data) }), null);
  }
}

export default definePlugin<LowdbStoreOptions>({
  manifest: { name: "lowdb", kind: "store", version: "1.0.0", apiVersion: PLUGIN_API_VERSION },
  register(registrar, options) {
    registrar.store(({ dataDir }) => new LowdbStore(options.directory ?? join(dataDir, "infrastructures")));
  },
});
