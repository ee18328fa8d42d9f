import { createHash } from "node:crypto";
import { readdir, rm } from "node:fs/promises";
import { join } from "node:path";

// Each infrastructure's contextualization cache folder (PlaybookTask.cacheDir): under the data
// directory, emptied when a contextualization starts (what it caches is that run's, as the
// reference gathers facts afresh in every contextualization), and removed with the infrastructure.

const READABLE_ID = /^[A-Za-z0-9_-][A-Za-z0-9_.-]*$/;

/**
 * The folder of an infrastructure. An id that is no safe file name (an imported one) goes by its
 * hash, under a leading dot that no readable id has.
 */
export function contextCacheDir(root: string, infrastructureId: string): string {
  const name = READABLE_ID.test(infrastructureId) ? infrastructureId : `.sha256-${createHash("sha256").update(infrastructureId).digest("hex").slice(0, 32)}`;
  return join(root, name);
}

export function removeContextCache(root: string, infrastructureId: string): Promise<void> {
  return rm(contextCacheDir(root, infrastructureId), { recursive: true, force: true });
}

/**
 * Removes the folders of infrastructures the store no longer holds (one destroyed while the
 * server was down, say); `keep` is every other id the store lists. A folder that cannot be
 * removed is reported to `failed` and left.
 */
export async function sweepContextCaches(root: string, keep: Iterable<string>, failed: (dir: string, error: Error) => void): Promise<void> {
  const kept = new Set([...keep].map((id) => contextCacheDir(root, id)));
  for (const name of await readdir(root).catch(() => [])) {
    const dir = join(root, name);
    if (!kept.has(dir)) await rm(dir, { recursive: true, force: true }).catch((error: Error) => failed(dir, error));
  }
}
