// Property-based tests of the RADL library: generated documents (as RADL *text*) must survive
// the text and JSON serializations of spec §7 and pass `check` (§5).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { checkRadl, describeRadl, dumpRadlJson, parseRadlJson, parseRadlText, type Radl } from "../../../core/radl/index.ts";

/** 200 runs keep the file at a few seconds; set RADL_PROPERTY_RUNS for a longer search. */
const NUM_RUNS = Number(process.env.RADL_PROPERTY_RUNS ?? 200);

/**
 * Generation mode. `json` restricts the documents to what RADL-JSON can represent without
 * loss (spec §7.2): JSON stores numbers in base units with no unit, keeps only `=`, `_min` and
 * `_max` (so `>`/`<` and the operators of strings are lost, and an interval such as
 * `>= 5 and = 5` comes back as `= 5`), and JavaScript's JSON cannot tell `1.0` from `1`, so a
 * float with an integral value comes back as an int. In that mode numbers have no unit, use
 * `=`, `>=`, `<=` or a `>= a and <= b` pair with a < b, and floats are never integral.
 */
interface Mode {
  json: boolean;
}

const TEXT: Mode = { json: false };
const JSON_SAFE: Mode = { json: true };

// ---------------------------------------------------------------------------------------------
// Lexical pieces

const KEYWORDS = new Set(["description", "network", "system", "ansible", "configure", "contextualize", "deploy", "soft", "and", "contains", "option", "step", "with"]);

/** Blanks between tokens (§1.1, §1.2): spaces, tabs, newlines, CRLF and comments. */
const ws = fc.constantFrom(" ", "  ", "\t", "\n", " \n  ", "\r\n", " # a comment with ( ) ' \" and @begin @end\n", "\n# whole-line comment\n\t");
/** Blanks where none are also fine (around operators, parentheses and commas). */
const optWs = fc.oneof(fc.constant(""), ws);

/** Identifiers (§1.3): a first character in [A-Za-z_.], then letters (Unicode), digits, `_ . -`. */
const identRest = fc.array(fc.constantFrom("a", "b", "z", "Q", "0", "7", "_", "-", "é", "ß", "λ", "名", "٣"), { maxLength: 6 });
const ident = fc
  .tuple(fc.constantFrom("a", "n", "s", "w", "F", "_"), identRest)
  .map(([first, rest]) => first + rest.join(""))
  .filter((id) => !KEYWORDS.has(id) && !id.endsWith("."));
/**
 * Names of features without a rule (so any value is accepted): never a keyword or a JSON key
 * (`class`, `id`, `softs`, `*_min`, …), sometimes a member of Object.prototype.
 */
const freeName = fc.oneof(
  { weight: 9, arbitrary: ident.map((id) => `x_${id}`).filter((name) => !/_(min|max)$/.test(name)) },
  { weight: 1, arbitrary: fc.constantFrom("constructor", "__proto__", "toString", "hasOwnProperty", "valueOf.x") },
);

