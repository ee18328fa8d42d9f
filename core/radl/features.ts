import { RadlError } from "./errors.ts";
import { pyFloatRepr, pyStrRepr } from "./python-repr.ts";
import { convertUnits } from "./units.ts";

export type Comparator = "=" | "<" | ">" | "<=" | ">=";
export type Operator = Comparator | "contains";
export type ValueType = "int" | "float" | "string" | "list" | "contains";

/**
 * What to do when a feature meets an existing one (`conflict`) or a property that is not set yet
 * (`missing`): raise, leave things as they are (`ignore`, `me`), or take the new one (`other`).
 */
export type MergePolicy = "error" | "ignore" | "me" | "other";

/** A plain value as features hold it; `contains` features hold a nested `Features`. */
export type SimpleValue = number | string | string[];

/** One constraint `prop op value[unit]` (spec §3.2). */
export class Feature {
  constructor(
    readonly prop: string,
    readonly operator: Operator,
    public value: SimpleValue | Features,
    public type: ValueType,
    public unit = "",
    readonly line: number | null = null,
  ) {}

  static number(prop: string, operator: Comparator, value: number, isFloat = !Number.isInteger(value), unit = "", line: number | null = null): Feature {
    return new Feature(prop, operator, value, isFloat ? "float" : "int", unit, line);
  }

  static string(prop: string, value: string, operator: Comparator = "=", line: number | null = null): Feature {
    return new Feature(prop, operator, value, "string", "", line);
  }

  static list(prop: string, value: string[], operator: Comparator = "=", line: number | null = null): Feature {
    return new Feature(prop, operator, value, "list", "", line);
  }

  static contains(prop: string, value: Features, line: number | null = null): Feature {
    return new Feature(prop, "contains", value, "contains", "", line);
  }

  /** A feature from a JavaScript value: numbers are int or float as written, arrays are lists. */
  static of(prop: string, value: SimpleValue, operator: Comparator = "=", unit = ""): Feature {
    if (typeof value === "number") return Feature.number(prop, operator, value, undefined, unit);
    if (Array.isArray(value)) return Feature.list(prop, value, operator);
    return Feature.string(prop, value, operator);
  }

  get isNumber(): boolean {
    return this.type === "int" || this.type === "float";
  }

  /** The value; numbers are converted to `unit`, or to base units (bytes) when they have one. */
  getValue(unit?: string): SimpleValue | Features {
    if (!this.isNumber) return this.value;
    return convertUnits(this.value as number, this.type === "float", this.unit, unit ?? "");
  }

  /** The number in base units, for comparisons. */
  base(): number {
    return this.getValue() as number;
  }

  /** The operator as a Python/JS comparison (`=` becomes `==`). */
  getLogOperator(): string {
    return this.operator === "=" ? "==" : this.operator;
  }

  clone(): Feature {
    const value =
      this.value instanceof Features ? this.value.clone() : Array.isArray(this.value) ? [...this.value] : this.value;
    return new Feature(this.prop, this.operator, value, this.type, this.unit, this.line);
  }

  /** Same constraint (lines are not compared). */
  equals(other: Feature): boolean {
    if (this.prop !== other.prop || this.operator !== other.operator || this.type !== other.type || this.unit !== other.unit) return false;
    if (this.value instanceof Features) return other.value instanceof Features && this.value.equals(other.value);
    return sameSimpleValue(this.value, other.value as SimpleValue);
  }

  toStructure(): FeatureStructure {
    return featureToStructure(this);
  }

  static fromStructure(structure: FeatureStructure): Feature {
    return featureFromStructure(structure);
  }

  /** The RADL text of this feature (spec §7.1). */
  toString(): string {
    if (this.value instanceof Features) return `${this.prop} contains (${this.value.toString()})`;
    return `${this.prop} ${this.operator} ${valueToText(this.value, this.type, this.unit)}`;
  }
}

