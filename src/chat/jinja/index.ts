/**
 * Parley's Jinja engine: renders chat templates the way Python's Jinja2 does in Hugging Face's
 * `apply_chat_template` environment (trim_blocks, lstrip_blocks, immutable sandbox, loop controls,
 * `{% generation %}`, `raise_exception`, `strftime_now`, HF's `tojson`), byte for byte on the
 * templates real models ship (measured with `npm run bench:templates`). Written for Parley because
 * the JavaScript engines available (@huggingface/jinja, nunjucks, minijinja-js) each differ from
 * Jinja2 on real templates (see bench/template-parity.ts).
 *
 *   const template = new JinjaTemplate(source);   // parses; throws TemplateSyntaxError
 *   template.render({ messages, add_generation_prompt: true });  // throws TemplateError
 */
import type { Stmt } from "./ast.ts";
import { TemplateError } from "./errors.ts";
import { checkNames, Interpreter, Scope } from "./interpreter.ts";
import { parse } from "./parser.ts";
import { strftime } from "./strftime.ts";
import { fromJs, Namespace, num, PyCallable, PyDict, str, type Value } from "./values.ts";

export { TemplateError, TemplateSyntaxError, UndefinedError, SecurityError, TemplateTypeError } from "./errors.ts";

export interface JinjaTemplateOptions {
  /** Extra globals (JS functions are callable from the template); they override the built-in ones. */
  readonly globals?: Readonly<Record<string, unknown>>;
}

function range({ args }: { args: readonly Value[] }): Value {
  const [a, b, c] = args.map((x) => num(x as number));
  const [start, stop, step] = b === undefined ? [0, a ?? 0, 1] : [a ?? 0, b, c ?? 1];
  if (step === 0) throw new TemplateError("range() arg 3 must not be zero");
  const out: number[] = [];
  if (step > 0) for (let i = start; i < stop; i += step) out.push(i);
  else for (let i = start; i > stop; i += step) out.push(i);
  return out;
}

/** The globals of Hugging Face's environment, plus Jinja2's default ones. */
function builtinGlobals(): Scope {
  const scope = new Scope(undefined);
  const define = (name: string, call: PyCallable["call"]): void => void scope.vars.set(name, new PyCallable(name, call));
  define("range", range);
  define("dict", ({ args, kwargs }) => {
    const dict = new PyDict(args[0] instanceof PyDict ? args[0].map : undefined);
    for (const [k, v] of kwargs) dict.map.set(k, v);
    return dict;
  });
  define("namespace", ({ args, kwargs }) => {
    const ns = new Namespace();
    if (args[0] instanceof PyDict) for (const [k, v] of args[0].map) ns.attrs.set(String(k), v);
    for (const [k, v] of kwargs) ns.attrs.set(k, v);
    return ns;
  });
  define("joiner", ({ args }) => {
    let used = false;
    const sep = args[0] ?? ", ";
    return new PyCallable("joiner", () => (used ? sep : ((used = true), "")));
  });
  define("raise_exception", ({ args }) => {
    throw new TemplateError(str(args[0] ?? ""));
  });
  define("strftime_now", ({ args }) => strftime(str(args[0] ?? "")));
  return scope;
}

const GLOBALS = builtinGlobals();

export class JinjaTemplate {
  readonly source: string;
  readonly #body: readonly Stmt[];
  readonly #globals: Scope;
  readonly #interpreter = new Interpreter();

  /** Parses `source`; throws TemplateSyntaxError if Jinja2 would refuse to compile it. */
  constructor(source: string, options: JinjaTemplateOptions = {}) {
    this.source = source;
    this.#body = parse(source);
    checkNames(this.#body);
    if (options.globals === undefined) {
      this.#globals = GLOBALS;
    } else {
      this.#globals = new Scope(GLOBALS);
      for (const [name, value] of Object.entries(options.globals)) this.#globals.vars.set(name, fromJs(value));
    }
  }

  /** Renders with `context` (plain data: what JSON has, plus functions). Throws a TemplateError. */
  render(context: Readonly<Record<string, unknown>> = {}): string {
    const scope = new Scope(this.#globals);
    for (const [name, value] of Object.entries(context)) if (value !== undefined) scope.vars.set(name, fromJs(value));
    return this.#interpreter.render(this.#body, new Scope(scope));
  }
}
