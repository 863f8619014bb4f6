/**
 * Walks a parsed template and writes its output, with Jinja2's scoping: each for-loop iteration,
 * macro call and `with` block gets its own scope (a `set` inside does not leak out, a namespace
 * attribute does); `if` does not create one. Variables are looked up when used, so a macro sees
 * the value a top-level variable has when it is called.
 */
import { getattr, getitem, slice } from "./access.ts";
import type { CallArgsNode, Expr, MacroParam, Stmt, Target } from "./ast.ts";
import { TemplateError, TemplateSyntaxError, TemplateTypeError } from "./errors.ts";
import { FILTERS, type FilterEnv } from "./filters.ts";
import { binary, compare, unary } from "./operators.ts";
import { TESTS } from "./tests.ts";
import { dictKey, iterate, Loop, Namespace, orElse, PyCallable, PyDict, PyTuple, str, toList, truthy, typeName, Undefined, type CallArgs, type LoopState, type Value, ownEntry } from "./values.ts";

export class Scope {
  readonly vars = new Map<string, Value>();
  constructor(readonly parent: Scope | undefined) {}

  lookup(name: string): Value | undefined {
    for (let scope: Scope | undefined = this; scope !== undefined; scope = scope.parent) {
      const value = scope.vars.get(name);
      if (value !== undefined) return value;
    }
    return undefined;
  }
}

/** What a statement list ended with: normally, or a `{% break %}` / `{% continue %}`. */
const enum Flow {
  Normal,
  Break,
  Continue,
}

/**
 * Throws TemplateSyntaxError for a filter or test Jinja2 does not know, as Jinja2's compiler does,
 * except inside `if` statements and conditional expressions ("soft" frames), where Jinja2 only
 * fails if the filter is actually used (the interpreter then raises).
 */
export function checkNames(node: unknown, soft = false): void {
  if (Array.isArray(node)) {
    for (const child of node) checkNames(child, soft);
    return;
  }
  if (typeof node !== "object" || node === null || !("kind" in node)) return;
  const { kind, name } = node as { kind: string; name?: unknown };
  if (!soft && kind === "filter" && typeof name === "string" && ownEntry(FILTERS, name) === undefined) throw new TemplateSyntaxError(`No filter named '${name}'.`, 0);
  if (!soft && kind === "test" && typeof name === "string" && ownEntry(TESTS, name) === undefined) throw new TemplateSyntaxError(`No test named '${name}'.`, 0);
  const inner = kind === "if" || kind === "cond" ? true : ["for", "macro", "callblock", "setblock", "filterblock", "with"].includes(kind) ? false : soft;
  for (const [key, value] of Object.entries(node)) {
    if (typeof value !== "object") continue;
    // A for loop's iterable and filter belong to the enclosing frame; its body to a new one.
    checkNames(value, kind === "for" && (key === "iter" || key === "filter") ? soft : inner);
  }
}

export class Interpreter implements FilterEnv {
  callFilter(name: string, value: Value, call: CallArgs): Value {
    const filter = ownEntry(FILTERS, name);
    if (filter === undefined) throw new TemplateError(`No filter named '${name}'.`);
    return filter(value, call, this);
  }

  callTest(name: string, value: Value, call: CallArgs): boolean {
    const test = ownEntry(TESTS, name);
    if (test === undefined) throw new TemplateError(`No test named '${name}'.`);
    return test(value, call, (kind, n) => (kind === "filter" ? ownEntry(FILTERS, n) : ownEntry(TESTS, n)) !== undefined);
  }

  render(body: readonly Stmt[], scope: Scope): string {
    const out: string[] = [];
    this.exec(body, scope, out);
    return out.join("");
  }

