// The contract of a store plugin: where infrastructures persist. Records are plain JSON,
// written whole; only the main thread writes.

export interface StoredRecord {
  id: string;
  /** The version of the record's layout, so that stores never need to understand it. */
  schemaVersion: number;
  [key: string]: unknown;
}

export interface Store {
  open(): Promise<void>;
  /** The ids of every record, deleted infrastructures included. */
  list(): Promise<string[]>;
  get(id: string): Promise<StoredRecord | undefined>;
  /** Replaces the whole record atomically: a reader sees the old or the new one. */
  put(record: StoredRecord): Promise<void>;
  remove(id: string): Promise<void>;
  close(): Promise<void>;
}

/** A record that cannot be read back; other records are not affected. */
export class CorruptRecordError extends Error {
  constructor(
    readonly id: string,
    reason: string,
  ) {
    super(`Stored infrastructure ${id} cannot be read: ${reason}`);
    this.name = "CorruptRecordError";
  }
}
