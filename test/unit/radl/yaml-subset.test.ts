// The fast YAML check of recipes (core/radl/yaml-subset.ts) against the `yaml` package: with the
// fallback, every text must get exactly the verdict the `yaml` package alone gives (valid, or the
// same problem), so answering "valid" for a text the package refuses is the one possible bug.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { yamlPackageProblem } from "../../../core/radl/check.ts";
import { checkRadl, parseRadl, parseRadlText, RadlError, yamlProblem } from "../../../core/radl/index.ts";
import { isCertainlyValidYaml } from "../../../core/radl/yaml-subset.ts";
import { loadCorpus } from "../../fixtures/corpus.ts";
import { generateRadl } from "../../fixtures/radl-generator.ts";

/** 3000 runs per property keep the file at a few seconds; set YAML_SUBSET_RUNS for a longer search. */
const NUM_RUNS = Number(process.env.YAML_SUBSET_RUNS ?? 3000);
const FAST_PATH_SEED = 20261127;

const HANG_GUARD_MS = 20_000;
/** Generous for hostile lines: at a quarter of the budget the package takes about a second (it took minutes when quadratic). */
const HOSTILE_LINE_MS = 10_000;
/** For the fast path on input of some hundreds of kB. */
const FAST_PATH_MS = 1_000;
const TEN_MB = 10 * 1024 * 1024;
/** The characters of recipes per document that may go to the `yaml` package (check.ts). */
const YAML_BUDGET = 1024 * 1024;

/** The verdict through the fast path and the fallback equals the `yaml` package's alone. */
function assertSameVerdict(text: string): void {
  assert.equal(yamlProblem(text), yamlPackageProblem(text), `for ${JSON.stringify(text)}`);
}

// ---------------------------------------------------------------------------------------------
// Generated YAML-ish documents: a tree of nodes laid out with varying indentation, with pieces
// both inside and outside the fast path's subset, some of them invalid YAML.

type YamlNode =
  | { kind: "scalar"; text: string }
  | { kind: "block"; header: string; step: number; leading: string[]; lines: string[] }
  | { kind: "map"; entries: { key: string; value: YamlNode }[]; step: number; compact: boolean }
  | { kind: "seq"; items: YamlNode[]; step: number; compact: boolean; atKeyColumn: boolean };

const KEYS = [
  "a", "b", "name", "hosts", "tasks", "vars", "key with spaces", "with_items", "a#b", "é", "_x", "x.y", "a ",
  "'a'", '"a"', "'it''s'", '"x\\ny"', '"b"', "true", "null", "Null", "1", "01", "-x", "a:b", "~", "? a", "&k a", "[a]", "{a: 1}", "", "a\tb",
  // around the 1024 characters the `yaml` package allows an implicit key
  "k".repeat(1020), "k".repeat(1030), `'${"k".repeat(1030)}'`, `"${"k".repeat(1030)}"`,
];

const SCALARS = [
  // in the subset
  "x", "hello world", "yes", "1", "-1", "1.5", "/etc/motd", "name=x state=present", "http://host:8080/p", "a:b", "x # comment", "x#y",
  'ansible_os_family == "Debian"', "it's", "'single'", "'it''s'", '"double"', '"esc \\n \\t \\" \\\\ \\/"', '"{{ var }}"', "'{{ var }}'",
  "[a, b]", "[]", "{}", "{a: 1, b: 'x'}", '[{path: "/pv", export: "*.x(rw)"}]', "[ 'a' , \"b\" ]", "[a, [b, c], {d: e}]", "é ñ 日本", "-x", "x  ",
  // outside it, valid or not
  "", "~", "a: b", "x:", "'unclosed", '"unclosed', "'x'y", '"x"#c', '"bad \\q"', '"hex \\x41"', '"\\u00e9"', "&anchor x", "*alias", "!tag x",
  "@x", "`x", "%x", "? x", "- x", "{{ var }}", "[a, b,]", "[a,,b]", "[a", "{a: 1, a: 2}", "{a}", "[a #c]", "[a: b]", "[-]", "x\ty", "\tx",
  "x \u0085", "\ufeffx", "|", ">-", "|2", "x\r",
];

const BLOCK_HEADERS = ["|", "|-", "|+", ">", ">-", ">+", "| # c", "|#c", "|2", "|-1", ">  ", "|x"];
const BLOCK_LINES = ["text", "  deeper", "", "   ", "# not a comment", "key: value", "- item", "---", "...", "\tx", "{ x"];
const LEADING_BLANKS = ["", " ", "  ", "      "];

