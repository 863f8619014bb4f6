// Child process for TemplateSandbox (template-sandbox.ts): renders untrusted Jinja chat templates
// in a separate Node process, so that a template that loops or allocates without end can be cut
// off (killed on timeout, or aborted by V8 at its --max-old-space-size) without harming the server.
//
// Plain JavaScript, started by template-sandbox.ts with the tsx ESM loader (`--import tsx/esm`) so that it
// can load Parley's Jinja engine (src/chat/jinja/, TypeScript), the same one ChatTemplate uses.
//
// Protocol (IPC, "advanced" serialization). Out, once, after the library has loaded:
// {type: "ready"}. In: {id, source, context, maxOutputChars}. Out: {type: "result", id, ok: true,
// output} or {type: "result", id, ok: false, kind: "syntax" | "render" | "resources" |
// "output_too_large", message}.
import { JinjaTemplate } from "./jinja/index.ts";

const CACHE_SIZE = 16;

/** Parsed templates by source, least recently used first (a Map keeps insertion order). */
const cache = new Map();

function parsed(source) {
  const hit = cache.get(source);
  if (hit !== undefined) {
    cache.delete(source);
    cache.set(source, hit);
    return hit;
  }
  const template = new JinjaTemplate(source);
  cache.set(source, template);
  if (cache.size > CACHE_SIZE) cache.delete(cache.keys().next().value);
  return template;
}

/** V8's own limits (string/array length, stack depth) surface as RangeErrors: "resources". */
function isResourceError(error) {
  return error instanceof RangeError && /Invalid (string|array|typed array) length|Maximum call stack size exceeded|Array buffer allocation failed/i.test(error.message);
}

function describe(error) {
  if (error instanceof Error) return error.message || error.name;
  return String(error);
}

function failure(id, kind, error) {
  return { type: "result", id, ok: false, kind: isResourceError(error) ? "resources" : kind, message: describe(error) };
}

function handle(request) {
  const { id, source, context, maxOutputChars } = request;
  let template;
  try {
    template = parsed(source);
  } catch (error) {
    return failure(id, "syntax", error);
  }
  let output;
  try {
    output = template.render(context);
  } catch (error) {
    return failure(id, "render", error);
  }
  if (typeof output !== "string") output = String(output);
  if (output.length > maxOutputChars) {
    return {
      type: "result",
      id,
      ok: false,
      kind: "output_too_large",
      message: `The template's output has ${output.length} characters; at most ${maxOutputChars} are allowed`,
    };
  }
  return { type: "result", id, ok: true, output };
}

if (typeof process.send !== "function") throw new Error("template-worker.js must be started with child_process.fork()");
process.on("message", (request) => {
  process.send(handle(request));
});
// The parent went away (exited, or closed the channel): nothing more to do.
process.on("disconnect", () => process.exit(0));
process.send({ type: "ready" });
