/**
 * The `loop` variable of a for loop, as Jinja2 defines it: index/index0, revindex/revindex0,
 * first/last, length, depth/depth0, previtem/nextitem (Undefined at the ends), cycle(...),
 * changed(...), and calling `loop(items)` in a `recursive` loop.
 */
import { equals, type Loop, PyCallable, Undefined, type Value } from "./values.ts";

export function loopAttribute(loop: Loop, name: string): Value | undefined {
  const s = loop.state;
  const n = s.items.length;
  switch (name) {
    case "index":
      return s.index0 + 1;
    case "index0":
      return s.index0;
    case "revindex":
      return n - s.index0;
    case "revindex0":
      return n - s.index0 - 1;
    case "first":
      return s.index0 === 0;
    case "last":
      return s.index0 === n - 1;
    case "length":
      return n;
    case "depth":
      return s.depth0 + 1;
    case "depth0":
      return s.depth0;
    case "previtem":
      return s.index0 > 0 ? (s.items[s.index0 - 1] as Value) : new Undefined("there is no previous item");
    case "nextitem":
      return s.index0 < n - 1 ? (s.items[s.index0 + 1] as Value) : new Undefined("there is no next item");
    case "cycle":
      return new PyCallable("cycle", ({ args }) => {
        if (args.length === 0) throw new TypeError("no items for cycling given");
        return args[s.index0 % args.length] as Value;
      });
    case "changed":
      return new PyCallable("changed", ({ args }) => {
        const value: Value = args.length === 1 ? (args[0] as Value) : args.slice();
        if (s.lastChanged !== undefined && equals(s.lastChanged.value, value)) return false;
        s.lastChanged = { value };
        return true;
      });
    default:
      return undefined;
  }
}