/** RADL text of a value, e.g. `512m`, `1.0`, `'text'`, `['a','b']`. */
export function valueToText(value: SimpleValue, type: ValueType, unit = ""): string {
  switch (type) {
    case "int": return intToText(value as number) + unit;
    case "float": return pyFloatRepr(value as number) + unit;
    case "list": return `[${(value as string[]).map(quoteString).join(",")}]`;
    default: return quoteString(value as string);
  }
}

function intToText(value: number): string {
  if (!Number.isFinite(value)) return pyFloatRepr(value); // an int literal of 309+ digits overflows to inf
  return Number.isSafeInteger(value) ? String(value) : BigInt(Math.round(value)).toString();
}

/**
 * Quotes a string value so that it lexes back to the same characters: single quotes unless the
 * value holds a `'` that no backslash protects (then double quotes, if that is possible).
 */
export function quoteString(value: string): string {
  if (!hasBareQuote(value, "'")) return `'${value}'`;
  if (!hasBareQuote(value, '"') && !value.includes("\n")) return `"${value}"`;
  return `'${escapeBareQuotes(value)}'`;
}

function hasBareQuote(value: string, quote: "'" | '"'): boolean {
  // Most values hold no quote at all, which the native search tells fastest.
  if (!value.includes(quote)) return false;
  const quoteCode = quote.charCodeAt(0);
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code === 92 /* \ */) i++;
    else if (code === quoteCode) return true;
  }
  return false;
}

function escapeBareQuotes(value: string): string {
  let out = "";
  for (let i = 0; i < value.length; i++) {
    if (value[i] === "\\" && i + 1 < value.length) {
      out += value[i] + value[i + 1];
      i++;
    } else out += value[i] === "'" ? "\\'" : value[i];
  }
  return out;
}

function sameSimpleValue(a: SimpleValue, b: SimpleValue): boolean {
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((item, i) => item === b[i]);
  return a === b;
}

/** A weighted group of preferred constraints: `soft W ( … )`. */
export class SoftFeatures {
  readonly prop = SOFT;
  readonly features: Features;

  constructor(
    readonly weight: number,
    features: Features | Iterable<FeatureLike> = [],
    readonly line: number | null = null,
  ) {
    this.features = features instanceof Features ? features : new Features(features);
  }

  clone(): SoftFeatures {
    return new SoftFeatures(this.weight, this.features.clone(), this.line);
  }

  equals(other: SoftFeatures): boolean {
    return this.weight === other.weight && this.features.equals(other.features);
  }

  toString(): string {
    return `soft ${this.weight} ( ${this.features.toString()} )`;
  }
}

export const SOFT = "__soft__";

export type FeatureLike = Feature | SoftFeatures;

/**
 * What a property holds. Most properties hold one feature, kept as it is: a string or list value,
 * a `contains` feature, or a number constraint, whose operator gives the ends of its interval
 * (`=` both, `>`/`>=` the low one, `<`/`<=` the high one). Only combined constraints need an
 * `Interval` or a `ContainsGroup`. (A document has hundreds of thousands of features; an object
 * around each made the model a fifth larger, and parsing slower for the garbage collector's copying.)
 */
type Entry = Feature | Interval | ContainsGroup | SoftFeatures[];

/** A number interval with ends from different features, or with one feature at ends its operator does not give. */
class Interval {
  constructor(
    readonly low: Feature | null,
    readonly high: Feature | null,
  ) {}
}

/** The `contains` features of a property (more than one), by the value of their inner `name`. */
class ContainsGroup {
  constructor(readonly byName: Map<SimpleValue | null, Feature>) {}
}

function isInterval(entry: Entry): entry is Feature | Interval {
  return entry instanceof Interval || (entry instanceof Feature && entry.isNumber);
}

/** A lone string or list feature. */
function isSingle(entry: Entry): entry is Feature {
  return entry instanceof Feature && !entry.isNumber && !(entry.value instanceof Features);
}

/** The inner `name` that groups a `contains` feature. */
function containedName(feature: Feature): SimpleValue | null {
  return ((feature.value as Features).getValue("name") as SimpleValue | undefined) ?? null;
}