const node: fc.Arbitrary<YamlNode> = fc.letrec<{ node: YamlNode }>((tie) => ({
  node: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.constantFrom(...SCALARS).map((text) => ({ kind: "scalar" as const, text })),
    fc.record({
      kind: fc.constant("block" as const),
      header: fc.constantFrom(...BLOCK_HEADERS),
      step: fc.integer({ min: -1, max: 4 }),
      leading: fc.array(fc.constantFrom(...LEADING_BLANKS), { maxLength: 2 }),
      lines: fc.array(fc.constantFrom(...BLOCK_LINES), { maxLength: 4 }),
    }),
    fc.record({
      kind: fc.constant("map" as const),
      entries: fc.array(fc.record({ key: fc.constantFrom(...KEYS), value: tie("node") }), { minLength: 1, maxLength: 4 }),
      step: fc.integer({ min: -1, max: 4 }),
      compact: fc.boolean(),
    }),
    fc.record({
      kind: fc.constant("seq" as const),
      items: fc.array(tie("node"), { minLength: 1, maxLength: 4 }),
      step: fc.integer({ min: -1, max: 4 }),
      compact: fc.boolean(),
      atKeyColumn: fc.boolean(),
    }),
  ),
})).node;

/** `k0: 0` … one per line, indented. */
function wideMapping(keys: number, indent: string): string {
  return Array.from({ length: keys }, (_, i) => `${indent}k${i}: ${i}`).join("\n");
}

const spaces = (count: number) => " ".repeat(Math.max(count, 0));

/** The lines of `value` after `prefix` (`key:`, `-`, or nothing at the top) on a line indented `column`. */
function render(prefix: string, column: number, value: YamlNode): string[] {
  const head = spaces(column) + prefix;
  const separator = prefix === "" ? "" : " ";
  switch (value.kind) {
    case "scalar": return [value.text === "" ? head : head + separator + value.text];
    case "block": return [head + separator + value.header, ...value.leading, ...value.lines.map((line) => (line === "" ? "" : spaces(column + value.step) + line))];
    case "map":
    case "seq": {
      if (prefix === "") return renderCollection(value, column);
      if (prefix === "-" && value.compact) {
        // The collection starts on the `-` line: `- key: v` or `- - v`.
        const [first, ...rest] = renderCollection(value, column + 2);
        return [`${head} ${first.slice(column + 2)}`, ...rest];
      }
      const sameColumn = prefix !== "-" && value.kind === "seq" && value.atKeyColumn;
      return [head, ...renderCollection(value, sameColumn ? column : column + value.step)];
    }
  }
}

function renderCollection(value: YamlNode & { kind: "map" | "seq" }, column: number): string[] {
  if (value.kind === "map") return value.entries.flatMap(({ key, value: entry }) => render(`${key}:`, column, entry));
  return value.items.flatMap((item) => render("-", column, item));
}

const LINE_EXTRAS = ["# comment", "  # indented comment", "", "   ", "---", "...", "%YAML 1.2", "- stray", "stray", "  key: v"];
const PROLOGUES = ["", "", "---\n", "# c\n---\n", "--- # c\n", "\n---\n", "--- x\n", "%YAML 1.2\n---\n"];
const EPILOGUES = ["", "", "\n", "...\n", "---\n- b\n", "\n\n"];

/** A document: a rendered tree at some column, extra lines here and there, a prologue and an epilogue. */
const document = fc
  .record({
    tree: node,
    column: fc.constantFrom(0, 0, 0, 1, 2),
    extras: fc.array(fc.tuple(fc.nat(), fc.constantFrom(...LINE_EXTRAS)), { maxLength: 3 }),
    prologue: fc.constantFrom(...PROLOGUES),
    epilogue: fc.constantFrom(...EPILOGUES),
  })
  .map(({ tree, column, extras, prologue, epilogue }) => {
    const lines = render("", column, tree);
    for (const [at, extra] of extras) lines.splice(at % (lines.length + 1), 0, extra);
    return `${prologue}${lines.join("\n")}\n${epilogue}`;
  });

/** Characters that matter to YAML, for mutations. */
const MUTATION_CHARS = [" ", "  ", "\n", "-", "- ", ":", ": ", "#", " #", "'", '"', "|", ">", "[", "]", "{", "}", ",", "\t", "\\", "&", "*", "!", "?", "%", "@", "a", "\r", "---\n"];

