import { createHash } from "node:crypto";
import { readdir, rm } from "node:fs/promises";
import { join } from "node:path";

// Each infrastructure's contextualization cache folder (PlaybookTask.cacheDir): under the data
// directory, so that it lives as long as the infrastructure, and removed with it.

const READABLE_ID = /^[A-Za-z0-9_-][A-Za-z0-9_.-]*$/;

/** The folder of an infrastructure; an id that is no safe file name (an imported one) goes by its hash. */
export function contextCacheDir(root: string, infrastructureId: string): string {
  const name = READABLE_ID.test(infrastructureId) ? infrastructureId : `id-${createHash("sha256").update(infrastructureId).digest("hex").slice(0, 32)}`;
  return join(root, name);
}

export function removeContextCache(root: string, infrastructureId: string): Promise<void> {
  return rm(contextCacheDir(root, infrastructureId), { recursive: true, force: true });
}

/** Removes the folders of infrastructures that are gone (one destroyed while the server was down, say). */
export async function sweepContextCaches(root: string, liveIds: Iterable<string>): Promise<void> {
  const live = new Set([...liveIds].map((id) => contextCacheDir(root, id)));
  for (const name of await readdir(root).catch(() => [])) {
    const dir = join(root, name);
    if (!live.has(dir)) await rm(dir, { recursive: true, force: true });
  }
}
