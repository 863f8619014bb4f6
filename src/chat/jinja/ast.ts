/**
 * The syntax tree of a parsed template: expressions and statements, as Jinja2's parser builds
 * them (precedence and all), for the interpreter (interpreter.ts) to walk.
 */
import type { Value } from "./values.ts";

export interface CallArgsNode {
  readonly args: readonly Expr[];
  readonly kwargs: readonly (readonly [string, Expr])[];
  readonly starArgs: Expr | undefined;
  readonly starKwargs: Expr | undefined;
}

export type Expr =
  | { readonly kind: "const"; readonly value: Value }
  | { readonly kind: "name"; readonly name: string }
  | { readonly kind: "list"; readonly items: readonly Expr[] }
  | { readonly kind: "tuple"; readonly items: readonly Expr[] }
  | { readonly kind: "dict"; readonly pairs: readonly (readonly [Expr, Expr])[] }
  | { readonly kind: "getattr"; readonly obj: Expr; readonly attr: string }
  | { readonly kind: "getitem"; readonly obj: Expr; readonly index: Expr }
  | { readonly kind: "slice"; readonly start: Expr | undefined; readonly stop: Expr | undefined; readonly step: Expr | undefined }
  | ({ readonly kind: "call"; readonly fn: Expr } & CallArgsNode)
  | ({ readonly kind: "filter"; readonly node: Expr | undefined; readonly name: string } & CallArgsNode)
  | ({ readonly kind: "test"; readonly node: Expr; readonly name: string; readonly negated: boolean } & CallArgsNode)
  | { readonly kind: "unary"; readonly op: "not" | "-" | "+"; readonly operand: Expr }
  | { readonly kind: "binary"; readonly op: string; readonly left: Expr; readonly right: Expr }
  | { readonly kind: "compare"; readonly left: Expr; readonly ops: readonly (readonly [string, Expr])[] }
  | { readonly kind: "cond"; readonly test: Expr; readonly then: Expr; readonly otherwise: Expr | undefined };

/** What `for` and `set` assign to: a name, a tuple of targets, or a namespace attribute. */
export type Target =
  | { readonly kind: "name"; readonly name: string }
  | { readonly kind: "tuple"; readonly items: readonly Target[] }
  | { readonly kind: "nsattr"; readonly name: string; readonly attr: string };

export interface MacroParam {
  readonly name: string;
  readonly default: Expr | undefined;
}

export type Stmt =
  | { readonly kind: "text"; readonly text: string }
  | { readonly kind: "output"; readonly expr: Expr }
  | {
      readonly kind: "for";
      readonly target: Target;
      readonly iter: Expr;
      readonly filter: Expr | undefined;
      readonly recursive: boolean;
      readonly body: readonly Stmt[];
      readonly otherwise: readonly Stmt[];
    }
  | { readonly kind: "if"; readonly test: Expr; readonly body: readonly Stmt[]; readonly otherwise: readonly Stmt[] }
  | { readonly kind: "set"; readonly target: Target; readonly value: Expr }
  | { readonly kind: "setblock"; readonly target: Target; readonly body: readonly Stmt[]; readonly filters: readonly Expr[] }
  | { readonly kind: "macro"; readonly name: string; readonly params: readonly MacroParam[]; readonly body: readonly Stmt[] }
  | { readonly kind: "callblock"; readonly call: Expr; readonly params: readonly MacroParam[]; readonly body: readonly Stmt[] }
  | { readonly kind: "filterblock"; readonly filters: readonly Expr[]; readonly body: readonly Stmt[] }
  | { readonly kind: "with"; readonly assignments: readonly (readonly [Target, Expr])[]; readonly body: readonly Stmt[] }
  | { readonly kind: "break" }
  | { readonly kind: "continue" };