type Mutation = { at: number; insert: string } | { at: number; remove: number } | { at: number; duplicateLine: true };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ at: fc.nat(), insert: fc.constantFrom(...MUTATION_CHARS) }),
  fc.record({ at: fc.nat(), remove: fc.integer({ min: 1, max: 3 }) }),
  fc.record({ at: fc.nat(), duplicateLine: fc.constant(true as const) }),
);

function mutate(text: string, mutations: Mutation[]): string {
  for (const change of mutations) {
    const at = change.at % (text.length + 1);
    if ("insert" in change) text = text.slice(0, at) + change.insert + text.slice(at);
    else if ("remove" in change) text = text.slice(0, at) + text.slice(at + change.remove);
    else {
      const start = text.lastIndexOf("\n", at - 1) + 1;
      const end = text.indexOf("\n", at);
      const line = text.slice(start, end === -1 ? text.length : end);
      text = `${text.slice(0, start)}${line}\n${text.slice(start)}`;
    }
  }
  return text;
}

// ---------------------------------------------------------------------------------------------

describe("fast YAML check of recipes", () => {
  test("every recipe of the corpus gets the yaml package's verdict", () => {
    let recipes = 0;
    for (const { text } of loadCorpus()) {
      let configures;
      try {
        configures = parseRadlText(text).configures;
      } catch {
        continue;
      }
      for (const { recipes: recipe } of configures) {
        if (!recipe) continue;
        recipes++;
        assertSameVerdict(recipe);
      }
    }
    assert.ok(recipes > 50, `${recipes} recipes`);
  });

  test("the recipes of the benchmark documents are in the subset", () => {
    // test/bench/radl.bench.ts measures the largest valid corpus document and generated ones.
    const largest = loadCorpus()
      .filter((d) => d.expectedError === null)
      .sort((a, b) => Buffer.byteLength(b.text) - Buffer.byteLength(a.text) || a.file.localeCompare(b.file))[0];
    for (const text of [largest.text, generateRadl(3)]) {
      for (const { name, recipes } of parseRadlText(text).configures) {
        assert.ok(recipes && isCertainlyValidYaml(recipes), `recipe ${name}`);
      }
    }
  });

  describe("the subset's edges", () => {
    const IN_SUBSET = [
      "", "\n\n", "# only a comment", "---", "---\n", "# c\n---\na: 1", "--- # c\n- a",
      "- hosts: all\n  tasks:\n  - name: x\n    shell: \"echo 'a: b'\" # c\n",
      "a:\n  b:\n    - c\n    - d: e\n      f: g\n  h: i",
      "key:\n- a\n- b\nother: 1",
      "- - a\n  - b\n- c",
      "a: [x, 'y', \"z\", [1, 2], {k: v, 'l': w}]",
      "a: |\n  line 1\n\n    line 2\nb: >-\n  folded\n",
      "- |\n text",
      "- key: |\n   text",
      "a: |\n    t\n  # c\nb: 1",
      "a: \"tab\\tnew line\\n quote\\\" slash\\/ backslash\\\\\"",
      "'a': 1\n\"b\": 2\nc: 3",
      "a: x #c",
      "a: b#c",
      " - vars:\n     x: 1\n   tasks:\n    - debug: msg=hi",
      `${wideMapping(20, "")}\nnested:\n${wideMapping(20, "  ")}\nk3x: 1`,
      // Keys given twice are no error (the last one wins, as in PyYAML), whatever they are.
      "a: 1\na: 2", "a: 1\n'a': 2\n\"a\": 3", "1: a\n01: b\n1: c", "true: 1\nTrue: 2\nnull: 3\n~: 4", "'it''s': 1\n'it''s': 2", "\"a\\nb\": 1\n\"a\\nb\": 2",
      "- a: 1\n  a: 2\n  a:\n    a: 3\n    a: 4\n- a: 5", `${wideMapping(20, "")}\nk3: again`,
      "a: {x: 1, x: 2, 'x': 3}", "a: {x: {y: 1, y: 2}, x: 3}", "a: {1: x, 01: y, ~: z, -x: w, é: v}",
      // Only implicit keys of block mappings are limited to 1024 characters.
      `a: {${"k".repeat(2000)}: 1}`,
    ];
    for (const text of IN_SUBSET) {
      test(`${JSON.stringify(text)} is certainly valid`, () => {
        assert.equal(isCertainlyValidYaml(text), true);
        assert.equal(yamlPackageProblem(text), null);
      });
    }

    const OUTSIDE = [
      // invalid YAML
      `"${"x".repeat(1100)}": 1`, `- '${"x".repeat(1100)}': 1`, "- key: |\n  text", "key: |\n      \n   text", "a: b: c", "a: x\n  # c\n    more",
      "a: 'x'#c", "a: @x", "a: `x", "a: [a,,b]", "a: [a #b]", "a: \"x\\q\"", "---\n- a\n---\n- b", "a: [", "- a:\n\t- b", "x".repeat(1100) + ": 1", "a: {*x: 1}",
      // valid YAML outside the subset
      "a: &x 1\nb: *x", "a: !!str 1", "? a\n: b", "a: \"two\n  lines\"", "a: x\n  continued", "- a\n  - b", "a: [\n  b]", "%YAML 1.2\n---\na: 1",
      "a: 1\n...", "a: |2\n  x", "a: \"\\x41\"", "a: {&x k: 1}", "a: {: 1}", "a: {-: 1}", "a:\r\n  b", "\ufeffa: 1", "a: [a, b,]", "a: {\"a\":1}", "$ANSIBLE_VAULT;1.1;AES256\n6637",
    ];
    for (const text of OUTSIDE) {
      test(`${JSON.stringify(text.slice(0, 60))} is left to the yaml package`, () => {
        assert.equal(isCertainlyValidYaml(text), false);
        assertSameVerdict(text);
      });
    }
  });

  test("generated documents get the yaml package's verdict, and many take the fast path", () => {
    let fast = 0;
    let valid = 0;
    fc.assert(
      fc.property(document, (text) => {
        assertSameVerdict(text);
        if (isCertainlyValidYaml(text)) fast++;
        if (yamlPackageProblem(text) === null) valid++;
      }),
      // A fixed seed: the share below is a statistic of the sample (about 29% on average), and
      // random samples fell under a quarter about once in 70 runs. The mutated documents below
      // still explore random ones.
      { numRuns: NUM_RUNS, seed: FAST_PATH_SEED },
    );
    // The property only means something if the fast path answers often.
    assert.ok(fast > valid / 4, `${fast} of ${valid} valid documents took the fast path`);
  });

  test("mutated documents get the yaml package's verdict", () => {
    fc.assert(
      fc.property(document, fc.array(mutation, { minLength: 1, maxLength: 3 }), (text, mutations) => assertSameVerdict(mutate(text, mutations))),
      { numRuns: NUM_RUNS },
    );
  });

  test("wide mappings, with or without repeated keys, get the yaml package's verdict", () => {
    const keys = fc.oneof(fc.uniqueArray(fc.nat({ max: 60 }), { minLength: 1, maxLength: 40 }), fc.array(fc.nat({ max: 40 }), { minLength: 1, maxLength: 40 }));
    const mapping = fc.tuple(keys, keys, fc.boolean()).map(([outer, inner, flow]) => {
      const nested = flow ? ` {${inner.map((k) => `k${k}: v`).join(", ")}}` : `\n${inner.map((k) => `  k${k}: v`).join("\n")}`;
      return `${outer.map((k) => `k${k}: v`).join("\n")}\nnested:${nested}\n${outer.map((k) => `k${k + 1}x: v`).join("\n")}`;
    });
    fc.assert(fc.property(mapping, assertSameVerdict), { numRuns: NUM_RUNS / 10 });
  });

  describe("mappings with 100 000 repeated keys are certified by the fast path quickly", () => {
    const CASES = [
      { name: "block mapping", text: "k: v\n".repeat(100_000) },
      { name: "nested block mapping", text: `- a:\n${"    k: v\n".repeat(100_000)}` },
      { name: "flow mapping", text: `a: {${"k: v, ".repeat(100_000)}k: v}` },
    ];
    for (const { name, text } of CASES) {
      test(name, () => {
        const start = performance.now();
        const problem = yamlProblem(text);
        const ms = performance.now() - start;
        assert.equal(problem, null);
        assert.ok(ms < FAST_PATH_MS, `took ${ms.toFixed(0)} ms`);
      });
    }
  });

  test("random text gets the yaml package's verdict", () => {
    const yamlish = fc.array(fc.constantFrom(...MUTATION_CHARS, "x", "key", "1"), { maxLength: 30 }).map((parts) => parts.join(""));
    fc.assert(
      fc.property(fc.oneof(yamlish, fc.string({ unit: "binary", maxLength: 100 })), assertSameVerdict),
      { numRuns: NUM_RUNS },
    );
  });

  describe("pathological recipes are judged in bounded time", () => {
    const CASES: { name: string; text: () => string }[] = [
      { name: "10 MB plain scalar on one line", text: () => `a: ${"x".repeat(TEN_MB)}` },
      { name: "10 MB quoted scalar never closed", text: () => `a: '${"x".repeat(TEN_MB)}` },
      { name: "10 MB flow sequence", text: () => `a: [${"x, ".repeat(TEN_MB / 3)}x]` },
      { name: "compact sequences nested 100 000 deep", text: () => "- ".repeat(100_000) + "x" },
      { name: "flow sequences nested 100 000 deep", text: () => "[".repeat(100_000) + "]".repeat(100_000) },
      { name: "mappings nested 5 000 deep", text: () => Array.from({ length: 5_000 }, (_, i) => `${" ".repeat(i)}k:`).join("\n") },
      { name: "100 000 keys in one mapping", text: () => Array.from({ length: 100_000 }, (_, i) => `k${i}: v`).join("\n") },
      { name: "binary", text: () => String.fromCharCode(...Array.from({ length: 60_000 }, (_, i) => (i * 7919) % 65536)) },
    ];
    for (const { name, text } of CASES) {
      test(name, () => {
        const input = text();
        const start = performance.now();
        const problem = yamlProblem(input);
        const ms = performance.now() - start;
        assert.ok(ms < HANG_GUARD_MS, `took ${ms.toFixed(0)} ms`);
        assert.ok(problem === null || typeof problem === "string");
      });
    }
  });

  describe("hostile lines get an error in bounded time", () => {
    // Lines that the `yaml` package was slow on with its pretty errors or unique keys (the last
    // two quadratically). 400 000 repeats exceed the budget, which refuses them without the
    // package; a quarter of the budget reaches it.
    const SHAPES = [
      { name: "a: a: a: …", head: "", repeated: "a: " },
      { name: "x: &a &a &a …", head: "x: ", repeated: "&a " },
      { name: "x: {a: b, a: b, … never closed", head: "x: {", repeated: "a: b, " },
    ];
    for (const { name, head, repeated } of SHAPES) {
      for (const repeats of [400_000, Math.floor(YAML_BUDGET / 4 / repeated.length)]) {
        test(`${name}, ${repeats} times`, () => {
          const input = head + repeated.repeat(repeats);
          const start = performance.now();
          const problem = yamlProblem(input);
          const ms = performance.now() - start;
          assert.ok(ms < HOSTILE_LINE_MS, `took ${ms.toFixed(0)} ms`);
          assert.ok(typeof problem === "string", "no error");
          assert.equal(/more than 1 MiB/.test(problem), input.length > YAML_BUDGET, problem);
        });
      }
    }
  });

  describe("the budget of recipes that go to the yaml package, per document", () => {
    const configure = (name: string, recipe: string) => `configure ${name} (\n@begin\n${recipe}\n@end\n)`;
    /** Valid YAML outside the subset (tabs) and cheap for the package: one plain scalar. */
    const beyondSubset = (characters: number) => `- ${"a\tb ".repeat(characters / 4)}`;
    const inSubset = (characters: number) => "- a: b\n".repeat(characters / 7);

    test("recipes beyond the subset of more than 1 MiB in all are refused at the configure that goes over", () => {
      const document = [configure("first", beyondSubset(YAML_BUDGET / 2)), configure("second", beyondSubset(YAML_BUDGET / 2)), "system s ()"].join("\n");
      assert.throws(() => checkRadl(parseRadl(document)), (error: unknown) => {
        assert.ok(error instanceof RadlError);
        assert.match(error.detail, /^Invalid YAML code: the recipes hold more than 1 MiB of YAML beyond /);
        assert.equal(error.line, document.split("\n").indexOf("configure second (") + 1);
        return true;
      });
    });

    test("recipes in the subset do not count", () => {
      const document = [configure("a", inSubset(YAML_BUDGET)), configure("b", inSubset(YAML_BUDGET)), configure("c", beyondSubset(YAML_BUDGET / 2))].join("\n");
      checkRadl(parseRadl(document));
    });
  });
});
