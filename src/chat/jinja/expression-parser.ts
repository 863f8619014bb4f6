/**
 * Jinja expressions, following Jinja2's grammar and operator precedence: `if`-`else`
 * < `or` < `and` < `not` < comparisons (chained, `in`, `not in`) < `+ -` < `~` < `* / // %`
 * < `**` < unary minus < filters and tests (`|f(args)`, `is [not] t arg`) < postfix `.attr`,
 * `[i]`, `[a:b:c]`, `(call)`; literals, lists, tuples, dicts.
 */
import type { CallArgsNode, Expr } from "./ast.ts";
import { TokenStream } from "./token-stream.ts";
import { PyFloat } from "./values.ts";

const COMPARE_OPS = new Set(["==", "!=", "<", "<=", ">", ">="]);
const NO_ARG_TEST_STOPS = new Set(["else", "or", "and"]);

export class ExpressionParser extends TokenStream {
  /** An expression, or a tuple of them if commas follow (`a, b`). */
  parseTuple(withCondexpr: boolean, explicit = false): Expr {
    const items: Expr[] = [];
    let trailingComma = false;
    for (;;) {
      if (items.length > 0) {
        if (!this.skip("operator", ",")) break;
        trailingComma = true;
        if (this.is("variable_end") || this.is("block_end") || this.is("operator", ")") || this.is("name", "in") || this.is("name", "if")) break;
      }
      items.push(withCondexpr ? this.parseExpression() : this.parseOr());
      trailingComma = false;
      if (explicit && this.is("operator", ")")) break;
    }
    if (items.length === 1 && !trailingComma) return items[0] as Expr;
    return { kind: "tuple", items };
  }

  parseExpression(): Expr {
    let expr = this.parseOr();
    while (this.skip("name", "if")) {
      const test = this.parseOr();
      const otherwise = this.skip("name", "else") ? this.parseExpression() : undefined;
      expr = { kind: "cond", test, then: expr, otherwise };
    }
    return expr;
  }

  parseOr(): Expr {
    let left = this.parseAnd();
    while (this.skip("name", "or")) left = { kind: "binary", op: "or", left, right: this.parseAnd() };
    return left;
  }

  parseAnd(): Expr {
    let left = this.parseNot();
    while (this.skip("name", "and")) left = { kind: "binary", op: "and", left, right: this.parseNot() };
    return left;
  }

  parseNot(): Expr {
    if (this.skip("name", "not")) return { kind: "unary", op: "not", operand: this.parseNot() };
    return this.parseCompare();
  }

  parseCompare(): Expr {
    const left = this.parseMath1();
    const ops: [string, Expr][] = [];
    for (;;) {
      const token = this.current;
      if (token.type === "operator" && COMPARE_OPS.has(token.value)) {
        this.next();
        ops.push([token.value, this.parseMath1()]);
      } else if (this.skip("name", "in")) {
        ops.push(["in", this.parseMath1()]);
      } else if (this.is("name", "not") && this.peek(1)?.type === "name" && this.peek(1)?.value === "in") {
        this.pos += 2;
        ops.push(["notin", this.parseMath1()]);
      } else {
        break;
      }
    }
    return ops.length === 0 ? left : { kind: "compare", left, ops };
  }

  parseBinary(next: () => Expr, ops: readonly string[]): Expr {
    let left = next();
    while (this.current.type === "operator" && ops.includes(this.current.value)) {
      const op = this.next().value;
      left = { kind: "binary", op, left, right: next() };
    }
    return left;
  }

  parseMath1 = (): Expr => this.parseBinary(this.parseConcat, ["+", "-"]);
  parseConcat = (): Expr => this.parseBinary(this.parseMath2, ["~"]);
  parseMath2 = (): Expr => this.parseBinary(this.parsePow, ["*", "/", "//", "%"]);
  parsePow = (): Expr => this.parseBinary(() => this.parseUnary(true), ["**"]);

  parseUnary(withFilter: boolean): Expr {
    let node: Expr;
    if (this.skip("operator", "-")) node = { kind: "unary", op: "-", operand: this.parseUnary(false) };
    else if (this.skip("operator", "+")) node = { kind: "unary", op: "+", operand: this.parseUnary(false) };
    else node = this.parsePrimary();
    node = this.parsePostfix(node);
    return withFilter ? this.parseFilterExpr(node) : node;
  }

  parsePrimary(): Expr {
    const token = this.next();
    switch (token.type) {
      case "name":
        if (token.value === "true" || token.value === "True") return { kind: "const", value: true };
        if (token.value === "false" || token.value === "False") return { kind: "const", value: false };
        if (token.value === "none" || token.value === "None") return { kind: "const", value: null };
        return { kind: "name", name: token.value };
      case "string": {
        let value = token.value;
        while (this.is("string")) value += this.next().value;
        return { kind: "const", value };
      }
      case "integer":
        return { kind: "const", value: parseInteger(token.value) };
      case "float":
        return { kind: "const", value: new PyFloat(Number(token.value)) };
      case "operator":
        if (token.value === "(") {
          if (this.skip("operator", ")")) return { kind: "tuple", items: [] };
          const inner = this.parseTuple(true, true);
          this.expect("operator", ")");
          return inner;
        }
        if (token.value === "[") return { kind: "list", items: this.parseSequence("]") };
        if (token.value === "{") return this.parseDict();
        break;
      default:
        break;
    }
    return this.fail(`unexpected ${token.type === "eof" ? "end of template" : `'${token.value || token.type}'`}`, token);
  }

