import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { LowSync, type SyncAdapter } from "lowdb";
import { CorruptRecordError, PLUGIN_API_VERSION, definePlugin, type Store, type StoredRecord } from "../../../core/index.ts";

// The embedded default store: lowdb with one file per infrastructure, since lowdb rewrites a
// whole file per write (one file for all would cost ~260 ms per write at 10k records).
//
// Files are read and written synchronously. A record is a few KiB, and one synchronous write
// (tens of µs in the page cache) costs less than a single trip through libuv's thread pool,
// where an asynchronous write takes four; it also means that no read in this process can fall
// between the steps of a write. A write goes to one temporary file, `.record.tmp`, then
// replaces `<id>.json` by unlinking it and renaming the temporary file. Both choices avoid
// costs of ext4: creating a file under a name the directory has not held before (every new
// infrastructure's own temporary name) took ~10x longer than reusing one, and renaming over an
// existing file makes it flush the new file's data first (auto_da_alloc). Between the unlink
// and the rename, and after a crash there, the complete new record is the temporary file, which
// `open` then puts in place.

export interface LowdbStoreOptions {
  /** Folder for the files; default `<dataDir>/infrastructures`. */
  directory?: string;
}

const SUFFIX = ".json";
const TEMPORARY = ".record.tmp";
const SAFE_ID = /^[A-Za-z0-9_.-]+$/;

/** lowdb's adapter for one record file, with the write sequence above. */
class RecordFile implements SyncAdapter<StoredRecord | null> {
  constructor(
    private readonly file: string,
    private readonly temporary: string,
  ) {}

  /** null when there is no file; a file that holds `null` is no record either, but a broken one. */
  read(): StoredRecord | null {
    const text = readIfExists(this.file);
    if (text === undefined) return null;
    const data = JSON.parse(text) as StoredRecord | null;
    if (data === null) throw new Error("the file holds null");
    return data;
  }

  write(data: StoredRecord | null): void {
    writeFileSync(this.temporary, JSON.stringify(data));
    try {
      unlinkSync(this.file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    }
    renameSync(this.temporary, this.file);
  }
}

function readIfExists(file: string): string | undefined {
  try {
    return readFileSync(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

export class LowdbStore implements Store {
  private readonly temporary: string;

  constructor(private readonly directory: string) {
    this.temporary = join(directory, TEMPORARY);
  }

  async open(): Promise<void> {
    mkdirSync(this.directory, { recursive: true });
    this.recover();
  }

  /** A write that stopped after its temporary file was complete is finished; any other is dropped. */
  private recover(): void {
    const text = readIfExists(this.temporary);
    if (text === undefined) return;
    let id: unknown;
    try {
      id = (JSON.parse(text) as StoredRecord).id;
    } catch {
      id = undefined; // cut short while it was written: the record file was not touched yet
    }
    if (typeof id === "string" && SAFE_ID.test(id) && readIfExists(this.path(id)) === undefined) renameSync(this.temporary, this.path(id));
    else rmSync(this.temporary, { force: true });
  }

  async list(): Promise<string[]> {
    return readdirSync(this.directory).filter((file) => file.endsWith(SUFFIX) && !file.startsWith(".")).map((file) => file.slice(0, -SUFFIX.length));
  }

  async get(id: string): Promise<StoredRecord | undefined> {
    const db = this.database(id);
    try {
      db.read();
    } catch (error) {
      throw new CorruptRecordError(id, (error as Error).message);
    }
    if (db.data === null) return undefined;
    if (typeof db.data !== "object" || db.data.id !== id) throw new CorruptRecordError(id, "not an infrastructure record");
    return db.data;
  }

  async put(record: StoredRecord): Promise<void> {
    const db = this.database(record.id);
    db.data = record;
    db.write();
  }

  async remove(id: string): Promise<void> {
    rmSync(this.path(id), { force: true });
  }

  async close(): Promise<void> {}

  private path(id: string): string {
    if (!SAFE_ID.test(id)) throw new Error(`Invalid infrastructure id for a file name: ${JSON.stringify(id)}`);
    return join(this.directory, id + SUFFIX);
  }

  private database(id: string): LowSync<StoredRecord | null> {
    return new LowSync(new RecordFile(this.path(id), this.temporary), null);
  }
}

export default definePlugin<LowdbStoreOptions>({
  manifest: { name: "lowdb", kind: "store", version: "1.0.0", apiVersion: PLUGIN_API_VERSION },
  register(registrar, options) {
    registrar.store(({ dataDir }) => new LowdbStore(options.directory ?? join(dataDir, "infrastructures")));
  },
});
