/**
 * Reads one tool-call object (`{"name": …, "arguments": …}`) character by character, for the
 * streaming tool-call parser (tool-call-parser.ts), and tells it when to emit the call and its
 * arguments.
 *
 * Keys may come in any order, extra keys are skipped, `name` or `tool_name` holds the name (the
 * first one present), `arguments` or `parameters` holds the arguments (the first one present), whitespace may come wherever JSON allows it. The call is
 * announced once the name is known and the arguments value has begun, or when the object ends
 * (arguments "{}" then); arguments that came before the name are announced with it. The arguments'
 * raw JSON text is passed on as it arrives, except a JSON string (double-encoded arguments),
 * passed on decoded once complete.
 */
import { decodeJsonString, isJsonWhitespace, JsonStringScanner, JsonValueScanner } from "./json-scanner.ts";

/** Where the reader's output goes. */
export interface CallSink {
  /** The call begins: its name is known. */
  call(name: string): void;
  /** More of the call's arguments text. */
  arguments(text: string): void;
}

/** Result of one character: the object goes on, it has ended, or the character breaks it. */
export type CallStep = "more" | "end" | "error";

const ARGUMENT_KEYS: ReadonlySet<string> = new Set(["arguments", "parameters"]);
/** Keys that hold the function's name: `name`, or Command R7B's `tool_name`. */
const NAME_KEYS: ReadonlySet<string> = new Set(["name", "tool_name"]);

type Phase = "key" | "keyBody" | "colon" | "value" | "valueBody" | "nameBody" | "after";

/** Reads one call object, from just after its opening `{`. */
export class CallObjectReader {
  #phase: Phase = "key";
  /** What the current key's value is: the name, the arguments, or something to skip. */
  #role: "name" | "args" | "skip" = "skip";
  /** Raw body of the key or name string being read. */
  #text = "";
  #strings = new JsonStringScanner();
  #value = new JsonValueScanner();
  #name: string | undefined;
  /** Raw arguments text not passed on yet (before the name, or a double-encoded string). */
  #argsRaw = "";
  #argsStarted = false;
  #argsDone = false;
  #argsIsString = false;
  #announced = false;

  /** The name, once read (non-empty). */
  get name(): string | undefined {
    return this.#name;
  }

  /** True once the call was passed to the sink. */
  get announced(): boolean {
    return this.#announced;
  }

  /** True while raw arguments text passes straight through: every character but `"` and `\` is sent as it is. */
  get streamingPlainString(): boolean {
    return this.#phase === "valueBody" && this.#role === "args" && this.#announced && !this.#argsIsString && this.#value.inPlainString;
  }

  /** Feeds one character. */
  step(c: string, sink: CallSink): CallStep {
    switch (this.#phase) {
      case "key":
      case "after":
        if (isJsonWhitespace(c)) return "more";
        if (c === "}") return this.#end(sink);
        if (this.#phase === "after" && c === ",") {
          this.#phase = "key";
          return "more";
        }
        if (this.#phase === "key" && c === '"') return this.#startString("keyBody");
        return "error";
      case "colon":
        if (isJsonWhitespace(c)) return "more";
        if (c !== ":") return "error";
        this.#phase = "value";
        return "more";
      case "value":
        if (isJsonWhitespace(c)) return "more";
        return this.#startValue(c, sink);
      case "keyBody":
      case "nameBody":
        return this.#stringStep(c, sink);
      case "valueBody":
        return this.#valueStep(c, sink);
    }
  }

  /**
   * The text ends (or breaks) here. An announced call gets what is left of a double-encoded string
   * (decoded as far as it goes); a call with a name but not announced yet is announced with "{}".
   */
  finish(sink: CallSink): void {
    if (this.#announced) {
      if (!this.#argsStarted || this.#argsDone || !this.#argsIsString) return;
      this.#argsDone = true;
      sink.arguments(decodeJsonString(this.#argsRaw.slice(1)));
    } else if (this.#name !== undefined) {
      this.#announce(sink, "{}");
    }
  }

  #startString(phase: "keyBody" | "nameBody"): CallStep {
    this.#phase = phase;
    this.#text = "";
    this.#strings = new JsonStringScanner();
    return "more";
  }

  #stringStep(c: string, sink: CallSink): CallStep {
    const step = this.#strings.step(c);
    if (step === "error") return "error";
    if (step === "more") {
      this.#text += c;
      return "more";
    }
    const text = decodeJsonString(this.#text);
    if (this.#phase === "keyBody") {
      if (NAME_KEYS.has(text) && this.#name === undefined) this.#role = "name";
      else this.#role = ARGUMENT_KEYS.has(text) && !this.#argsStarted ? "args" : "skip";
      this.#phase = "colon";
      return "more";
    }
    if (text === "") return "error";
    this.#name = text;
    this.#phase = "after";
    if (this.#argsDone) this.#announce(sink, this.#heldArguments());
    return "more";
  }

  #startValue(c: string, sink: CallSink): CallStep {
    if (this.#role === "name") return c === '"' ? this.#startString("nameBody") : "error";
    this.#value = new JsonValueScanner();
    if (this.#value.step(c) === "error") return "error";
    this.#phase = "valueBody";
    if (this.#role !== "args") return "more";
    this.#argsStarted = true;
    this.#argsIsString = c === '"';
    if (this.#name !== undefined) this.#announce(sink, "");
    this.#argumentsChar(c, sink);
    return "more";
  }

  #valueStep(c: string, sink: CallSink): CallStep {
    const step = this.#value.step(c);
    if (step === "error") return "error";
    if (step !== "done-before" && this.#role === "args") this.#argumentsChar(c, sink);
    if (step === "more") return "more";
    this.#phase = "after";
    if (this.#role === "args") {
      this.#argsDone = true;
      if (this.#announced && this.#argsIsString) sink.arguments(this.#heldArguments());
    }
    return step === "done-before" ? this.step(c, sink) : "more";
  }

  #argumentsChar(c: string, sink: CallSink): void {
    if (this.#announced && !this.#argsIsString) sink.arguments(c);
    else this.#argsRaw += c;
  }

  /** The held arguments as passed on: raw JSON, or a double-encoded string decoded. */
  #heldArguments(): string {
    return this.#argsIsString ? decodeJsonString(this.#argsRaw.slice(1, -1)) : this.#argsRaw;
  }

  #end(sink: CallSink): CallStep {
    if (this.#name === undefined) return "error";
    if (!this.#announced) this.#announce(sink, "{}");
    return "end";
  }

  #announce(sink: CallSink, args: string): void {
    this.#announced = true;
    sink.call(this.#name ?? "");
    if (args !== "") sink.arguments(args);
  }
}
