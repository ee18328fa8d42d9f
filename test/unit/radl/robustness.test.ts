// Bad input never crashes or hangs the RADL library: it either parses (illegal characters are
// skipped, spec §1.6) or fails with a RadlError, and every parsed document can be checked,
// described and serialized.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { MAX_NESTING, RadlError, checkRadl, describeRadl, dumpRadlJson, parseRadl, parseRadlJson, parseRadlText, type Radl } from "../../../core/radl/index.ts";

/** Only catches hangs and pathological (quadratic) behaviour: a 10 MB input takes well under a second on a laptop. */
const HANG_GUARD_MS = 20_000;
const TEN_MB = 10 * 1024 * 1024;

type Outcome = { radl: Radl } | { error: RadlError };

/** Parses and checks; any exception other than RadlError fails the test. */
function outcome(text: string, parse: (text: string) => Radl = parseRadlText): Outcome {
  let radl: Radl;
  try {
    radl = parse(text);
    checkRadl(radl);
  } catch (error) {
    if (error instanceof RadlError) return { error };
    throw new Error(`not a RadlError: ${(error as Error)?.stack ?? error}`, { cause: error });
  }
  return { radl };
}

/** A parsed document can be described and written in both forms, and its text parses again (or fails cleanly). */
function useDocument(radl: Radl): void {
  describeRadl(radl);
  dumpRadlJson(radl);
  outcome(radl.toString());
}

function timed<T>(run: () => T): { result: T; ms: number } {
  const start = performance.now();
  const result = run();
  return { result, ms: performance.now() - start };
}

function expectError(text: string): RadlError {
  const result = outcome(text);
  assert.ok("error" in result, "the document is rejected");
  return result.error;
}

/** Pieces of RADL, so that random documents get past the first token. */
const TOKENS = [
  "system", "network", "configure", "contextualize", "deploy", "description", "ansible", "soft", "and", "contains", "option", "step", "with",
  "s", "n", "cpu.count", "memory.size", "disk.0.applications", "net_interface.0.connection", "(", ")", "[", "]", ",", "=", "<", ">", "<=", ">=",
  "1", "2.5", "0", "512m", "4Gi", "'a'", '"b"', "'x\\'y'", "'multi\nline'", "@begin\n", "@end", "\n@end", "---\n- a: 1\n", "\n", " ", "# comment\n",
  "'", '"', "\\", "@", "-", "{", ";", "\0", "\r\n", "é", "🙂", "@input.X@",
];
const tokenSoup = fc.array(fc.constantFrom(...TOKENS), { maxLength: 40 }).chain((tokens) =>
  fc.array(fc.constantFrom(" ", "", "\n"), { minLength: tokens.length, maxLength: tokens.length }).map((blanks) => tokens.map((t, i) => t + blanks[i]).join("")),
);

