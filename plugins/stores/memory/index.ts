import { PLUGIN_API_VERSION, definePlugin, type Store, type StoredRecord } from "../../../core/index.ts";

/** Keeps records in memory only: for tests and throw-away servers. */
export class MemoryStore implements Store {
  private readonly records = new Map<string, string>();

  async open(): Promise<void> {}

  async list(): Promise<string[]> {
    return [...this.records.keys()];
  }

  async get(id: string): Promise<StoredRecord | undefined> {
    const text = this.records.get(id);
    return text === undefined ? undefined : (JSON.parse(text) as StoredRecord);
  }

  /** Stored as text, so that later changes to the caller's object do not leak in. */
  async put(record: StoredRecord): Promise<void> {
    this.records.set(record.id, JSON.stringify(record));
  }

  async remove(id: string): Promise<void> {
    this.records.delete(id);
  }

  async close(): Promise<void> {}
}

export default definePlugin({
  manifest: { name: "memory", kind: "store", version: "1.0.0", apiVersion: PLUGIN_API_VERSION },
  register(registrar) {
    registrar.store(() => new MemoryStore());
  },
});
