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

function hasBareQuote(value: string, quote: string): boolean {
  for (let i = 0; i < value.length; i++) {
    if (value[i] === "\\") i++;
    else if (value[i] === quote) return true;
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

type Entry =
  | { kind: "interval"; low: Feature | null; high: Feature | null }
  | { kind: "single"; feature: Feature }
  | { kind: "contains"; byName: Map<SimpleValue | null, Feature> }
  | { kind: "soft"; groups: SoftFeatures[] };

/**
 * A set of features keyed by property (spec §3.2): number constraints on one property intersect
 * into an interval, strings and lists must agree, `contains` features are grouped by their inner
 * `name`, soft groups are kept in order.
 */
export class Features {
  protected props = new Map<string, Entry>();

  constructor(features: Iterable<FeatureLike> = []) {
    for (const feature of features) this.addFeature(feature);
  }

  /** Property names in first-insertion order. */
  get propNames(): string[] {
    return [...this.props.keys()];
  }

  /** Every feature in listing order (spec §3.2). */
  get features(): FeatureLike[] {
    const out: FeatureLike[] = [];
    for (const entry of this.props.values()) pushEntry(out, entry);
    return out;
  }

  /** The soft groups, in document order. */
  get softs(): SoftFeatures[] {
    const entry = this.props.get(SOFT);
    return entry?.kind === "soft" ? entry.groups : [];
  }

  /**
   * Adds one feature, combining it with what the property already has. Errors carry the line of
   * the feature being added and the reference's messages.
   */
  addFeature(feature: FeatureLike, conflict: MergePolicy = "error", missing: MergePolicy = "other"): void {
    if (feature instanceof SoftFeatures) {
      const entry = this.props.get(SOFT);
      if (entry?.kind === "soft") entry.groups.push(feature);
      else this.props.set(SOFT, { kind: "soft", groups: [feature] });
      return;
    }
    const current = this.props.get(feature.prop);
    if (!current) {
      if (missing === "error") throw new RadlError(`Property ${feature.prop} has not been set.`, feature.line);
      if (missing === "ignore" || missing === "me") return;
    }
    if (feature.isNumber) this.addNumber(feature, current, conflict);
    else if (feature.value instanceof Features) this.addContains(feature, current, conflict, missing);
    else this.addSingle(feature, current, conflict);
  }

  private addNumber(feature: Feature, current: Entry | undefined, conflict: MergePolicy): void {
    const incoming = {
      low: feature.operator === "=" || feature.operator.startsWith(">") ? feature : null,
      high: feature.operator === "=" || feature.operator.startsWith("<") ? feature : null,
    };
    if (!current) {
      this.props.set(feature.prop, { kind: "interval", ...incoming });
      return;
    }
    if (current.kind !== "interval") {
      this.resolveConflict(feature, current, conflict, { kind: "interval", ...incoming });
      return;
    }
    const low = pickEnd(current.low, incoming.low, (older, newer) => newer.base() >= older.base());
    const high = pickEnd(current.high, incoming.high, (older, newer) => newer.base() < older.base());
    if (low && high && low.base() > high.base()) {
      const involved = [current.low, current.high].map((f) => pyStrRepr(f ? f.toString() : "None"));
      if (conflict === "error") throw new RadlError(`Disjoint intervals!. Involved features: [${involved.join(", ")}]`, feature.line);
      if (conflict === "other") this.props.set(feature.prop, { kind: "interval", ...incoming });
      return;
    }
    this.props.set(feature.prop, { kind: "interval", low, high });
  }

  private addContains(feature: Feature, current: Entry | undefined, conflict: MergePolicy, missing: MergePolicy): void {
    const inner = feature.value as Features;
    const name = (inner.getValue("name") as SimpleValue | undefined) ?? null;
    if (!current) {
      this.props.set(feature.prop, { kind: "contains", byName: new Map([[name, feature]]) });
      return;
    }
    if (current.kind !== "contains") {
      this.resolveConflict(feature, current, conflict, { kind: "contains", byName: new Map([[name, feature]]) });
      return;
    }
    const existing = current.byName.get(name);
    if (!existing) {
      current.byName.set(name, feature);
      return;
    }
    const merged = existing.clone();
    for (const innerFeature of inner.features) (merged.value as Features).addFeature(innerFeature, conflict, missing);
    current.byName.set(name, merged);
  }

  private addSingle(feature: Feature, current: Entry | undefined, conflict: MergePolicy): void {
    if (!current) {
      this.props.set(feature.prop, { kind: "single", feature });
      return;
    }
    if (current.kind === "single" && sameSimpleValue(current.feature.value as SimpleValue, feature.value as SimpleValue)) {
      if (conflict === "other") this.props.set(feature.prop, { kind: "single", feature });
      return;
    }
    this.resolveConflict(feature, current, conflict, { kind: "single", feature });
  }

  private resolveConflict(feature: Feature, current: Entry, conflict: MergePolicy, replacement: Entry): void {
    if (conflict === "other") this.props.set(feature.prop, replacement);
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
    this.props = scratch.props;
    return this;
  }

  hasFeature(prop: string, checkSofts = false): boolean {
    return this.props.has(prop) || (checkSofts && this.softs.some((soft) => soft.features.hasFeature(prop)));
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
    const entry = this.props.get(prop);
    if (!entry) return undefined;
    if (entry.kind === "interval") return entry.low ?? entry.high ?? undefined;
    if (entry.kind === "single") return entry.feature;
    return undefined;
  }

  /** The `contains` features of a property, in insertion order. */
  getContains(prop: string): Feature[] {
    const entry = this.props.get(prop);
    return entry?.kind === "contains" ? [...entry.byName.values()] : [];
  }

  /**
   * Sets a value. A number keeps the operators of an existing interval and sets both of its
   * ends (a half-open interval becomes closed), as the reference does.
   */
  setValue(prop: string, value: SimpleValue, unit = "", isFloat?: boolean): void {
    const entry = this.props.get(prop);
    if (typeof value === "number") {
      const type: ValueType = (isFloat ?? !Number.isInteger(value)) ? "float" : "int";
      if (entry?.kind === "interval") {
        const low = entry.low ?? entry.high!;
        const high = entry.high ?? entry.low!;
        for (const end of [low, high]) Object.assign(end, { value, unit, type });
        this.props.set(prop, { kind: "interval", low, high });
      } else {
        const feature = Feature.number(prop, "=", value, type === "float", unit);
        this.props.set(prop, { kind: "interval", low: feature, high: feature });
      }
      return;
    }
    const type: ValueType = Array.isArray(value) ? "list" : "string";
    if (entry?.kind === "single") Object.assign(entry.feature, { value, unit, type });
    else this.props.set(prop, { kind: "single", feature: new Feature(prop, "=", value, type, unit) });
  }

  delValue(prop: string): void {
    this.props.delete(prop);
  }

  clone(): this {
    const copy = Object.create(Object.getPrototypeOf(this)) as this;
    Object.assign(copy, this);
    copy.props = new Map();
    for (const [prop, entry] of this.props) copy.props.set(prop, cloneEntry(entry));
    return copy;
  }

  /** Same features in the same order (lines are not compared). */
  equals(other: Features): boolean {
    const mine = this.features;
    const theirs = other.features;
    return mine.length === theirs.length && mine.every((feature, i) => sameFeature(feature, theirs[i]));
  }

  toString(): string {
    return this.features.map(String).join(" and\n");
  }

  /**
   * The exact structure as plain JSON. Unlike RADL text it keeps every interval as it is: text
   * merges `cpu.count >= 2 and cpu.count >= 2` (what the reference's setValue leaves) into one.
   */
  toStructure(): FeaturesStructure {
    return [...this.props].map(([prop, entry]) => [prop, entryToStructure(entry)]);
  }

  /** Replaces this set's features with those of a structure from `toStructure`. */
  loadStructure(structure: FeaturesStructure): this {
    this.props = new Map(structure.map(([prop, entry]) => [prop, entryFromStructure(entry)]));
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
  switch (entry.kind) {
    case "interval": return { interval: [entry.low && featureToStructure(entry.low), entry.high && featureToStructure(entry.high)], shared: entry.low !== null && entry.low === entry.high };
    case "single": return { single: featureToStructure(entry.feature) };
    case "contains": return { contains: [...entry.byName].map(([name, f]) => [name, featureToStructure(f)]) };
    case "soft": return { soft: entry.groups.map((g) => ({ weight: g.weight, line: g.line, features: g.features.toStructure() })) };
  }
}

function entryFromStructure(s: EntryStructure): Entry {
  if ("interval" in s) {
    const low = s.interval[0] && featureFromStructure(s.interval[0]);
    const high = s.shared ? low : s.interval[1] && featureFromStructure(s.interval[1]);
    return { kind: "interval", low, high };
  }
  if ("single" in s) return { kind: "single", feature: featureFromStructure(s.single) };
  if ("contains" in s) return { kind: "contains", byName: new Map(s.contains.map(([name, f]) => [name, featureFromStructure(f)])) };
  return { kind: "soft", groups: s.soft.map((g) => new SoftFeatures(g.weight, new Features().loadStructure(g.features), g.line)) };
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
  switch (entry.kind) {
    case "interval": {
      const { low, high } = entry;
      if (low && high && low.operator === "=" && high.operator === "=" && low.base() === high.base()) out.push(low);
      else {
        if (low) out.push(low);
        if (high) out.push(high);
      }
      return;
    }
    case "single":
      out.push(entry.feature);
      return;
    case "contains":
      for (const feature of entry.byName.values()) out.push(feature);
      return;
    case "soft":
      for (const group of entry.groups) out.push(group);
      return;
  }
}

function cloneEntry(entry: Entry): Entry {
  switch (entry.kind) {
    case "interval": {
      const low = entry.low?.clone() ?? null;
      const high = entry.high === entry.low ? low : (entry.high?.clone() ?? null);
      return { kind: "interval", low, high };
    }
    case "single": return { kind: "single", feature: entry.feature.clone() };
    case "contains": return { kind: "contains", byName: new Map([...entry.byName].map(([k, f]) => [k, f.clone()])) };
    case "soft": return { kind: "soft", groups: entry.groups.map((g) => g.clone()) };
  }
}

function sameFeature(a: FeatureLike, b: FeatureLike): boolean {
  if (a instanceof SoftFeatures) return b instanceof SoftFeatures && a.equals(b);
  return b instanceof Feature && a.equals(b);
}
