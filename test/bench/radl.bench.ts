// RADL throughput: parse + check + serialize (text) on the largest corpus document and on
// generated documents of 1k and 10k systems, plus how the time scales with the input size.
import { checkRadl, parseRadl } from "../../core/radl/index.ts";
import { loadCorpus } from "../fixtures/corpus.ts";
import { generateRadl } from "../fixtures/radl-generator.ts";
import type { BenchContext, Benchmark, Verdict } from "./run.ts";

/** Goals from the issue. */
const MIN_MB_PER_S = 20;
/** 10x the input may cost at most 12x the time, i.e. time ratio ≤ 1.2 × size ratio. */
const MAX_SCALING = 1.2;

interface Case {
  label: string;
  text: string;
  warmup: number;
  repetitions: number;
}

interface Timing {
  parse: number;
  check: number;
  serialize: number;
  total: number;
  /** Not part of the total: `check` again with the recipes emptied, i.e. without YAML validation. */
  checkWithoutYaml: number;
}

interface Measured {
  label: string;
  bytes: number;
  median: Timing;
  repetitions: number;
}

function once(text: string): Timing {
  const t0 = performance.now();
  const radl = parseRadl(text);
  const t1 = performance.now();
  checkRadl(radl);
  const t2 = performance.now();
  const out = radl.toString();
  const t3 = performance.now();
  if (out.length === 0) throw new Error("empty serialization");
  for (const configure of radl.configures) if (configure.recipes) configure.recipes = "";
  const t4 = performance.now();
  checkRadl(radl);
  const t5 = performance.now();
  return { parse: t1 - t0, check: t2 - t1, serialize: t3 - t2, total: t3 - t0, checkWithoutYaml: t5 - t4 };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function measure(c: Case): Measured {
  for (let i = 0; i < c.warmup; i++) once(c.text);
  const runs: Timing[] = [];
  for (let i = 0; i < c.repetitions; i++) runs.push(once(c.text));
  const pick = (key: keyof Timing) => median(runs.map((r) => r[key]));
  return {
    label: c.label,
    bytes: Buffer.byteLength(c.text, "utf8"),
    median: { parse: pick("parse"), check: pick("check"), serialize: pick("serialize"), total: pick("total"), checkWithoutYaml: pick("checkWithoutYaml") },
    repetitions: c.repetitions,
  };
}

const mbPerS = (m: Measured, millis = m.median.total) => m.bytes / 1e6 / (millis / 1000);

function size(bytes: number): string {
  if (bytes >= 1e6) return `${(bytes / 1e6).toFixed(2)} MB`;
  if (bytes >= 1e3) return `${(bytes / 1e3).toFixed(1)} kB`;
  return `${bytes} B`;
}

function ms(value: number): string {
  return value >= 100 ? `${value.toFixed(0)} ms` : value >= 1 ? `${value.toFixed(2)} ms` : `${(value * 1000).toFixed(0)} µs`;
}

function largestCorpusDocument(): { file: string; text: string } {
  const valid = loadCorpus().filter((d) => d.expectedError === null);
  valid.sort((a, b) => Buffer.byteLength(b.text) - Buffer.byteLength(a.text) || a.file.localeCompare(b.file));
  return valid[0];
}

export const benchmark: Benchmark = {
  name: "radl",
  description: "parse + check + serialize (text)",
  run({ log }: BenchContext): Verdict[] {
    const corpus = largestCorpusDocument();
    const cases: Case[] = [
      { label: `corpus ${corpus.file}`, text: corpus.text, warmup: 200, repetitions: 501 },
      { label: "generated 1k systems", text: generateRadl(1_000), warmup: 3, repetitions: 21 },
      { label: "generated 10k systems", text: generateRadl(10_000), warmup: 1, repetitions: 7 },
    ];
    const verdicts: Verdict[] = [];
    const results: Measured[] = [];
    for (const c of cases) {
      const m = measure(c);
      results.push(m);
      const rate = mbPerS(m);
      const pass = rate >= MIN_MB_PER_S;
      log(`${m.label}`);
      log(`  input ${size(m.bytes)}, median of ${m.repetitions} runs: ${ms(m.median.total)}` +
        ` (parse ${ms(m.median.parse)}, check ${ms(m.median.check)}, serialize ${ms(m.median.serialize)})`);
      log(`  throughput ${rate.toFixed(1)} MB/s   goal ≥ ${MIN_MB_PER_S} MB/s   ${pass ? "PASS" : "MISS"}`);
      // The `yaml` package parses the recipes; report what the RADL code itself costs.
      const { parse, serialize, check, checkWithoutYaml } = m.median;
      const radlOnly = parse + checkWithoutYaml + serialize;
      log(`  (info: check without the recipes' YAML validation ${ms(checkWithoutYaml)}, so YAML ≈ ${ms(Math.max(check - checkWithoutYaml, 0))};` +
        ` parse + check + serialize without it ${ms(radlOnly)}, ${mbPerS(m, radlOnly).toFixed(1)} MB/s)`);
      verdicts.push({ goal: `${m.label}: ≥ ${MIN_MB_PER_S} MB/s`, measured: `${rate.toFixed(1)} MB/s`, pass });
    }
    const [, small, large] = results;
    const sizeRatio = large.bytes / small.bytes;
    const timeRatio = large.median.total / small.median.total;
    const limit = MAX_SCALING * sizeRatio;
    const pass = timeRatio <= limit;
    log("scaling 1k → 10k systems");
    log(`  input ×${sizeRatio.toFixed(2)}, time ×${timeRatio.toFixed(2)}   goal ≤ ×${limit.toFixed(2)} (1.2 × input ratio)   ${pass ? "PASS" : "MISS"}`);
    for (const phase of ["parse", "check", "serialize"] as const) {
      log(`    ${phase.padEnd(9)} ×${(large.median[phase] / small.median[phase]).toFixed(2)}`);
    }
    verdicts.push({ goal: `time(10k)/time(1k) ≤ ${MAX_SCALING} × size ratio (≤ ×${limit.toFixed(2)})`, measured: `×${timeRatio.toFixed(2)}`, pass });
    return verdicts;
  },
};