/** The low end of a lone number feature's interval. */
function lowEnd(feature: Feature): Feature | null {
  return feature.operator === "=" || feature.operator === ">" || feature.operator === ">=" ? feature : null;
}

function highEnd(feature: Feature): Feature | null {
  return feature.operator === "=" || feature.operator === "<" || feature.operator === "<=" ? feature : null;
}

function endsOf(entry: Feature | Interval): { low: Feature | null; high: Feature | null } {
  return entry instanceof Interval ? entry : { low: lowEnd(entry), high: highEnd(entry) };
}

/** The most features a set keeps as a plain list, whose lookups scan it. */
const MAX_PLAIN_FEATURES = 64;

/**
 * Whether features can stay a plain list: nothing combines (each property once, none named like
 * the soft groups' key), and the list is their listing order (soft groups next to each other).
 */
function isPlainList(features: readonly FeatureLike[]): boolean {
  if (features.length > MAX_PLAIN_FEATURES) return false;
  let softsSeen = false;
  for (let i = 0; i < features.length; i++) {
    const feature = features[i];
    if (feature instanceof SoftFeatures) {
      if (softsSeen && !(features[i - 1] instanceof SoftFeatures)) return false;
      softsSeen = true;
      continue;
    }
    if (feature.prop === SOFT) return false;
    for (let j = 0; j < i; j++) if (features[j].prop === feature.prop) return false;
  }
  return true;
}

/**
 * A set of features keyed by property (spec §3.2): number constraints on one property intersect
 * into an interval, strings and lists must agree, `contains` features are grouped by their inner
 * `name`, soft groups are kept in order.
 *
 * Most sets are built once from a document and then only listed (check, text) or looked up a few
 * times, so while nothing combines they keep the plain list (lookups scan it) and build the
 * property table on the first change: a table per system was a quarter of a parsed document's
 * memory, and parsing large documents is bound by the garbage collector's copying.
 */
export class Features {
  /** The features while they are a plain list (see `isPlainList`), else null. */
  private plain: FeatureLike[] | null = null;
  /** The entries by property, once built; null while the features are a plain list. */
  private props: Map<string, Entry> | null = null;

  constructor(features: Iterable<FeatureLike> = []) {
    const list = Array.from(features);
    if (isPlainList(list)) this.plain = list;
    else for (const feature of list) this.addFeature(feature);
  }

  /** The entries by property, built from the plain list the first time they are needed. */
  private table(): Map<string, Entry> {
    if (this.props === null) {
      this.props = new Map();
      const plain = this.plain ?? [];
      this.plain = null;
      for (const feature of plain) this.addFeature(feature);
    }
    return this.props;
  }

  /** The feature of a property in a plain list. */
  private plainFeature(prop: string): Feature | undefined {
    for (const feature of this.plain!) if (feature.prop === prop && feature instanceof Feature) return feature;
    return undefined;
  }

  /** Property names in first-insertion order. */
  get propNames(): string[] {
    return [...this.table().keys()];
  }

  /** Every feature in listing order (spec §3.2). */
  get features(): FeatureLike[] {
    if (this.plain) return this.plain.slice();
    const out: FeatureLike[] = [];
    for (const entry of this.table().values()) pushEntry(out, entry);
    return out;
  }

  /** The soft groups, in document order. */
  get softs(): SoftFeatures[] {
    if (this.plain) return this.plain.filter((feature) => feature instanceof SoftFeatures);
    const entry = this.table().get(SOFT);
    return Array.isArray(entry) ? entry : [];
  }

  /**
   * Adds one feature, combining it with what the property already has. Errors carry the line of
   * the feature being added and the reference's messages.
   */
  addFeature(feature: FeatureLike, conflict: MergePolicy = "error", missing: MergePolicy = "other"): void {
    const props = this.table();
    if (feature instanceof SoftFeatures) {
      const entry = props.get(SOFT);
      if (Array.isArray(entry)) entry.push(feature);
      else props.set(SOFT, [feature]);
      return;
    }
    const current = props.get(feature.prop);
    if (!current) {
      if (missing === "error") throw new RadlError(`Property ${feature.prop} has not been set.`, feature.line);
      if (missing === "ignore" || missing === "me") return;
    }
    if (feature.isNumber) this.addNumber(feature, current, conflict);
    else if (feature.value instanceof Features) this.addContains(feature, current, conflict, missing);
    else this.addSingle(feature, current, conflict);
  }

