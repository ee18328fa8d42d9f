import { RadlError } from "./errors.ts";
import { Feature, Features, SoftFeatures, type Comparator, type FeatureLike } from "./features.ts";
import { Lexer, unexpected, type TokenType } from "./lexer.ts";
import { AnsibleHost, Configure, Contextualize, ContextualizeItem, Deploy, Description, Network, Radl, System, type Aspect } from "./radl.ts";

const COMPARATORS: ReadonlyMap<TokenType, Comparator> = new Map([
  ["EQ", "="], ["LT", "<"], ["GT", ">"], ["LE", "<="], ["GE", ">="],
] as [TokenType, Comparator][]);

/** `contains` and `soft` groups nest; deeper documents are refused instead of exhausting the stack. */
export const MAX_NESTING = 64;

/**
 * Parses RADL text (spec §1-3) into a `Radl`. Throws `RadlError` with the line of the first
 * token that cannot continue a sentence, or of a feature that conflicts with an earlier one.
 * Does not run `check`.
 */
export function parseRadlText(text: string): Radl {
  if (!/\S/.test(text)) return new Radl();
  // The reference appends a newline, which gives a recipe left open its last line number; the
  // lexer implies it rather than copying the whole text.
  return new Parser(text).document();
}

/** The list of `radl` that holds aspects unique by id like `aspect`, or null for the others. */
function uniqueList(radl: Radl, aspect: Aspect): unknown[] | null {
  if (aspect instanceof Network) return radl.networks;
  if (aspect instanceof System) return radl.systems;
  if (aspect instanceof AnsibleHost) return radl.ansibleHosts;
  if (aspect instanceof Configure) return radl.configures;
  return null;
}

class Parser {
  private readonly lexer: Lexer;
  /** The line of the last token taken, where an end of input is reported. */
  private lastLine = 1;
  private depth = 0;

  constructor(text: string) {
    this.lexer = new Lexer(text, true);
  }

  document(): Radl {
    const radl = new Radl();
    // The ids seen so far per kind, so that adding an aspect does not search its list
    // (`Radl.add` does, which made parsing quadratic in the number of systems).
    const seen = new Map<unknown[], Set<string>>();
    while (!this.at("EOF")) {
      const aspect = this.sentence();
      const list = uniqueList(radl, aspect);
      if (!list) {
        radl.add(aspect);
        continue;
      }
      const id = aspect instanceof System || aspect instanceof Configure ? aspect.name : (aspect as Network | AnsibleHost).id;
      let ids = seen.get(list);
      if (!ids) seen.set(list, (ids = new Set()));
      if (ids.has(id)) radl.add(aspect); // throws "Aspect with the same id was found."
      else {
        ids.add(id);
        list.push(aspect);
      }
    }
    return radl;
  }

  /** Takes the current token. */
  private advance(): void {
    this.lastLine = this.lexer.line;
    this.lexer.advance();
  }

  private unexpected(): RadlError {
    return unexpected(this.lexer, this.lastLine);
  }

  private expect(type: TokenType): void {
    if (!this.at(type)) throw this.unexpected();
    this.advance();
  }

  /** Takes a token of the given type and returns its text. */
  private expectText(type: "VAR" | "STRING" | "RECIPE"): string {
    const text = this.lexer.text;
    this.expect(type);
    return text;
  }

  private expectNumber(): number {
    const value = this.lexer.number;
    this.expect("NUMBER");
    return value;
  }

  /** Whether the current token has the given type. */
  private at(type: TokenType): boolean {
    return this.lexer.type === type;
  }

  /** Takes the current token if it has the given type. */
  private accept(type: TokenType): boolean {
    if (!this.at(type)) return false;
    this.advance();
    return true;
  }

  private sentence(): Description | AnsibleHost | Network | System | Configure | Deploy | Contextualize {
    const { type, line } = this.lexer;
    switch (type) {
      case "DESCRIPTION":
        this.advance();
        return new Description(this.expectText("VAR"), this.featureBlock(), line);
      case "ANSIBLE":
        this.advance();
        return new AnsibleHost(this.expectText("VAR"), this.featureBlock(), line);
      case "NETWORK": {
        this.advance();
        const id = this.expectText("VAR");
        return this.at("LPAREN") ? new Network(id, this.featureBlock(), false, line) : new Network(id, [], true, line);
      }
      case "SYSTEM": {
        this.advance();
        const name = this.expectText("VAR");
        return this.at("LPAREN") ? new System(name, this.featureBlock(), false, line) : new System(name, [], true, line);
      }
      case "CONFIGURE": return this.configure(line);
      case "DEPLOY": return this.deploy(line);
      case "CONTEXTUALIZE": return this.contextualize(line);
      default: throw this.unexpected();
    }
  }

