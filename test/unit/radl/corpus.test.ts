import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { RadlError, checkRadl, describeRadl, detectFormat, dumpRadlJson, parseRadl, parseRadlJson, type Radl } from "../../../core/radl/index.ts";
import { loadCorpus } from "../../fixtures/corpus.ts";

const corpus = loadCorpus();

/**
 * Where the corpus README (written from a prototype) words an error differently from the
 * reference, only the stable start of the message is compared. docs/radl.md lists each case.
 */
const MESSAGE_FORMS: [RegExp, (expected: string) => string][] = [
  [/^Parse error/, () => "Parse error"],
  [/^Conflict adding `[^`]*`/, (expected) => expected.slice(0, expected.indexOf("`", 17))],
  [/^Disjoint intervals!\. Involved features: /, () => "Disjoint intervals!. Involved features: "],
  [/^Invalid YAML code: /, () => "Invalid YAML code: "],
];

/** Deliberate differences from the README's outcome; docs/radl.md gives the reasons. */
const DIFFERENT_OUTCOME: Record<string, { line: number; message: string }> = {
  "doc__source__client.rst__L635.radl": { line: 1, message: "Parse error in: LexToken(VAR,'from',1,0)" },
};

function outcome(text: string): { radl: Radl } | { error: RadlError } {
  try {
    const radl = parseRadl(text);
    checkRadl(radl);
    return { radl };
  } catch (error) {
    if (error instanceof RadlError) return { error };
    throw error;
  }
}

/** The document without line numbers or text: what must survive a round trip. */
function structure(radl: Radl) {
  const { text: _text, ...rest } = describeRadl(radl);
  return rest;
}

describe("the RADL corpus", () => {
  test("has all 228 documents", () => assert.equal(corpus.length, 228));

  for (const doc of corpus) {
    test(`${doc.file} gives the listed outcome`, () => {
      const result = outcome(doc.text);
      const deviation = DIFFERENT_OUTCOME[doc.file];
      if (deviation) {
        assert.ok("error" in result, "rejected");
        assert.equal(result.error.line, deviation.line);
        assert.equal(result.error.detail, deviation.message);
        return;
      }
      if (doc.expectedError === null) {
        assert.ok("radl" in result, `expected valid, got: ${"error" in result ? result.error.message : ""}`);
        return;
      }
      assert.ok("error" in result, `expected: line ${doc.expectedError.line}: ${doc.expectedError.message}`);
      assert.equal(result.error.line, doc.expectedError.line, result.error.message);
      const form = MESSAGE_FORMS.find(([pattern]) => pattern.test(doc.expectedError!.message));
      const expectedStart = form ? form[1](doc.expectedError.message) : doc.expectedError.message;
      assert.ok(result.error.detail.startsWith(expectedStart), `"${result.error.detail}" should start with "${expectedStart}"`);
    });
  }

  for (const doc of corpus.filter((d) => d.expectedError === null)) {
    test(`${doc.file} round-trips`, () => {
      const radl = parseRadl(doc.text);
      const text = radl.toString();
      const reparsed = parseRadl(text, "radl");
      checkRadl(reparsed);
      if (detectFormat(doc.text) === "radl") assert.deepEqual(structure(reparsed), structure(radl));
      else assert.deepEqual(structure(parseRadlJson(dumpRadlJson(radl))), structure(radl));
      assert.equal(reparsed.toString(), text, "the text form is stable after one pass");
    });
  }
});