  private addNumber(feature: Feature, current: Entry | undefined, conflict: MergePolicy): void {
    if (!current) {
      this.table().set(feature.prop, feature);
      return;
    }
    if (!isInterval(current)) {
      this.resolveConflict(feature, current, conflict, feature);
      return;
    }
    const existing = endsOf(current);
    const low = pickEnd(existing.low, lowEnd(feature), (older, newer) => newer.base() >= older.base());
    const high = pickEnd(existing.high, highEnd(feature), (older, newer) => newer.base() < older.base());
    if (low && high && low.base() > high.base()) {
      const involved = [existing.low, existing.high].map((f) => pyStrRepr(f ? f.toString() : "None"));
      if (conflict === "error") throw new RadlError(`Disjoint intervals!. Involved features: [${involved.join(", ")}]`, feature.line);
      if (conflict === "other") this.table().set(feature.prop, feature);
      return;
    }
    this.table().set(feature.prop, new Interval(low, high));
  }

  private addContains(feature: Feature, current: Entry | undefined, conflict: MergePolicy, missing: MergePolicy): void {
    if (!current) {
      this.table().set(feature.prop, feature);
      return;
    }
    const group = current instanceof Feature && current.value instanceof Features ? new ContainsGroup(new Map([[containedName(current), current]])) : current;
    if (!(group instanceof ContainsGroup)) {
      this.resolveConflict(feature, current, conflict, feature);
      return;
    }
    const name = containedName(feature);
    const existing = group.byName.get(name);
    if (existing) {
      // Same name: the new feature's constraints are added to the existing one's.
      const merged = existing.clone();
      for (const innerFeature of (feature.value as Features).features) (merged.value as Features).addFeature(innerFeature, conflict, missing);
      group.byName.set(name, merged);
    } else group.byName.set(name, feature);
    this.table().set(feature.prop, group.byName.size === 1 ? group.byName.get(name)! : group);
  }

  private addSingle(feature: Feature, current: Entry | undefined, conflict: MergePolicy): void {
    if (!current) {
      this.table().set(feature.prop, feature);
      return;
    }
    if (isSingle(current) && sameSimpleValue(current.value as SimpleValue, feature.value as SimpleValue)) {
      if (conflict === "other") this.table().set(feature.prop, feature);
      return;
    }
    this.resolveConflict(feature, current, conflict, feature);
  }

  private resolveConflict(feature: Feature, current: Entry, conflict: MergePolicy, replacement: Entry): void {
    if (conflict === "other") this.table().set(feature.prop, replacement);
    else if (conflict === "error") {
      const old = listEntry(current)[0];
      throw new RadlError(`Conflict adding \`${feature}\` because \`${old}\` is already set and conflict is error`, feature.line);
    }
  }

  /** Applies every feature of `other` atomically: on an error nothing changes. */
  applyFeatures(other: Features | Iterable<FeatureLike>, conflict: MergePolicy = "error", missing: MergePolicy = "error"): this {
    const scratch = this.clone();
    const features = other instanceof Features ? other.features : other;
    for (const feature of features) scratch.addFeature(feature.clone(), conflict, missing);
    this.props = scratch.table();
    this.plain = null;
    return this;
  }

  hasFeature(prop: string, checkSofts = false): boolean {
    return this.hasOwnFeature(prop) || (checkSofts && this.softs.some((soft) => soft.features.hasFeature(prop)));
  }

  private hasOwnFeature(prop: string): boolean {
    if (!this.plain) return this.table().has(prop);
    // Soft groups are listed under SOFT, which is their `prop`.
    for (const feature of this.plain) if (feature.prop === prop) return true;
    return false;
  }

