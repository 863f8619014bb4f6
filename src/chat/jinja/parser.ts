/**
 * Jinja parser: tokens → syntax tree (expressions: expression-parser.ts). Statements: if/elif/else, for (with `if`
 * filter, `else`, `recursive`), set (also block form and `ns.attr`), macro, call, filter, with,
 * break/continue (Jinja2's loopcontrols extension, enabled by Hugging Face), and Hugging Face's
 * `{% generation %}`. `include`/`extends`/`import` are refused: a chat template stands alone.
 */
import type { Expr, MacroParam, Stmt, Target } from "./ast.ts";
import { ExpressionParser } from "./expression-parser.ts";
import { tokenize } from "./lexer.ts";

export function parse(source: string): Stmt[] {
  return new Parser(tokenize(source)).parseTemplate();
}

class Parser extends ExpressionParser {
  parseTemplate(): Stmt[] {
    const body = this.parseStatements([]);
    if (!this.is("eof")) this.fail(`unexpected '${this.current.value}'`);
    return body;
  }

  /** Statements until a block tag whose name is in `ends` (left as the current token) or the end. */
  parseStatements(ends: readonly string[]): Stmt[] {
    const body: Stmt[] = [];
    for (;;) {
      const token = this.current;
      if (token.type === "eof") {
        if (ends.length > 0) this.fail(`unexpected end of template, expected ${ends.map((e) => `'${e}'`).join(" or ")}`);
        return body;
      }
      if (token.type === "data") {
        this.next();
        body.push({ kind: "text", text: token.value });
      } else if (token.type === "variable_begin") {
        this.next();
        body.push({ kind: "output", expr: this.parseTuple(true) });
        this.expect("variable_end");
      } else if (token.type === "block_begin") {
        this.next();
        const name = this.current;
        if (name.type === "name" && ends.includes(name.value)) return body;
        const stmt = this.parseStatement();
        if (stmt !== undefined) body.push(stmt);
      } else {
        this.fail(`unexpected '${token.value}'`);
      }
    }
  }

  /** Parses a body ending in `{% end %}` (consumed). */
  parseBody(end: string): Stmt[] {
    const body = this.parseStatements([end]);
    this.next();
    this.expect("block_end");
    return body;
  }

  parseStatement(): Stmt | undefined {
    const token = this.expect("name");
    switch (token.value) {
      case "if":
        return this.parseIf();
      case "for":
        return this.parseFor();
      case "set":
        return this.parseSet();
      case "macro":
        return this.parseMacro();
      case "call":
        return this.parseCallBlock();
      case "filter": {
        const filters = this.parseFilterChain();
        this.expect("block_end");
        return { kind: "filterblock", filters, body: this.parseBody("endfilter") };
      }
      case "with":
        return this.parseWith();
      case "generation": {
        this.expect("block_end");
        return { kind: "filterblock", filters: [], body: this.parseBody("endgeneration") };
      }
      case "break":
      case "continue":
        this.expect("block_end");
        return { kind: token.value };
      default:
        return this.fail(`Encountered unknown tag '${token.value}'`, token);
    }
  }

  parseIf(): Stmt {
    const test = this.parseTuple(false);
    this.expect("block_end");
    const body = this.parseStatements(["elif", "else", "endif"]);
    const tag = this.next().value;
    if (tag === "elif") return { kind: "if", test, body, otherwise: [this.parseIf()] };
    this.expect("block_end");
    if (tag === "else") return { kind: "if", test, body, otherwise: this.parseBody("endif") };
    return { kind: "if", test, body, otherwise: [] };
  }

  parseFor(): Stmt {
    const target = this.parseAssignTarget(false);
    this.expect("name", "in");
    const iter = this.parseTuple(false, false);
    const filter = this.skip("name", "if") ? this.parseExpression() : undefined;
    const recursive = this.skip("name", "recursive");
    this.expect("block_end");
    const body = this.parseStatements(["endfor", "else"]);
    let otherwise: Stmt[] = [];
    if (this.next().value === "else") {
      this.expect("block_end");
      otherwise = this.parseBody("endfor");
    } else {
      this.expect("block_end");
    }
    return { kind: "for", target, iter, filter, recursive, body, otherwise };
  }

  parseSet(): Stmt {
    const target = this.parseAssignTarget(true);
    if (this.skip("operator", "=")) {
      const value = this.parseTuple(true);
      this.expect("block_end");
      return { kind: "set", target, value };
    }
    const filters = this.is("operator", "|") ? this.parseFilterChain() : [];
    this.expect("block_end");
    return { kind: "setblock", target, filters, body: this.parseBody("endset") };
  }

  parseMacro(): Stmt {
    const name = this.expect("name").value;
    const params = this.parseParams();
    this.expect("block_end");
    return { kind: "macro", name, params, body: this.parseBody("endmacro") };
  }

  parseCallBlock(): Stmt {
    const params = this.is("operator", "(") ? this.parseParams() : [];
    const call = this.parseExpression();
    if (call.kind !== "call") this.fail("expected call");
    this.expect("block_end");
    return { kind: "callblock", call, params, body: this.parseBody("endcall") };
  }

  parseWith(): Stmt {
    const assignments: [Target, Expr][] = [];
    while (!this.is("block_end")) {
      if (assignments.length > 0) this.expect("operator", ",");
      const target = this.parseAssignTarget(false);
      this.expect("operator", "=");
      assignments.push([target, this.parseExpression()]);
    }
    this.expect("block_end");
    return { kind: "with", assignments, body: this.parseBody("endwith") };
  }

  parseParams(): MacroParam[] {
    const params: MacroParam[] = [];
    this.expect("operator", "(");
    while (!this.skip("operator", ")")) {
      if (params.length > 0) this.expect("operator", ",");
      if (this.skip("operator", ")")) break;
      const name = this.expect("name").value;
      params.push({ name, default: this.skip("operator", "=") ? this.parseExpression() : undefined });
    }
    return params;
  }

  /** `|f(args)|g` after `filter` or `set x`: filters applied to the block's output. */
  parseFilterChain(): Expr[] {
    const filters: Expr[] = [];
    this.skip("operator", "|");
    do {
      const name = this.parseDottedName();
      filters.push({ kind: "filter", node: undefined, name, ...this.parseOptionalCallArgs() });
    } while (this.skip("operator", "|"));
    return filters;
  }

  parseAssignTarget(allowNamespace: boolean): Target {
    const first = this.parseOneTarget(allowNamespace);
    if (!this.is("operator", ",")) return first;
    const items: Target[] = [first];
    while (this.skip("operator", ",")) {
      if (!this.is("name")) break;
      items.push(this.parseOneTarget(false));
    }
    return { kind: "tuple", items };
  }

  parseOneTarget(allowNamespace: boolean): Target {
    if (this.skip("operator", "(")) {
      const inner = this.parseAssignTarget(false);
      this.expect("operator", ")");
      return inner.kind === "tuple" ? inner : { kind: "tuple", items: [inner] };
    }
    const name = this.expect("name").value;
    if (allowNamespace && this.skip("operator", ".")) return { kind: "nsattr", name, attr: this.expect("name").value };
    return { kind: "name", name };
  }
}
