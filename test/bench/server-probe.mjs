// Preloaded (`--import`) into the server process by the server benchmark, never by operators:
// on SIGUSR2 it runs a full garbage collection (the process runs with --expose-gc) and prints
// one `bench-probe {json}` line on standard output with the memory figures.
import { readFileSync } from "node:fs";
import { isMainThread } from "node:worker_threads";

if (isMainThread) {
  process.on("SIGUSR2", () => {
    // Two passes: the first can leave finalizer-held garbage for the second.
    globalThis.gc?.();
    globalThis.gc?.();
    const usage = process.memoryUsage();
    const status = readFileSync("/proc/self/status", "utf8");
    const rssKiB = Number(/^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1] ?? Math.round(usage.rss / 1024));
    process.stdout.write(`bench-probe ${JSON.stringify({ rssKiB, heapUsed: usage.heapUsed, heapTotal: usage.heapTotal, external: usage.external, arrayBuffers: usage.arrayBuffers })}\n`);
  });
}