  /**
   * The value of a property: numbers read their low end (else high end) in base units, strings
   * and lists as stored. Undefined when absent or when the property holds `contains` features.
   */
  getValue(prop: string): SimpleValue | undefined {
    const feature = this.getFeature(prop);
    return feature && !(feature.value instanceof Features) ? (feature.getValue() as SimpleValue) : undefined;
  }

  /** The feature of a property (the low end of an interval first); undefined when absent or `contains`. */
  getFeature(prop: string): Feature | undefined {
    const entry = this.plain ? this.plainFeature(prop) : this.table().get(prop);
    if (entry instanceof Feature) return entry.value instanceof Features ? undefined : entry;
    if (entry instanceof Interval) return entry.low ?? entry.high ?? undefined;
    return undefined;
  }

  /** The `contains` features of a property, in insertion order. */
  getContains(prop: string): Feature[] {
    const entry = this.plain ? this.plainFeature(prop) : this.table().get(prop);
    if (entry instanceof ContainsGroup) return [...entry.byName.values()];
    return entry instanceof Feature && entry.value instanceof Features ? [entry] : [];
  }

  /**
   * Sets a value. A number keeps the operators of an existing interval and sets both of its
   * ends (a half-open interval becomes closed), as the reference does.
   */
  setValue(prop: string, value: SimpleValue, unit = "", isFloat?: boolean): void {
    const props = this.table();
    const entry = props.get(prop);
    if (typeof value === "number") {
      const type: ValueType = (isFloat ?? !Number.isInteger(value)) ? "float" : "int";
      if (entry !== undefined && isInterval(entry)) {
        const ends = endsOf(entry);
        const low = ends.low ?? ends.high!;
        const high = ends.high ?? ends.low!;
        for (const end of [low, high]) Object.assign(end, { value, unit, type });
        props.set(prop, new Interval(low, high));
      } else props.set(prop, Feature.number(prop, "=", value, type === "float", unit));
      return;
    }
    const type: ValueType = Array.isArray(value) ? "list" : "string";
    if (entry !== undefined && isSingle(entry)) Object.assign(entry, { value, unit, type });
    else props.set(prop, new Feature(prop, "=", value, type, unit));
  }

  delValue(prop: string): void {
    this.table().delete(prop);
  }

  clone(): this {
    const copy = Object.create(Object.getPrototypeOf(this)) as this;
    Object.assign(copy, this);
    if (this.plain) copy.plain = this.plain.map((feature) => feature.clone());
    else {
      copy.props = new Map();
      for (const [prop, entry] of this.table()) copy.props.set(prop, cloneEntry(entry));
    }
    return copy;
  }

  /** Same features in the same order (lines are not compared). */
  equals(other: Features): boolean {
    const mine = this.features;
    const theirs = other.features;
    return mine.length === theirs.length && mine.every((feature, i) => sameFeature(feature, theirs[i]));
  }

  toString(): string {
    // An explicit call: `map(String)` converts through the generic (and twice slower) path.
    return this.features.map((feature) => feature.toString()).join(" and\n");
  }

  /**
   * The exact structure as plain JSON. Unlike RADL text it keeps every interval as it is: text
   * merges `cpu.count >= 2 and cpu.count >= 2` (what the reference's setValue leaves) into one.
   */
  toStructure(): FeaturesStructure {
    return [...this.table()].map(([prop, entry]) => [prop, entryToStructure(entry)]);
  }

  /** Replaces this set's features with those of a structure from `toStructure`. */
  loadStructure(structure: FeaturesStructure): this {
    this.props = new Map(structure.map(([prop, entry]) => [prop, entryFromStructure(entry)]));
    this.plain = null;
    return this;
  }
}

export interface FeatureStructure {
  prop: string;
  op: Operator;
  type: ValueType;
  value: SimpleValue | FeaturesStructure;
  unit: string;
  line: number | null;
}

export type FeaturesStructure = [string, EntryStructure][];

