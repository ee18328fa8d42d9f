import { RadlError } from "./errors.ts";
import { Feature, Features, SoftFeatures, type Comparator, type FeatureLike } from "./features.ts";
import { Lexer, unexpected, type Token, type TokenType } from "./lexer.ts";
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
    for (let token = this.lexer.peek(); token.type !== "EOF"; token = this.lexer.peek()) {
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

  private next(): Token {
    const token = this.lexer.next();
    if (token.type !== "EOF") this.lastLine = token.line;
    return token;
  }

  private expect(type: TokenType): Token {
    const token = this.next();
    if (token.type !== type) throw unexpected(this.lexer, token, this.lastLine);
    return token;
  }

  private accept(type: TokenType): Token | null {
    return this.lexer.peek().type === type ? this.next() : null;
  }

  private sentence(): Description | AnsibleHost | Network | System | Configure | Deploy | Contextualize {
    const keyword = this.next();
    const line = keyword.line;
    switch (keyword.type) {
      case "DESCRIPTION": return new Description(this.expect("VAR").text, this.featureBlock(), line);
      case "ANSIBLE": return new AnsibleHost(this.expect("VAR").text, this.featureBlock(), line);
      case "NETWORK": {
        const id = this.expect("VAR").text;
        return this.lexer.peek().type === "LPAREN" ? new Network(id, this.featureBlock(), false, line) : new Network(id, [], true, line);
      }
      case "SYSTEM": {
        const name = this.expect("VAR").text;
        return this.lexer.peek().type === "LPAREN" ? new System(name, this.featureBlock(), false, line) : new System(name, [], true, line);
      }
      case "CONFIGURE": return this.configure(line);
      case "DEPLOY": return this.deploy(line);
      case "CONTEXTUALIZE": return this.contextualize(line);
      default: throw unexpected(this.lexer, keyword, this.lastLine);
    }
  }

  private configure(line: number): Configure {
    const name = this.expect("VAR").text;
    if (!this.accept("LPAREN")) return new Configure(name, null, line);
    if (this.accept("RPAREN")) return new Configure(name, "", line);
    this.expect("RECIPE_BEGIN");
    // The recipe lines are contiguous in the input: take them as one slice, not a concatenation.
    const first = this.expect("RECIPE_LINE");
    let last = first;
    for (let token = this.lexer.peek(); token.type === "RECIPE_LINE"; token = this.lexer.peek()) last = this.next();
    const recipe = this.lexer.source(first.pos, last.pos + last.text.length);
    this.expect("RECIPE_END");
    this.expect("RPAREN");
    return new Configure(name, recipe, line);
  }

  private deploy(line: number): Deploy {
    const system = this.expect("VAR").text;
    const count = this.expect("NUMBER");
    const cloud = this.accept("VAR");
    return new Deploy(system, Number(count.text), cloud?.text ?? null, line);
  }

  private contextualize(line: number): Contextualize {
    const maxTime = this.accept("NUMBER");
    this.expect("LPAREN");
    const ctxt = new Contextualize(maxTime ? Number(maxTime.text) : 0, new Map(), new Map(), line);
    while (this.lexer.peek().type === "OPTION") {
      this.next();
      const name = this.expect("VAR");
      const operator = this.comparator();
      const value = this.next();
      if (value.type !== "STRING" && value.type !== "NUMBER") throw unexpected(this.lexer, value, this.lastLine);
      const option = value.type === "STRING"
        ? Feature.string(name.text, value.text, operator, name.line)
        : Feature.number(name.text, operator, Number(value.text), value.isFloat, "", name.line);
      ctxt.options.set(name.text, option);
    }
    while (this.lexer.peek().type === "SYSTEM") {
      const itemLine = this.next().line;
      const system = this.expect("VAR").text;
      this.expect("CONFIGURE");
      const configure = this.expect("VAR").text;
      const step = this.accept("STEP") ? Number(this.expect("NUMBER").text) : 0;
      const tool = this.accept("WITH") ? this.expect("VAR").text : null;
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
    if (this.lexer.peek().type !== "RPAREN") {
      features.push(this.feature());
      while (this.accept("AND")) features.push(this.feature());
    }
    this.depth--;
    return features;
  }

  private feature(): FeatureLike {
    const first = this.next();
    if (first.type === "SOFT") {
      const weight = this.expect("NUMBER");
      return new SoftFeatures(Number(weight.text), this.featureBlock(), first.line);
    }
    if (first.type !== "VAR") throw unexpected(this.lexer, first, this.lastLine);
    const prop = first.text;
    if (this.accept("CONTAINS")) return Feature.contains(prop, new Features(this.featureBlock()), first.line);
    const operator = this.comparator();
    const value = this.next();
    switch (value.type) {
      case "NUMBER": {
        const unit = this.accept("VAR")?.text ?? "";
        return Feature.number(prop, operator, Number(value.text), value.isFloat, unit, first.line);
      }
      case "STRING": return Feature.string(prop, value.text, operator, first.line);
      case "LBRACK": return Feature.list(prop, this.stringList(), operator, first.line);
      default: throw unexpected(this.lexer, value, this.lastLine);
    }
  }

  private comparator(): Comparator {
    const token = this.next();
    const comparator = COMPARATORS.get(token.type);
    if (!comparator) throw unexpected(this.lexer, token, this.lastLine);
    return comparator;
  }

  /** The rest of `[ 'a', 'b' ]` after the opening bracket. */
  private stringList(): string[] {
    const items: string[] = [];
    if (this.accept("RBRACK")) return items;
    items.push(this.expect("STRING").text);
    while (this.accept("COMMA")) items.push(this.expect("STRING").text);
    this.expect("RBRACK");
    return items;
  }
}