  exec(body: readonly Stmt[], scope: Scope, out: string[]): Flow {
    for (const stmt of body) {
      switch (stmt.kind) {
        case "text":
          out.push(stmt.text);
          break;
        case "output":
          out.push(str(this.eval(stmt.expr, scope)));
          break;
        case "if": {
          const flow = this.exec(truthy(this.eval(stmt.test, scope)) ? stmt.body : stmt.otherwise, scope, out);
          if (flow !== Flow.Normal) return flow;
          break;
        }
        case "for":
          this.#runLoop(stmt, this.eval(stmt.iter, scope), scope, out, 0);
          break;
        case "set":
          this.#assign(stmt.target, this.eval(stmt.value, scope), scope);
          break;
        case "setblock":
          this.#assign(stmt.target, this.#applyFilters(stmt.filters, this.render(stmt.body, new Scope(scope)), scope), scope);
          break;
        case "macro":
          scope.vars.set(stmt.name, this.#macro(stmt.name, stmt.params, stmt.body, scope));
          break;
        case "callblock": {
          const call = stmt.call as Extract<Expr, { kind: "call" }>;
          const caller = this.#macro("caller", stmt.params, stmt.body, scope);
          const args = this.#args(call, scope);
          out.push(str(this.#call(this.eval(call.fn, scope), { args: args.args, kwargs: new Map([...args.kwargs, ["caller", caller]]) })));
          break;
        }
        case "filterblock":
          out.push(str(this.#applyFilters(stmt.filters, this.render(stmt.body, scope), scope)));
          break;
        case "with": {
          const inner = new Scope(scope);
          for (const [target, expr] of stmt.assignments) this.#assign(target, this.eval(expr, scope), inner);
          const flow = this.exec(stmt.body, inner, out);
          if (flow !== Flow.Normal) return flow;
          break;
        }
        case "break":
          return Flow.Break;
        case "continue":
          return Flow.Continue;
      }
    }
    return Flow.Normal;
  }

  #runLoop(stmt: Extract<Stmt, { kind: "for" }>, iterable: Value, scope: Scope, out: string[], depth0: number): void {
    let items = toList(iterable);
    if (stmt.filter !== undefined) {
      const filter = stmt.filter;
      items = items.filter((item) => {
        const s = new Scope(scope);
        this.#assign(stmt.target, item, s);
        return truthy(this.eval(filter, s));
      });
    }
    if (items.length === 0) {
      this.exec(stmt.otherwise, new Scope(scope), out);
      return;
    }
    const recurse = stmt.recursive
      ? new PyCallable("loop", ({ args }) => {
          const inner: string[] = [];
          this.#runLoop(stmt, args[0] ?? null, scope, inner, depth0 + 1);
          return inner.join("");
        })
      : undefined;
    const state: LoopState = { items, index0: 0, depth0, recurse, lastChanged: undefined };
    const loop = new Loop(state);
    for (let i = 0; i < items.length; i++) {
      state.index0 = i;
      const inner = new Scope(scope);
      this.#assign(stmt.target, items[i] as Value, inner);
      inner.vars.set("loop", loop);
      if (this.exec(stmt.body, inner, out) === Flow.Break) break;
    }
  }

  #assign(target: Target, value: Value, scope: Scope): void {
    if (target.kind === "name") {
      scope.vars.set(target.name, value);
    } else if (target.kind === "nsattr") {
      const ns = scope.lookup(target.name);
      if (!(ns instanceof Namespace)) throw new TemplateError("cannot assign attribute on non-namespace object");
      ns.attrs.set(target.attr, value);
    } else {
      const items = toList(value);
      if (items.length !== target.items.length) {
        throw new TemplateTypeError(
          items.length > target.items.length ? `too many values to unpack (expected ${target.items.length})` : `not enough values to unpack (expected ${target.items.length}, got ${items.length})`,
        );
      }
      target.items.forEach((t, i) => this.#assign(t, items[i] as Value, scope));
    }
  }

  #applyFilters(filters: readonly Expr[], value: Value, scope: Scope): Value {
    let result = value;
    for (const f of filters) {
      if (f.kind !== "filter") continue;
      result = this.callFilter(f.name, result, this.#args(f, scope));
    }
    return result;
  }

  #macro(name: string, params: readonly MacroParam[], body: readonly Stmt[], defined: Scope): PyCallable {
    return new PyCallable(name, ({ args, kwargs }) => {
      const scope = new Scope(defined);
      const extra = new Map(kwargs);
      params.forEach((param, i) => {
        let value: Value | undefined = i < args.length ? args[i] : extra.get(param.name);
        extra.delete(param.name);
        if (value === undefined) value = param.default !== undefined ? this.eval(param.default, scope) : new Undefined(`parameter '${param.name}' was not provided`);
        scope.vars.set(param.name, value);
      });
      const caller = extra.get("caller");
      if (caller !== undefined) {
        extra.delete("caller");
        scope.vars.set("caller", caller);
      }
      scope.vars.set("varargs", args.slice(params.length));
      scope.vars.set("kwargs", new PyDict(extra));
      return this.render(body, scope);
    });
  }

  #args(node: CallArgsNode, scope: Scope): CallArgs {
    const args = node.args.map((a) => this.eval(a, scope));
    if (node.starArgs !== undefined) args.push(...iterate(this.eval(node.starArgs, scope)));
    const kwargs = new Map<string, Value>();
    for (const [key, expr] of node.kwargs) kwargs.set(key, this.eval(expr, scope));
    if (node.starKwargs !== undefined) {
      const extra = this.eval(node.starKwargs, scope);
      if (extra instanceof PyDict) for (const [k, v] of extra.map) kwargs.set(String(k), v);
    }
    return { args, kwargs };
  }

  #call(fn: Value, call: CallArgs): Value {
    if (fn instanceof PyCallable) return fn.call(call);
    if (fn instanceof Loop && fn.state.recurse !== undefined) return fn.state.recurse.call(call);
    if (fn instanceof Undefined) return fn.fail();
    throw new TemplateTypeError(`'${typeName(fn)}' object is not callable`);
  }

  eval(expr: Expr, scope: Scope): Value {
    switch (expr.kind) {
      case "const":
        return expr.value;
      case "name":
        return orElse(scope.lookup(expr.name), new Undefined(`'${expr.name}' is undefined`));
      case "list":
        return expr.items.map((item) => this.eval(item, scope));
      case "tuple":
        return new PyTuple(expr.items.map((item) => this.eval(item, scope)));
      case "dict": {
        const dict = new PyDict();
        for (const [k, v] of expr.pairs) {
          const key = this.eval(k, scope);
          const hashable = dictKey(key);
          if (hashable === undefined) throw new TemplateTypeError(`unhashable type: '${typeName(key)}'`);
          dict.map.set(hashable, this.eval(v, scope));
        }
        return dict;
      }
      case "getattr":
        return getattr(this.eval(expr.obj, scope), expr.attr);
      case "getitem": {
        const obj = this.eval(expr.obj, scope);
        const index = expr.index;
        if (index.kind === "slice") {
          const part = (e: Expr | undefined): Value => (e === undefined ? null : this.eval(e, scope));
          return slice(obj, part(index.start), part(index.stop), part(index.step));
        }
        return getitem(obj, this.eval(index, scope));
      }
      case "slice":
        throw new TemplateError("a slice is only valid inside []");
      case "call":
        return this.#call(this.eval(expr.fn, scope), this.#args(expr, scope));
      case "filter":
        return this.callFilter(expr.name, expr.node === undefined ? null : this.eval(expr.node, scope), this.#args(expr, scope));
      case "test": {
        const result = this.callTest(expr.name, this.eval(expr.node, scope), this.#args(expr, scope));
        return expr.negated ? !result : result;
      }
      case "unary": {
        const operand = this.eval(expr.operand, scope);
        return expr.op === "not" ? !truthy(operand) : unary(expr.op, operand);
      }
      case "binary": {
        const left = this.eval(expr.left, scope);
        if (expr.op === "and") return truthy(left) ? this.eval(expr.right, scope) : left;
        if (expr.op === "or") return truthy(left) ? left : this.eval(expr.right, scope);
        return binary(expr.op, left, this.eval(expr.right, scope));
      }
      case "compare": {
        let left = this.eval(expr.left, scope);
        for (const [op, rightExpr] of expr.ops) {
          const right = this.eval(rightExpr, scope);
          if (!compare(op, left, right)) return false;
          left = right;
        }
        return true;
      }
      case "cond":
        if (truthy(this.eval(expr.test, scope))) return this.eval(expr.then, scope);
        return expr.otherwise === undefined ? new Undefined("the inline if-expression evaluated to false and no else section was defined") : this.eval(expr.otherwise, scope);
    }
  }
}