type EntryStructure =
  | { interval: [FeatureStructure | null, FeatureStructure | null]; shared: boolean }
  | { single: FeatureStructure }
  | { contains: [SimpleValue | null, FeatureStructure][] }
  | { soft: { weight: number; line: number | null; features: FeaturesStructure }[] };

function featureToStructure(f: Feature): FeatureStructure {
  const value = f.value instanceof Features ? f.value.toStructure() : f.value;
  return { prop: f.prop, op: f.operator, type: f.type, value, unit: f.unit, line: f.line };
}

function featureFromStructure(s: FeatureStructure): Feature {
  const value = s.type === "contains" ? new Features().loadStructure(s.value as FeaturesStructure) : (s.value as SimpleValue);
  return new Feature(s.prop, s.op, value, s.type, s.unit, s.line);
}

function entryToStructure(entry: Entry): EntryStructure {
  if (entry instanceof ContainsGroup) return { contains: [...entry.byName].map(([name, f]) => [name, featureToStructure(f)]) };
  if (Array.isArray(entry)) return { soft: entry.map((g) => ({ weight: g.weight, line: g.line, features: g.features.toStructure() })) };
  if (entry instanceof Feature && entry.value instanceof Features) return { contains: [[containedName(entry), featureToStructure(entry)]] };
  if (isSingle(entry)) return { single: featureToStructure(entry) };
  const { low, high } = endsOf(entry);
  return { interval: [low && featureToStructure(low), high && featureToStructure(high)], shared: low !== null && low === high };
}

function entryFromStructure(s: EntryStructure): Entry {
  if ("interval" in s) {
    const low = s.interval[0] && featureFromStructure(s.interval[0]);
    const high = s.shared ? low : s.interval[1] && featureFromStructure(s.interval[1]);
    return new Interval(low, high);
  }
  if ("single" in s) return featureFromStructure(s.single);
  if ("contains" in s) return new ContainsGroup(new Map(s.contains.map(([name, f]) => [name, featureFromStructure(f)])));
  return s.soft.map((g) => new SoftFeatures(g.weight, new Features().loadStructure(g.features), g.line));
}

function pickEnd(older: Feature | null, newer: Feature | null, newerWins: (older: Feature, newer: Feature) => boolean): Feature | null {
  if (!older) return newer;
  if (!newer) return older;
  return newerWins(older, newer) ? newer : older;
}

function listEntry(entry: Entry): FeatureLike[] {
  const out: FeatureLike[] = [];
  pushEntry(out, entry);
  return out;
}

/**
 * Appends the features of an entry (no temporary arrays: `features` lists every entry). An
 * interval lists one feature when it is `= v` on both ends, else its ends low then high.
 */
function pushEntry(out: FeatureLike[], entry: Entry): void {
  if (entry instanceof Feature) out.push(entry);
  else if (entry instanceof Interval) {
    const { low, high } = entry;
    if (low && high && low.operator === "=" && high.operator === "=" && low.base() === high.base()) out.push(low);
    else {
      if (low) out.push(low);
      if (high) out.push(high);
    }
  } else if (entry instanceof ContainsGroup) {
    for (const feature of entry.byName.values()) out.push(feature);
  } else {
    for (const group of entry) out.push(group);
  }
}

function cloneEntry(entry: Entry): Entry {
  if (entry instanceof Feature) return entry.clone();
  if (entry instanceof Interval) {
    const low = entry.low?.clone() ?? null;
    const high = entry.high === entry.low ? low : (entry.high?.clone() ?? null);
    return new Interval(low, high);
  }
  if (entry instanceof ContainsGroup) return new ContainsGroup(new Map([...entry.byName].map(([k, f]) => [k, f.clone()])));
  return entry.map((g) => g.clone());
}

function sameFeature(a: FeatureLike, b: FeatureLike): boolean {
  if (a instanceof SoftFeatures) return b instanceof SoftFeatures && a.equals(b);
  return b instanceof Feature && a.equals(b);
}