  parseSequence(close: string): Expr[] {
    const items: Expr[] = [];
    while (!this.skip("operator", close)) {
      if (items.length > 0) {
        this.expect("operator", ",");
        if (this.skip("operator", close)) break;
      }
      items.push(this.parseExpression());
    }
    return items;
  }

  parseDict(): Expr {
    const pairs: [Expr, Expr][] = [];
    while (!this.skip("operator", "}")) {
      if (pairs.length > 0) {
        this.expect("operator", ",");
        if (this.skip("operator", "}")) break;
      }
      const key = this.parseExpression();
      this.expect("operator", ":");
      pairs.push([key, this.parseExpression()]);
    }
    return { kind: "dict", pairs };
  }

  parsePostfix(node: Expr): Expr {
    for (;;) {
      if (this.skip("operator", ".")) {
        const token = this.next();
        if (token.type === "name") node = { kind: "getattr", obj: node, attr: token.value };
        else if (token.type === "integer") node = { kind: "getitem", obj: node, index: { kind: "const", value: parseInteger(token.value) } };
        else this.fail("expected name or number after '.'", token);
      } else if (this.skip("operator", "[")) {
        const indexes: Expr[] = [];
        while (!this.skip("operator", "]")) {
          if (indexes.length > 0) this.expect("operator", ",");
          indexes.push(this.parseSubscribed());
        }
        node = { kind: "getitem", obj: node, index: indexes.length === 1 ? (indexes[0] as Expr) : { kind: "tuple", items: indexes } };
      } else if (this.is("operator", "(")) {
        node = { kind: "call", fn: node, ...this.parseCallArgs() };
      } else {
        return node;
      }
    }
  }

  parseSubscribed(): Expr {
    const parts: (Expr | undefined)[] = [];
    const atSliceEnd = (): boolean => this.is("operator", ":") || this.is("operator", "]") || this.is("operator", ",");
    parts.push(atSliceEnd() ? undefined : this.parseExpression());
    if (!this.skip("operator", ":")) {
      if (parts[0] === undefined) this.fail("expected an expression");
      return parts[0] as Expr;
    }
    parts.push(atSliceEnd() ? undefined : this.parseExpression());
    if (this.skip("operator", ":")) parts.push(atSliceEnd() ? undefined : this.parseExpression());
    return { kind: "slice", start: parts[0], stop: parts[1], step: parts[2] };
  }

  parseFilterExpr(node: Expr): Expr {
    for (;;) {
      if (this.skip("operator", "|")) {
        const name = this.parseDottedName();
        node = { kind: "filter", node, name, ...this.parseOptionalCallArgs() };
      } else if (this.skip("name", "is")) {
        const negated = this.skip("name", "not");
        const name = this.parseDottedName();
        let args: CallArgsNode = { args: [], kwargs: [], starArgs: undefined, starKwargs: undefined };
        const token = this.current;
        if (this.is("operator", "(")) {
          args = this.parseCallArgs();
        } else if (
          (token.type === "name" || token.type === "string" || token.type === "integer" || token.type === "float" || (token.type === "operator" && ["(", "[", "{"].includes(token.value))) &&
          !(token.type === "name" && NO_ARG_TEST_STOPS.has(token.value))
        ) {
          if (token.type === "name" && token.value === "is") this.fail("You cannot chain multiple tests with is");
          args = { ...args, args: [this.parsePostfix(this.parsePrimary())] };
        }
        node = { kind: "test", node, name, negated, ...args };
      } else if (this.is("operator", "(")) {
        node = { kind: "call", fn: node, ...this.parseCallArgs() };
      } else {
        return node;
      }
    }
  }

  parseDottedName(): string {
    let name = this.expect("name").value;
    while (this.skip("operator", ".")) name += `.${this.expect("name").value}`;
    return name;
  }

  parseOptionalCallArgs(): CallArgsNode {
    return this.is("operator", "(") ? this.parseCallArgs() : { args: [], kwargs: [], starArgs: undefined, starKwargs: undefined };
  }

  parseCallArgs(): CallArgsNode {
    this.expect("operator", "(");
    const args: Expr[] = [];
    const kwargs: [string, Expr][] = [];
    let starArgs: Expr | undefined;
    let starKwargs: Expr | undefined;
    let first = true;
    while (!this.skip("operator", ")")) {
      if (!first) {
        this.expect("operator", ",");
        if (this.skip("operator", ")")) break;
      }
      first = false;
      if (this.skip("operator", "**")) {
        starKwargs = this.parseExpression();
      } else if (this.skip("operator", "*")) {
        starArgs = this.parseExpression();
      } else if (this.is("name") && this.peek(1)?.type === "operator" && this.peek(1)?.value === "=") {
        const key = this.next().value;
        this.next();
        kwargs.push([key, this.parseExpression()]);
      } else {
        if (kwargs.length > 0) this.fail("positional argument follows keyword argument");
        args.push(this.parseExpression());
      }
    }
    return { args, kwargs, starArgs, starKwargs };
  }
}

function parseInteger(text: string): number {
  const lower = text.toLowerCase();
  if (lower.startsWith("0b")) return parseInt(lower.slice(2), 2);
  if (lower.startsWith("0o")) return parseInt(lower.slice(2), 8);
  if (lower.startsWith("0x")) return parseInt(lower.slice(2), 16);
  return Number(text);
}
