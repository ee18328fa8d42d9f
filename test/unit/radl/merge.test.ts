import assert from "node:assert/strict";
import { test } from "node:test";
import { RadlError, checkRadl, mergeRadl, parseAndCheckRadl, parseRadl, resolveReferences } from "../../../core/radl/index.ts";
import { GOLDEN_RADL } from "../../fixtures/golden.ts";

const stored = parseAndCheckRadl(`
network publica (outbound = 'yes')
network privada ()
system front (cpu.count >= 1 and net_interface.0.connection = 'publica')
system wn (cpu.count >= 2 and net_interface.0.connection = 'privada')
configure front (
@begin
- tasks: []
@end
)
contextualize 100 (system front configure front step 1)
deploy front 1
`);

test("references are replaced by the stored definitions", () => {
  const resolved = resolveReferences(parseRadl(`network publica\nsystem front\ndeploy front 2`), stored);
  checkRadl(resolved);
  assert.equal(resolved.systems[0].reference, false);
  assert.equal(resolved.systems[0].getValue("cpu.count"), 1);
  assert.equal(resolved.networks[0].isPublic(), true);
  assert.notEqual(resolved.systems[0], stored.systems[0], "a copy, not the stored object");
});

test("an unknown reference names the reference's class", () => {
  assert.throws(() => resolveReferences(parseRadl("system nope\ndeploy nope 1"), stored), (error: unknown) => {
    assert.ok(error instanceof RadlError);
    assert.equal(error.message, "Unknown reference in RADL to <class 'radl.radl.system'> 'nope'");
    return true;
  });
  assert.throws(() => resolveReferences(parseRadl("network nonet"), stored), /<class 'radl.radl.network'> 'nonet'/);
  assert.throws(() => resolveReferences(parseRadl("configure nope"), stored), /<class 'radl.radl.configure'> 'nope'/);
});

test("a resolved system still needs its networks in the same document (IM behaviour §5.2)", () => {
  const resolved = resolveReferences(parseRadl("system front\ndeploy front 1"), stored);
  assert.throws(() => checkRadl(resolved), /Invalid value in property 'net_interface.0.connection'/);
});

test("merging replaces systems and configures, keeps existing networks, replaces deploys", () => {
  const incoming = parseRadl(`
network publica (outbound = 'no')
network extra ()
system front (cpu.count >= 4 and net_interface.0.connection = 'publica')
configure front ()
deploy wn 3
`);
  const merged = mergeRadl(stored, incoming);
  checkRadl(merged);
  assert.equal(merged.getNetwork("publica")!.isPublic(), true, "a redefined network is ignored");
  assert.ok(merged.getNetwork("extra"), "a new network is added");
  assert.equal(merged.getSystem("front")!.getValue("cpu.count"), 4, "systems are replaced");
  assert.deepEqual(merged.systems.map((s) => s.name), ["front", "wn"], "in place");
  assert.equal(merged.getConfigure("front")!.recipes, "");
  assert.deepEqual(merged.deploys.map((d) => [d.system, d.vmNumber]), [["wn", 3]]);
  assert.equal(stored.getSystem("front")!.getValue("cpu.count"), 1, "the stored document is untouched");
  assert.equal(stored.deploys.length, 1);
});

test("merging without deploys keeps the stored ones; contextualize blocks merge", () => {
  const merged = mergeRadl(stored, parseRadl("contextualize 50 (system wn configure front step 2)"));
  assert.deepEqual(merged.deploys.map((d) => d.system), ["front"]);
  assert.equal(merged.contextualize.maxTime, 100);
  assert.deepEqual([...merged.contextualize.items!.values()].map((i) => [i.system, i.step]), [["front", 1], ["wn", 2]]);
});

test("contextualize () disables contextualization only when none was given before", () => {
  const withoutBlock = parseAndCheckRadl(GOLDEN_RADL.RADL);
  assert.equal(mergeRadl(withoutBlock, parseRadl("contextualize ()")).contextualize.items!.size, 0);
  assert.equal(mergeRadl(stored, parseRadl("contextualize ()")).contextualize.items!.size, 1);
  assert.equal(mergeRadl(withoutBlock, parseRadl("deploy front 1")).contextualize.items, null);
});

test("the description is replaced", () => {
  const first = mergeRadl(stored, parseRadl("description a (name = 'one')"));
  const second = mergeRadl(first, parseRadl("description b (name = 'two')"));
  assert.equal(second.description!.id, "b");
  assert.equal(second.description!.getValue("name"), "two");
});