describe("RADL robustness", () => {
  describe("random input", () => {
    test("random strings are parsed or rejected with a RadlError", () => {
      fc.assert(
        fc.property(fc.oneof(fc.string({ unit: "binary", maxLength: 200 }), fc.string({ unit: "grapheme", maxLength: 200 }), fc.string({ unit: "binary-ascii", maxLength: 200 })), (text) => {
          const result = outcome(text);
          if ("radl" in result) useDocument(result.radl);
        }),
        { numRuns: 500 },
      );
    });

    test("random bytes decoded as UTF-8 are parsed or rejected with a RadlError", () => {
      const decoder = new TextDecoder("utf-8", { fatal: false });
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
          const result = outcome(decoder.decode(bytes));
          if ("radl" in result) useDocument(result.radl);
        }),
        { numRuns: 500 },
      );
    });

    test("random sequences of RADL tokens are parsed or rejected with a RadlError", () => {
      fc.assert(
        fc.property(tokenSoup, (text) => {
          const result = outcome(text);
          if ("radl" in result) useDocument(result.radl);
        }),
        { numRuns: 1000 },
      );
    });

    test("random JSON is parsed as RADL-JSON or rejected with a RadlError", () => {
      fc.assert(
        fc.property(fc.oneof(fc.json(), fc.jsonValue().map((v) => JSON.stringify([v])), fc.string({ maxLength: 50 }).map((s) => `[${s}`)), (text) => {
          const result = outcome(text, parseRadlJson);
          if ("radl" in result) useDocument(result.radl);
        }),
        { numRuns: 500 },
      );
    });

    test("a RADL-JSON array of aspects with random values is parsed or rejected with a RadlError", () => {
      const aspect = fc.record(
        {
          class: fc.constantFrom("network", "system", "configure", "deploy", "contextualize", "description", "ansible", "other"),
          id: fc.oneof(fc.constantFrom("s", "n", ""), fc.jsonValue()),
          reference: fc.jsonValue(),
          system: fc.oneof(fc.constant("s"), fc.jsonValue()),
          vm_number: fc.oneof(fc.integer({ min: -2, max: 3 }), fc.double(), fc.jsonValue()),
          recipes: fc.oneof(fc.constantFrom("---\n- a: 1\n", "- a: [", ""), fc.jsonValue()),
          items: fc.jsonValue(),
          softs: fc.jsonValue(),
          "cpu.count_min": fc.jsonValue(),
          "disk.0.applications": fc.jsonValue(),
        },
        { requiredKeys: ["class"] },
      );
      fc.assert(
        fc.property(fc.array(aspect, { maxLength: 5 }), (document) => {
          const result = outcome(JSON.stringify(document), parseRadlJson);
          if ("radl" in result) useDocument(result.radl);
        }),
        { numRuns: 500 },
      );
    });
  });

  describe("binary input", () => {
    test("NUL bytes and other control characters are skipped like any illegal character", () => {
      const result = outcome("\0system\0 s\0 (\0cpu.count\0 >=\0 2\0 )\0\x01\x02\x7f\ufeff\ufffd");
      assert.ok("radl" in result);
      assert.equal(result.radl.toString(), "system s (\ncpu.count >= 2\n)\n\n");
    });

    test("a document of NUL bytes only is an empty document", () => {
      const result = outcome("\0".repeat(1000));
      assert.ok("radl" in result);
      assert.equal(result.radl.toString(), "");
    });

    test("lone surrogates and a byte-order mark do not crash the parser", () => {
      for (const text of ["\ud800", "\udc00system s ()", "\ufeffsystem s ()", "system s ( x = '\ud800' )", "system \ud800s ()", "system s\udfff ( )"]) {
        const result = outcome(text);
        if ("radl" in result) useDocument(result.radl);
      }
    });

    test("bytes that are not UTF-8 decode to U+FFFD and are skipped", () => {
      const bytes = new Uint8Array([0xff, 0xfe, ...new TextEncoder().encode("network n ( outbound = 'yes' )"), 0xe2, 0x82]);
      const result = outcome(new TextDecoder().decode(bytes));
      assert.ok("radl" in result);
      assert.equal(result.radl.networks[0].isPublic(), true);
    });
  });

  describe("10 MB on a single line", () => {
    /** The text, and what it must give: a document (with its number of systems) or an error at a line. */
    const CASES: { name: string; text: () => string; expect: { systems: number } | { line: number; detail: RegExp } }[] = [
      { name: "one identifier", text: () => "a".repeat(TEN_MB), expect: { line: 1, detail: /^Parse error in: LexToken\(VAR,'a{100}/ } },
      { name: "one identifier inside a system", text: () => `system s ( ${"a".repeat(TEN_MB)}`, expect: { line: 1, detail: /^Parse error: unexpected end of input$/ } },
      { name: "one identifier after the blanks", text: () => `${" ".repeat(TEN_MB)}x`, expect: { line: 1, detail: /^Parse error in: LexToken\(VAR,'x',1,10485760\)$/ } },
      { name: "dots (an identifier may start with `.`)", text: () => ".".repeat(TEN_MB), expect: { line: 1, detail: /^Parse error in: LexToken\(VAR,'\.{100}/ } },
      { name: "digits", text: () => "7".repeat(TEN_MB), expect: { line: 1, detail: /^Parse error in: LexToken\(NUMBER,7{100}/ } },
      { name: "digits as a feature value", text: () => `system s ( cpu.count = ${"7".repeat(TEN_MB)} )`, expect: { systems: 1 } },
      // Every quote is escaped, so no string ever closes: each quote is an illegal character (§1.4, §1.6).
      { name: "'\\'\\'\\'… unterminated single-quoted string", text: () => `'${"\\'".repeat(TEN_MB / 2)}`, expect: { systems: 0 } },
      { name: "'\\'\\'\\'… as a feature value", text: () => `system s ( x = '${"\\'".repeat(TEN_MB / 2)}`, expect: { line: 1, detail: /^Parse error: unexpected end of input$/ } },
      { name: '"\\"\\"… unterminated double-quoted string', text: () => `"${'\\"'.repeat(TEN_MB / 2)}`, expect: { systems: 0 } },
      { name: '"\\"\\"… as a feature value', text: () => `system s ( x = "${'\\"'.repeat(TEN_MB / 2)}`, expect: { line: 1, detail: /^Parse error: unexpected end of input$/ } },
      { name: "quotes of both kinds", text: () => `'"`.repeat(TEN_MB / 2), expect: { line: 1, detail: /^Parse error in: LexToken\(STRING,'"',1,0\)$/ } },
      { name: "((((", text: () => "(".repeat(TEN_MB), expect: { line: 1, detail: /^Parse error in: LexToken\(LPAREN,'\(',1,0\)$/ } },
      { name: "(((( after a system id", text: () => `system s ${"(".repeat(TEN_MB)}`, expect: { line: 1, detail: /^Parse error in: LexToken\(LPAREN,'\(',1,10\)$/ } },
      { name: "))))", text: () => ")".repeat(TEN_MB), expect: { line: 1, detail: /^Parse error in: LexToken\(RPAREN,'\)',1,0\)$/ } },
      { name: "contains ( repeated", text: () => `system s ( ${"x contains ( ".repeat(TEN_MB / 13)}`, expect: { line: 1, detail: /^Parse error: nesting deeper than \d+ levels$/ } },
      { name: "soft 1 ( repeated", text: () => `system s ( ${"soft 1 ( ".repeat(TEN_MB / 9)}`, expect: { line: 1, detail: /^Parse error: nesting deeper than \d+ levels$/ } },
      { name: "illegal characters", text: () => "-!{;@".repeat(TEN_MB / 5), expect: { systems: 0 } },
      { name: "a comment", text: () => `# ${"x".repeat(TEN_MB)}`, expect: { systems: 0 } },
      { name: "a string value", text: () => `system s ( x = '${"a".repeat(TEN_MB)}' )`, expect: { systems: 1 } },
      { name: "a list", text: () => `system s ( x = [${"'a',".repeat(TEN_MB / 4)}'a'] )`, expect: { systems: 1 } },
      { name: "an unclosed list", text: () => `system s ( x = [${"'a',".repeat(TEN_MB / 4)}`, expect: { line: 1, detail: /^Parse error: unexpected end of input$/ } },
      { name: "many features", text: () => `system s ( x = 1${" and x = 1".repeat(TEN_MB / 10)} )`, expect: { systems: 1 } },
      { name: "a recipe line without @end", text: () => `configure c ( @begin ${"x".repeat(TEN_MB)}`, expect: { line: 1, detail: /^Parse error: unexpected end of input in recipe$/ } },
    ];

    for (const { name, text, expect } of CASES) {
      test(name, () => {
        const input = text();
        assert.ok(input.length >= TEN_MB - 16 && !input.includes("\n"), "10 MB on one line");
        const { result, ms } = timed(() => outcome(input));
        assert.ok(ms < HANG_GUARD_MS, `took ${ms.toFixed(0)} ms`);
        if ("systems" in expect) {
          assert.ok("radl" in result, `parses (got ${"error" in result ? result.error.message.slice(0, 200) : ""})`);
          assert.equal(result.radl.systems.length, expect.systems);
        } else {
          assert.ok("error" in result, "is rejected");
          assert.equal(result.error.line, expect.line);
          assert.match(result.error.detail.slice(0, 300), expect.detail);
        }
      });
    }

    test("10 MB documents that parse are also written and described in bounded time", () => {
      for (const text of [`system s ( x = '${"a".repeat(TEN_MB)}' )`, `system s ( x = [${"'a',".repeat(TEN_MB / 40)}'a'] )`, `system s ( cpu.count = ${"7".repeat(TEN_MB)} )`]) {
        const { ms } = timed(() => {
          const radl = parseRadlText(text);
          describeRadl(radl);
          dumpRadlJson(radl);
          return radl.toString();
        });
        assert.ok(ms < HANG_GUARD_MS, `took ${ms.toFixed(0)} ms`);
      }
    });

    test("a megabyte of systems on one line parses in bounded time", () => {
      const count = 60_000;
      const { result, ms } = timed(() => outcome(Array.from({ length: count }, (_, i) => `system s${i} ()`).join(" ")));
      assert.ok("radl" in result);
      assert.equal(result.radl.systems.length, count);
      assert.ok(ms < HANG_GUARD_MS, `took ${ms.toFixed(0)} ms`);
    });

    test("an integer too large for a double is written as inf instead of crashing", () => {
      // Python keeps such an int exactly; a JavaScript number overflows to Infinity. The text
      // form then holds `inf` (as Python writes an overflowing float), which does not re-parse.
      const radl = parseRadlText(`system s ( cpu.count = ${"9".repeat(400)} )`);
      assert.equal(radl.systems[0].getValue("cpu.count"), Infinity);
      assert.equal(radl.toString(), "system s (\ncpu.count = inf\n)\n\n");
      assert.ok("error" in outcome(radl.toString()));
    });
  });

  describe("nesting", () => {
    /** `system s ( <open>… y = 1 …) )` with `levels` feature lists in all (the system body is the first). */
    const nested = (open: string, levels: number) => `system s ( ${open.repeat(levels - 1)}y = 1${" )".repeat(levels - 1)} )`;

    for (const open of ["x contains ( ", "soft 1 ( "]) {
      test(`${open.trim()} nested to MAX_NESTING parses, is checked and written`, () => {
        const result = outcome(nested(open, MAX_NESTING));
        assert.ok("radl" in result);
        const text = result.radl.toString();
        assert.equal(text.split("(").length - 1, MAX_NESTING);
        assert.deepEqual(describeRadl(parseRadlText(text)).systems, describeRadl(result.radl).systems);
      });

      test(`${open.trim()} nested one level deeper is a RadlError`, () => {
        const error = expectError(nested(open, MAX_NESTING + 1));
        assert.equal(error.line, 1);
        assert.equal(error.detail, `Parse error: nesting deeper than ${MAX_NESTING} levels`);
      });

      test(`${open.trim()} nested 200000 levels is a RadlError, not a stack overflow`, () => {
        const { result, ms } = timed(() => outcome(nested(open, 200_000)));
        assert.ok("error" in result);
        assert.match(result.error.detail, /^Parse error: nesting deeper than/);
        assert.ok(ms < HANG_GUARD_MS);
      });
    }

    test("contains and soft nest together and count as one depth", () => {
      const mixed = (levels: number) => `system s (\n${"soft 1 ( x contains ( ".repeat(levels)}y = 1${" ) )".repeat(levels)} )`;
      // The system body is one level, each `soft 1 ( x contains (` two more.
      const deepest = Math.floor((MAX_NESTING - 1) / 2);
      assert.ok("radl" in outcome(mixed(deepest)));
      const error = expectError(mixed(deepest + 1));
      assert.equal(error.line, 2);
    });

    test("deeply nested RADL-JSON is a RadlError, not a stack overflow", () => {
      const deepArray = `[${"[".repeat(100_000)}${"]".repeat(100_000)}]`;
      const deepClass = `[{"class": ${"[".repeat(100_000)}${"]".repeat(100_000)}}]`;
      const contains = (levels: number) => `[{"class": "system", "id": "s", "a": ${'{"a": '.repeat(levels - 1)}1${"}".repeat(levels - 1)}}]`;
      const softs = (levels: number) => `[{"class": "system", "id": "s", ${'"softs": [{"weight": 1, "items": {'.repeat(levels - 1)}"a": 1${"}}]".repeat(levels - 1)}}]`;
      for (const text of [deepArray, deepClass, contains(100_000), softs(100_000), contains(MAX_NESTING + 1), softs(MAX_NESTING + 1)]) {
        const result = outcome(text, parseRadlJson);
        assert.ok("error" in result);
        assert.equal(result.error.line, null);
      }
      const errorOf = (text: string) => {
        const result = outcome(text, parseRadlJson);
        return "error" in result ? result.error.detail : null;
      };
      assert.equal(errorOf(deepArray), "A RADL-JSON element must be an object, not an array.");
      assert.equal(errorOf(contains(MAX_NESTING + 1)), `RADL-JSON features nested deeper than ${MAX_NESTING} levels.`);
      for (const text of [contains(MAX_NESTING), softs(MAX_NESTING)]) {
        const result = outcome(text, parseRadlJson);
        assert.ok("radl" in result);
        useDocument(result.radl);
      }
    });
  });

  describe("recipes", () => {
    test("a recipe without @end fails at the end of the input", () => {
      const error = expectError("network n ()\nconfigure c (\n@begin\n---\n- a: 1\n");
      assert.equal(error.detail, "Parse error: unexpected end of input in recipe");
      // The reference appends a newline to the input, so the open recipe ends one line further.
      assert.equal(error.line, 6);
      assert.equal(expectError("configure c (\n@begin\n---\n- a: 1").line, 4);
    });

    test("an indented @end does not close the recipe", () => {
      const error = expectError("configure c (\n@begin\n---\n  @end\n)\n");
      assert.equal(error.detail, "Parse error: unexpected end of input in recipe");
    });

    test("@begin@end on one line is a syntax error", () => {
      const error = expectError("system s ()\nconfigure c ( @begin@end )");
      assert.equal(error.line, 2);
      assert.match(error.detail, /^Parse error in: LexToken\(RECIPE_END,'@end',2,/);
    });

    test("a recipe without @begin is a syntax error", () => {
      // `---` and `- ` are illegal characters in body mode and skipped: `a` on line 3 is the first token.
      const error = expectError("configure c (\n---\n- a: 1\n)");
      assert.equal(error.line, 3);
      assert.match(error.detail, /^Parse error in: LexToken\(VAR,'a',3,/);
    });

    test("@end without @begin is skipped as illegal characters and then fails", () => {
      const error = expectError("configure c (\n@end\n)");
      assert.match(error.detail, /^Parse error in: LexToken\(VAR,'end',2,/);
    });

    test("many recipe lines without @end are rejected in bounded time", () => {
      const { result, ms } = timed(() => outcome(`configure c (\n@begin\n${"- a: 1\n".repeat(500_000)}`));
      assert.ok("error" in result);
      assert.equal(result.error.line, 500_003);
      assert.ok(ms < HANG_GUARD_MS);
    });
  });

  describe("parametric values (§1.7)", () => {
    test("@input.X@ as a value is a syntax error: the server does not substitute it", () => {
      const error = expectError("system front (\ncpu.count >= @input.CPUs@ and\nmemory.size >= 2g\n)");
      assert.equal(error.line, 2);
      assert.equal(error.detail, "Parse error in: LexToken(VAR,'input.CPUs',2,29)");
    });

    test("@input.X@ as an id loses its @ (illegal characters are skipped, §1.6)", () => {
      const result = outcome("system @input.name@ (\ncpu.count >= 1\n)");
      assert.ok("radl" in result);
      assert.equal(result.radl.systems[0].name, "input.name");
    });

    test("@input.X@ inside a string or a recipe is ordinary text", () => {
      const result = outcome("system s ( x = '@input.X@' )\nconfigure c (\n@begin\n- a: '@input.X@'\n@end\n)");
      assert.ok("radl" in result);
      assert.equal(result.radl.systems[0].getValue("x"), "@input.X@");
    });
  });

  describe("empty documents", () => {
    const EMPTY = ["", " ", "\n\n\n", "\t \r\n", "# only a comment", "# one\n  # two\n\t# three\n", "#", "\0\0"];
    for (const text of EMPTY) {
      test(`${JSON.stringify(text)} is an empty, valid RADL`, () => {
        const result = outcome(text);
        assert.ok("radl" in result);
        const { radl } = result;
        assert.equal(radl.description, null);
        assert.equal(radl.systems.length + radl.networks.length + radl.configures.length + radl.deploys.length + radl.ansibleHosts.length, 0);
        assert.equal(radl.contextualize.items, null);
        assert.equal(radl.toString(), "");
        assert.equal(dumpRadlJson(radl, false), "[]");
      });
    }

    test("an empty RADL-JSON array is an empty RADL", () => {
      assert.equal(parseRadl("[]").toString(), "");
      assert.equal(parseRadl("  [ ]\n").systems.length, 0);
    });
  });
});