/** One character that is ordinary text inside any string: no quote, no backslash, no newline. */
const plainChar = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom("a", "Z", "0", " ", "-", "_", ".", "/", ":", "=", "(", ")", "#", "@", "[", "]", ",", "<", ">", "é", "ñ", "λ", "日本", "🙂", "\t", " and ", "@end", "@begin", "\r") },
  { weight: 1, arbitrary: fc.string({ unit: "grapheme", minLength: 1, maxLength: 1 }).filter((c) => !/['"\\\n]/.test(c)) },
);
/** A backslash pair (§1.4): never ends a string and is kept verbatim. */
const escapePair = fc.constantFrom("'", '"', "\\", "n", "t", "x", "é").map((c) => `\\${c}`);
/** Contents of `'…'`: may hold `"`, backslash pairs and newlines (multi-line strings). */
const singleQuoted = fc.array(fc.oneof({ weight: 6, arbitrary: plainChar }, fc.constant('"'), escapePair, fc.constant("\n")), { maxLength: 12 }).map((parts) => `'${parts.join("")}'`);
/** Contents of `"…"`: may hold `'` and backslash pairs, never a newline. */
const doubleQuoted = fc.array(fc.oneof({ weight: 6, arbitrary: plainChar }, fc.constant("'"), escapePair), { maxLength: 12 }).map((parts) => `"${parts.join("")}"`);
/** A string literal with a tricky value. */
const stringLit = fc.oneof(singleQuoted, doubleQuoted);

/** A quoted literal of a given value that contains no quote, backslash or newline. */
const quoted = (value: string) => fc.constantFrom(`'${value}'`, `"${value}"`);

const listLit = fc
  .tuple(fc.array(fc.tuple(optWs, stringLit, optWs).map((p) => p.join("")), { maxLength: 3 }), optWs)
  .map(([items, blank]) => `[${items.join(",")}${blank}]`);

/** `prop op value` with optional blanks around the operator. */
const feature = (prop: string, op: fc.Arbitrary<string>, value: fc.Arbitrary<string>) =>
  fc.tuple(optWs, op, optWs, value).map(([a, o, b, v]) => `${prop}${a}${o}${b}${v}`);

/** Features joined with `and` (blanks on both sides, as `1mand` would lex as a unit). */
const joinFeatures = (features: fc.Arbitrary<string[]>) =>
  features.chain((list) => fc.shuffledSubarray(list, { minLength: list.length, maxLength: list.length })).chain((list) =>
    fc.array(fc.tuple(ws, ws), { minLength: list.length, maxLength: list.length }).map((blanks) =>
      list.map((f, i) => (i === 0 ? f : `${blanks[i][0]}and${blanks[i][1]}${f}`)).join(""),
    ),
  );

/** `( features )` with blanks. */
const body = (features: fc.Arbitrary<string[]>) => fc.tuple(optWs, joinFeatures(features), optWs).map(([a, f, b]) => `(${a}${f}${b})`);

/** Zero or more features out of a list of optional ones. */
const some = (...arbitraries: fc.Arbitrary<string>[]) =>
  fc.tuple(...arbitraries.map((a) => fc.option(a, { nil: undefined }))).map((items) => items.filter((f): f is string => f !== undefined));

const concat = (...arbitraries: fc.Arbitrary<string[]>[]) => fc.tuple(...arbitraries).map((lists) => lists.flat());

// ---------------------------------------------------------------------------------------------
// Numbers (§1.3, §3.2, §6)

/** Renders a number: an int, or a float written `5.`, `5.0` or with decimals. */
function renderNumber(value: number, float: boolean, trailing: "." | ".0" | ""): string {
  if (!float) return String(value);
  if (!Number.isInteger(value)) return String(value);
  return trailing === "" ? `${value}.0` : `${value}${trailing}`;
}

/**
 * Constraints on one number property that always share at least one value `v` (so they never
 * make disjoint intervals), e.g. `memory.size >= 512m and memory.size <= 2048 m`.
 */
function numberFeatures(prop: string, units: readonly string[], mode: Mode): fc.Arbitrary<string[]> {
  const unit = units.length ? fc.constantFrom(...units) : fc.constant("");
  const unitText = (u: string) => (u === "" ? fc.constant("") : fc.constantFrom(u, ` ${u}`));
  const num = (value: number) =>
    fc.tuple(fc.boolean(), fc.constantFrom<"." | ".0" | "">(".", ".0", "")).map(([float, trailing]) => renderNumber(value, float, trailing));
  const written = (op: string, value: fc.Arbitrary<string>, u: string) =>
    fc.tuple(value, unitText(u)).chain(([v, ut]) => feature(prop, fc.constant(op), fc.constant(v + ut)));

  if (mode.json) {
    // Values are ints or floats with a fraction; a pair has a < b.
    const value = (base: number) => fc.constantFrom(base, base + 0.5, base + 0.25).map(String);
    return fc.oneof(
      fc.tuple(fc.constantFrom("=", ">=", "<="), fc.nat(5000)).chain(([op, v]) => written(op, value(v), "").map((f) => [f])),
      fc.tuple(fc.nat(5000), fc.integer({ min: 1, max: 5000 })).chain(([a, d]) =>
        fc.tuple(written(">=", value(a), ""), written("<=", value(a + d), "")),
      ),
    );
  }
  // Lower bounds are below v and upper bounds above it: a tie between `= v` and `>= v` is legal
  // but its text form does not re-parse to the same pair of ends (see model.test.ts), so it is
  // left to the model tests.
  return fc.tuple(unit, fc.integer({ min: 1, max: 5000 }), fc.array(fc.constantFrom("=", ">=", ">", "<=", "<"), { minLength: 1, maxLength: 3 })).chain(([u, v, ops]) =>
    fc.tuple(
      ...ops.map((op) => {
        if (op === "=") return written(op, num(v), u);
        if (op.startsWith(">")) return fc.nat(v - 1).chain((a) => written(op, fc.constantFrom(String(a), `${a}.5`, `${a}.`), u));
        return fc.integer({ min: 1, max: 1000 }).chain((d) => written(op, fc.constantFrom(String(v + d), `${v + d}.5`), u));
      }),
    ),
  );
}

const single = (arbitrary: fc.Arbitrary<string>) => arbitrary.map((f) => [f]);
const eq = fc.constant("=");

/** Any case of a word: check compares units and enumerated values case-insensitively. */
const anyCase = (word: string) => fc.array(fc.boolean(), { minLength: word.length, maxLength: word.length }).map((upper) => [...word].map((c, i) => (upper[i] ? c.toUpperCase() : c.toLowerCase())).join(""));
const oneOfAnyCase = (...words: string[]) => fc.constantFrom(...words).chain(anyCase);

const MEMORY_UNITS = ["", "B", "k", "KB", "m", "M", "MB", "g", "G", "GB", "t", "TB", "Ki", "KiB", "Mi", "mi", "MiB", "Gi", "GI", "gib", "Ti", "TiB"];

// ---------------------------------------------------------------------------------------------
// Features without a rule (any name, operator, value, unit)

/** The features of one property (several for an interval, or several `contains`). */
interface Group {
  name: string;
  features: string[];
}

function freeFeature(mode: Mode): fc.Arbitrary<Group> {
  const anyOp = mode.json ? eq : fc.constantFrom("=", "<", ">", "<=", ">=");
  return freeName.chain((name) =>
    fc
      .oneof(
        numberFeatures(name, mode.json ? [] : ["", "ms", "cores", "Gi", "e3"], mode),
        single(feature(name, anyOp, stringLit)),
        single(feature(name, eq, listLit)),
      )
      .map((features) => ({ name, features })),
  );
}

/** `prop contains ( … )` with free inner features (nested contains included), by inner name. */
function freeContains(mode: Mode, depth = 0): fc.Arbitrary<Group> {
  const inner = depth < 2 ? fc.oneof({ weight: 3, arbitrary: freeFeature(mode) }, freeContains(mode, depth + 1)) : freeFeature(mode);
  return freeName.chain((name) =>
    fc.uniqueArray(ident, { minLength: 1, maxLength: 2 }).chain((names) =>
      fc
        .tuple(
          ...names.map((n) =>
            fc
              .tuple(optWs, body(concat(single(feature("name", eq, quoted(n))), groups(inner, 2))))
              .map(([blank, b]) => `${name} contains${blank === "" ? " " : blank}${b}`),
          ),
        )
        .map((features) => ({ name, features })),
    ),
  );
}

/** Up to `max` groups with distinct property names, flattened. */
function groups(group: fc.Arbitrary<Group>, max: number): fc.Arbitrary<string[]> {
  return fc.uniqueArray(group, { maxLength: max, selector: (g) => g.name }).map((list) => list.flatMap((g) => g.features));
}

// ---------------------------------------------------------------------------------------------
// Sentences

interface Ids {
  networks: string[];
  networkRefs: boolean[];
  systems: string[];
  systemRefs: boolean[];
  configures: string[];
  ansible: string[];
  description: string | null;
}

/** §4.3.1 outports values. */
const port = fc.nat(65535).map(String);
const proto = fc.constantFrom("tcp", "udp", "icmp");
const cidr = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(32)).map(([a, b, c, d, n]) => `${a}.${b}.${c}.${d}/${n}`);
const outportEntry = fc.tuple(fc.option(cidr, { nil: undefined }), fc.integer({ min: 0, max: 4 }), port, port, proto).map(([c, shape, p1, p2, pr]) => {
  const entry = [p1, `${p1}/${pr}`, `${p1}-${p2}`, `${p1}/${pr}-${p2}/${pr}`, `${p1}:${p2}/${pr}`][shape];
  return c ? `${c}-${entry}` : entry;
});
const outports = fc.array(outportEntry, { minLength: 1, maxLength: 4 }).map((entries) => entries.join(","));

function network(id: string, mode: Mode): fc.Arbitrary<string> {
  const features = concat(
    some(
      feature("outbound", eq, oneOfAnyCase("yes", "no").chain(quoted)),
      feature("outports", eq, outports.chain(quoted)),
      feature("provider_id", eq, stringLit),
      feature("cidr", eq, quoted("10.*.*.0/24")),
    ),
    groups(freeFeature(mode), 2),
  );
  return fc.tuple(ws, body(features)).map(([blank, b]) => `network ${id}${blank}${b}`);
}

function ansible(id: string): fc.Arbitrary<string> {
  const features = concat(
    single(feature("host", eq, quoted("ansible.example.org"))),
    single(feature("credentials.username", eq, stringLit)),
    fc.oneof(single(feature("credentials.password", eq, stringLit)), single(feature("credentials.private_key", eq, singleQuoted))),
  );
  return body(features).map((b) => `ansible ${id} ${b}`);
}

function descriptionSentence(id: string, mode: Mode): fc.Arbitrary<string> {
  const features = concat(some(feature("name", eq, stringLit), feature("namespace", eq, quoted("ns-1"))), groups(freeFeature(mode), 1));
  return body(features).map((b) => `description ${id} ${b}`);
}

const version = fc.constantFrom("", "12", "12.04", "7.1.2", "2.10");

/** An application `contains` group (§5.2 rules: name, version, path, preinstalled). */
function application(name: string, mode: Mode): fc.Arbitrary<string> {
  const features = concat(
    single(feature("name", eq, quoted(name))),
    some(
      feature("version", mode.json ? eq : fc.constantFrom("=", ">=", "<"), version.chain(quoted)),
      feature("path", eq, quoted("/opt/app")),
      feature("preinstalled", eq, oneOfAnyCase("yes", "no").chain(quoted)),
    ),
  );
  return body(features).map((b) => `disk.0.applications contains ${b}`);
}

/** Features that may appear in a system and in its soft groups. */
function softableFeatures(mode: Mode): fc.Arbitrary<string[]> {
  return concat(
    fc.option(numberFeatures("cpu.count", [], mode), { nil: [] }),
    fc.option(numberFeatures("memory.size", mode.json ? [] : MEMORY_UNITS, mode), { nil: [] }),
    some(
      feature("cpu.arch", eq, oneOfAnyCase("x86_64", "i686", "i386", "arm64", "aarch64").chain(quoted)),
      feature("disk.0.os.flavour", eq, fc.constantFrom("ubuntu", "centos", "debian").chain(quoted)),
      feature("instance_type", eq, stringLit),
    ),
  );
}

function system(id: string, ids: Ids, mode: Mode): fc.Arbitrary<string> {
  const networks = ids.networks;
  const interfaces = fc.integer({ min: 0, max: networks.length }).chain((count) =>
    fc.tuple(
      ...Array.from({ length: count }, (_, i) =>
        concat(
          single(feature(`net_interface.${i}.connection`, eq, fc.constantFrom(...networks).chain(quoted))),
          some(
            feature(`net_interface.${i}.ip`, eq, quoted(`10.0.0.${i + 1}`)),
            feature(`net_interface.${i}.dns_name`, eq, fc.constantFrom("node-#N#", "front.example.org", "wn-#N#.localdomain").chain(quoted)),
          ),
        ),
      ),
    ).map((l) => l.flat()),
  );
  const dataDisks = fc.integer({ min: 0, max: 2 }).chain((count) =>
    fc.tuple(
      ...Array.from({ length: count }, (_, i) =>
        concat(
          numberFeatures(`disk.${i + 1}.size`, mode.json ? [] : ["GB", "G", "gi", "M", ""], mode),
          some(
            feature(`disk.${i + 1}.type`, eq, quoted("ssd")),
            feature(`disk.${i + 1}.device`, eq, quoted("hdb")),
            feature(`disk.${i + 1}.mount_path`, eq, quoted("/mnt/data")),
            feature(`disk.${i + 1}.fstype`, eq, quoted("ext4")),
          ),
        ),
      ),
    ).map((l) => l.flat()),
  );
  const apps = fc.uniqueArray(fc.constantFrom("ansible.roles.grycap.slurm", "java", "galaxy", "app-λ"), { maxLength: 3 }).chain((names) =>
    names.length ? fc.tuple(...names.map((n) => application(n, mode))) : fc.constant([] as string[]),
  );
  const softs = fc.array(
    fc.tuple(fc.nat(200), optWs, body(concat(softableFeatures(mode), groups(freeFeature(mode), 1)))).map(
      ([weight, blank, b]) => `soft ${weight}${blank === "" ? " " : blank}${b}`,
    ),
    { maxLength: 3 },
  );
  const features = concat(
    softableFeatures(mode),
    fc.option(numberFeatures("cpu.performance", ["ECU", "gceu", "HRZ"], mode), { nil: [] }).map((f) => (mode.json ? [] : f)),
    fc.option(numberFeatures("gpu.count", [], mode), { nil: [] }),
    fc.option(numberFeatures("price", [], mode), { nil: [] }),
    some(
      feature("spot", eq, oneOfAnyCase("yes", "no").chain(quoted)),
      feature("image_type", eq, oneOfAnyCase("vmdk", "qcow", "qcow2", "raw").chain(quoted)),
      feature("disk.0.image.url", eq, fc.oneof(fc.constantFrom("one://server:2633/12", "docker://ubuntu:22.04").chain(quoted), listLit)),
      feature("disk.0.os.name", eq, oneOfAnyCase("linux", "windows", "mac os x").chain(quoted)),
      feature("disk.0.os.version", mode.json ? eq : fc.constantFrom("=", ">=", "<=", ">", "<"), version.chain(quoted)),
      feature("disk.0.os.credentials.username", eq, stringLit),
      feature("disk.0.os.credentials.password", eq, stringLit),
      feature("disk.0.os.credentials.private_key", eq, singleQuoted),
      feature("disk.0.os.credentials.new.password", eq, fc.constantFrom("Passw0rd!", "Ñandú-2024", "S3cr3t#pass").chain(quoted)),
      ...(ids.ansible.length ? [feature("ansible_host", eq, fc.constantFrom(...ids.ansible).chain(quoted))] : []),
    ),
    networks.length ? interfaces : fc.constant([]),
    dataDisks,
    apps,
    softs,
    groups(fc.oneof({ weight: 3, arbitrary: freeFeature(mode) }, freeContains(mode)), 3),
  );
  return fc.tuple(ws, body(features)).map(([blank, b]) => `system ${id}${blank}${b}`);
}

/** Valid YAML recipes with text that must stay recipe text (quotes, `#`, parentheses, `@end` indented). */
const RECIPES = [
  "---\n- hosts: all\n  tasks:\n  - shell: echo \"Hi\" > /tmp/x   # not a RADL comment ( )\n",
  "  - tasks: []\n",
  "#cloud-config\nruncmd:\n  - [ sh, -c, \"echo 'quoted' && echo ü\" ]\n  - \"@end is text when indented\"\n",
  "---\n- roles:\n  - { role: 'grycap.slurm', slurm_type_of_node: 'front' }\n\n",
  "---\n",
];

function configure(id: string): fc.Arbitrary<string> {
  return fc.oneof(
    fc.constant(`configure ${id}`),
    optWs.map((blank) => `configure ${id} (${blank})`),
    fc.tuple(fc.constantFrom(...RECIPES), fc.constantFrom("(\n@begin\n", "( @begin\n", "(@begin\n"), fc.constantFrom("\n)", " )", ")")).map(
      ([recipe, open, close]) => `configure ${id} ${open}${recipe}@end${close}`,
    ),
  );
}

function contextualize(ids: Ids, mode: Mode): fc.Arbitrary<string> {
  const systems = ids.systems;
  const configures = ids.configures;
  const option = fc.oneof(
    fc.tuple(optWs, quoted("2.9.0")).map(([blank, v]) => `option ansible_version =${blank}${v}`),
    mode.json ? fc.constant("option retries = 3") : fc.constantFrom("option retries >= 3", "option delay = 2.5", "option delay < 1."),
  );
  const item =
    systems.length && configures.length
      ? fc
          .tuple(fc.constantFrom(...systems), fc.constantFrom(...configures), fc.option(fc.nat(5), { nil: undefined }), fc.option(fc.constantFrom("Ansible", "cloud_init"), { nil: undefined }))
          .map(([s, c, step, tool]) => `system ${s} configure ${c}${step === undefined ? "" : ` step ${step}`}${tool === undefined ? "" : ` with ${tool}`}`)
      : null;
  return fc
    .tuple(fc.option(fc.nat(3600), { nil: undefined }), fc.uniqueArray(option, { maxLength: 2, selector: (o) => o.split(" ")[1] }), item ? fc.array(item, { maxLength: 4 }) : fc.constant([]), ws)
    .map(([maxTime, options, items, blank]) => `contextualize${maxTime === undefined ? "" : ` ${maxTime}`} (${blank}${[...options, ...items].join(blank)}${blank})`);
}

function deploy(ids: Ids): fc.Arbitrary<string> {
  return fc
    .tuple(fc.constantFrom(...ids.systems), fc.nat(4), fc.option(fc.constantFrom("kube", "ost-1", "one_cloud"), { nil: undefined }))
    .map(([s, n, cloud]) => `deploy ${s} ${n}${cloud ? ` ${cloud}` : ""}`);
}

/** A whole valid document, its sentences in any order. */
function radlDocument(mode: Mode): fc.Arbitrary<string> {
  const idsArb: fc.Arbitrary<Ids> = fc
    .record({
      networks: fc.uniqueArray(ident, { maxLength: 3 }),
      systems: fc.uniqueArray(ident, { maxLength: 3 }),
      configures: fc.uniqueArray(ident, { maxLength: 3 }),
      ansible: fc.uniqueArray(ident, { maxLength: 2 }),
      description: fc.option(ident, { nil: null }),
    })
    .chain((ids) =>
      fc.record({
        networkRefs: fc.array(fc.boolean(), { minLength: ids.networks.length, maxLength: ids.networks.length }),
        systemRefs: fc.array(fc.integer({ min: 0, max: 4 }).map((n) => n === 0), { minLength: ids.systems.length, maxLength: ids.systems.length }),
      }).map((refs) => ({ ...ids, ...refs })),
    );
  return idsArb.chain((ids) => {
    const sentences: fc.Arbitrary<string>[] = [
      ...ids.networks.map((id, i) => (ids.networkRefs[i] ? fc.constant(`network ${id}`) : network(id, mode))),
      ...ids.systems.map((id, i) => (ids.systemRefs[i] ? fc.constant(`system ${id}`) : system(id, ids, mode))),
      ...ids.configures.map(configure),
      ...ids.ansible.map(ansible),
      ...(ids.description ? [descriptionSentence(ids.description, mode)] : []),
      fc.array(contextualize(ids, mode), { maxLength: 2 }).map((blocks) => blocks.join("\n")),
      ids.systems.length ? fc.array(deploy(ids), { maxLength: 3 }).map((d) => d.join("\n")) : fc.constant(""),
    ];
    return fc
      .tuple(...sentences)
      .chain((list) => fc.shuffledSubarray(list, { minLength: list.length, maxLength: list.length }))
      .chain((list) => fc.array(fc.constantFrom("\n", "\n\n", " ", "\r\n", "\n# between sentences\n"), { minLength: list.length, maxLength: list.length }).map((seps) => list.map((s, i) => s + seps[i]).join("")));
  });
}

// ---------------------------------------------------------------------------------------------
// Properties

/** What must survive a round trip: the description without the text (and so without lines). */
function structure(radl: Radl) {
  const { text: _text, ...rest } = describeRadl(radl);
  return rest;
}

/** Shows the generated document when a property fails. */
const withDocument = (check: (text: string) => void) => (text: string) => {
  try {
    check(text);
  } catch (error) {
    throw new Error(`for the document:\n${text}\n---\n${(error as Error).message}`, { cause: error });
  }
};

describe("RADL properties (generated documents)", () => {
  test("the generator produces documents with every kind of sentence", () => {
    const samples = fc.sample(radlDocument(TEXT), { numRuns: 100, seed: 42 });
    const all = samples.join("\n");
    for (const word of ["network", "system", "configure", "contextualize", "deploy", "ansible", "description", "contains", "soft", "@begin", "option", "step", "with", "outports", "#"]) {
      assert.ok(all.includes(word), `some sample contains ${word}`);
    }
  });

  test("parse(text(parse(x))) has the same structure as parse(x)", () => {
    fc.assert(
      fc.property(
        radlDocument(TEXT),
        withDocument((text) => {
          const radl = parseRadlText(text);
          const again = parseRadlText(radl.toString());
          assert.deepEqual(structure(again), structure(radl));
        }),
      ),
      { numRuns: NUM_RUNS },
    );
  });

  test("the text form is a fixed point after one pass", () => {
    fc.assert(
      fc.property(
        radlDocument(TEXT),
        withDocument((text) => {
          const once = parseRadlText(text).toString();
          assert.equal(parseRadlText(once).toString(), once);
        }),
      ),
      { numRuns: NUM_RUNS },
    );
  });

  test("parseRadlJson(dumpRadlJson(r)) has the same structure as r (unit-less documents)", () => {
    // JSON keeps numbers in base units with no unit (spec §7.2), so a document written with
    // `512m` comes back as `512000000`: the JSON-safe generator writes no units (see Mode).
    fc.assert(
      fc.property(
        radlDocument(JSON_SAFE),
        withDocument((text) => {
          const radl = parseRadlText(text);
          for (const pretty of [true, false]) {
            const json = dumpRadlJson(radl, pretty);
            assert.deepEqual(structure(parseRadlJson(json)), structure(radl), json);
          }
        }),
      ),
      { numRuns: NUM_RUNS },
    );
  });

  test("every generated document passes check, and so does its text form", () => {
    fc.assert(
      fc.property(
        fc.oneof(radlDocument(TEXT), radlDocument(JSON_SAFE)),
        withDocument((text) => {
          const radl = parseRadlText(text);
          checkRadl(radl);
          checkRadl(parseRadlText(radl.toString()));
        }),
      ),
      { numRuns: NUM_RUNS },
    );
  });
});