  private configure(line: number): Configure {
    this.advance();
    const name = this.expectText("VAR");
    if (!this.accept("LPAREN")) return new Configure(name, null, line);
    if (this.accept("RPAREN")) return new Configure(name, "", line);
    this.expect("RECIPE_BEGIN");
    const recipe = this.expectText("RECIPE");
    this.expect("RECIPE_END");
    this.expect("RPAREN");
    return new Configure(name, recipe, line);
  }

  private deploy(line: number): Deploy {
    this.advance();
    const system = this.expectText("VAR");
    const count = this.expectNumber();
    const cloud = this.at("VAR") ? this.expectText("VAR") : null;
    return new Deploy(system, count, cloud, line);
  }

  private contextualize(line: number): Contextualize {
    const { lexer } = this;
    this.advance();
    const maxTime = this.at("NUMBER") ? this.expectNumber() : 0;
    this.expect("LPAREN");
    const ctxt = new Contextualize(maxTime, new Map(), new Map(), line);
    while (this.accept("OPTION")) {
      const nameLine = lexer.line;
      const name = this.expectText("VAR");
      const operator = this.comparator();
      let option: Feature;
      if (this.at("STRING")) option = Feature.string(name, this.expectText("STRING"), operator, nameLine);
      else if (this.at("NUMBER")) {
        const isFloat = lexer.isFloat;
        option = Feature.number(name, operator, this.expectNumber(), isFloat, "", nameLine);
      } else throw this.unexpected();
      ctxt.options.set(name, option);
    }
    while (this.at("SYSTEM")) {
      const itemLine = lexer.line;
      this.advance();
      const system = this.expectText("VAR");
      this.expect("CONFIGURE");
      const configure = this.expectText("VAR");
      const step = this.accept("STEP") ? this.expectNumber() : 0;
      const tool = this.accept("WITH") ? this.expectText("VAR") : null;
      const item = new ContextualizeItem(system, configure, step, tool, itemLine);
      ctxt.items!.set(item.key, item);
    }
    this.expect("RPAREN");
    return ctxt;
  }

  private featureBlock(): FeatureLike[] {
    this.expect("LPAREN");
    const features = this.features();
    this.expect("RPAREN");
    return features;
  }

  /** `feature (and feature)*`, possibly empty; the closing parenthesis is left to the caller. */
  private features(): FeatureLike[] {
    if (++this.depth > MAX_NESTING) throw new RadlError(`Parse error: nesting deeper than ${MAX_NESTING} levels`, this.lastLine);
    const features: FeatureLike[] = [];
    if (!this.at("RPAREN")) {
      features.push(this.feature());
      while (this.accept("AND")) features.push(this.feature());
    }
    this.depth--;
    return features;
  }

  private feature(): FeatureLike {
    const { lexer } = this;
    const line = lexer.line;
    if (this.accept("SOFT")) {
      const weight = this.expectNumber();
      return new SoftFeatures(weight, this.featureBlock(), line);
    }
    const prop = this.expectText("VAR");
    if (this.accept("CONTAINS")) return Feature.contains(prop, new Features(this.featureBlock()), line);
    const operator = this.comparator();
    switch (lexer.type) {
      case "NUMBER": {
        const isFloat = lexer.isFloat;
        const value = this.expectNumber();
        const unit = this.at("VAR") ? this.expectText("VAR") : "";
        return Feature.number(prop, operator, value, isFloat, unit, line);
      }
      case "STRING": return Feature.string(prop, this.expectText("STRING"), operator, line);
      case "LBRACK":
        this.advance();
        return Feature.list(prop, this.stringList(), operator, line);
      default: throw this.unexpected();
    }
  }

  private comparator(): Comparator {
    const comparator = COMPARATORS.get(this.lexer.type);
    if (!comparator) throw this.unexpected();
    this.advance();
    return comparator;
  }

  /** The rest of `[ 'a', 'b' ]` after the opening bracket. */
  private stringList(): string[] {
    const items: string[] = [];
    if (this.accept("RBRACK")) return items;
    items.push(this.expectText("STRING"));
    while (this.accept("COMMA")) items.push(this.expectText("STRING"));
    this.expect("RBRACK");
    return items;
  }
}
