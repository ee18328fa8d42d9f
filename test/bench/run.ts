// `npm run bench [-- name…]`: runs the benchmark modules of test/bench and prints a report.
// Benchmarks report; they never fail the run (tests assert): a missed goal prints MISS and the
// process still exits 0, unless a benchmark itself crashes.

import { availableParallelism, loadavg } from "node:os";

/** One goal checked by a benchmark, e.g. "throughput ≥ 20 MB/s". */
export interface Verdict {
  goal: string;
  measured: string;
  pass: boolean;
}

export interface BenchContext {
  /** Prints one line of the report, indented under the benchmark's title. */
  log(line?: string): void;
}

/** What a module of test/bench exports (as `benchmark`). */
export interface Benchmark {
  name: string;
  description: string;
  run(context: BenchContext): Promise<Verdict[]> | Verdict[];
}

/** The benchmark modules, in order; append new ones here. */
const MODULES: { name: string; load: () => Promise<{ benchmark: Benchmark }> }[] = [
  { name: "radl", load: () => import("./radl.bench.ts") },
  { name: "server", load: () => import("./server.bench.ts") },
  { name: "contextualization", load: () => import("./context.bench.ts") },
];

async function main(filters: string[]): Promise<void> {
  const selected = filters.length === 0 ? MODULES : MODULES.filter((m) => filters.some((f) => m.name.includes(f)));
  if (selected.length === 0) {
    console.error(`no benchmark matches ${filters.join(", ")}; known: ${MODULES.map((m) => m.name).join(", ")}`);
    process.exitCode = 2;
    return;
  }
  const [load] = loadavg();
  const cpus = availableParallelism();
  console.log(`node ${process.version} on ${process.platform}/${process.arch}, ${cpus} CPUs, load average ${load.toFixed(2)}`);
  if (load > cpus / 2) console.log("warning: other processes are using the CPUs; timings will be noisy");
  console.log();
  const summary: { bench: string; verdict: Verdict }[] = [];
  for (const module of selected) {
    const { benchmark } = await module.load();
    console.log(`== ${benchmark.name}: ${benchmark.description}`);
    const started = performance.now();
    const verdicts = await benchmark.run({ log: (line = "") => console.log(line === "" ? "" : `  ${line}`) });
    console.log(`  (${((performance.now() - started) / 1000).toFixed(1)} s)\n`);
    for (const verdict of verdicts) summary.push({ bench: benchmark.name, verdict });
  }
  if (summary.length > 0) {
    console.log("== goals");
    for (const { bench, verdict } of summary) {
      console.log(`  ${verdict.pass ? "PASS" : "MISS"}  ${bench}: ${verdict.goal} (measured ${verdict.measured})`);
    }
    const missed = summary.filter((s) => !s.verdict.pass).length;
    console.log(`  ${summary.length - missed} of ${summary.length} goals met`);
  }
}

await main(process.argv.slice(2));
