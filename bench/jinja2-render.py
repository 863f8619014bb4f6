#!/usr/bin/env python3
"""
Reference renderer for bench/template-parity.ts: renders chat templates with Python's Jinja2 in the
environment Hugging Face's `apply_chat_template` sets up (trim_blocks, lstrip_blocks, an immutable
sandbox, loop controls, a `{% generation %}` block that renders its body, `raise_exception`,
`strftime_now`, and a `tojson` that keeps non-ASCII text and takes indent/separators/sort_keys).

Written for Parley from Jinja2's documented API; it is a measuring tool, not shipped code.

stdin:  {"templates": [{"name", "source"}], "contexts": [{"name", "context"}]}
stdout: {"results": {template: {context: {"ok": true, "output"} | {"ok": false, "error"}}}}
"""
import json
import sys
from datetime import datetime

from jinja2 import nodes
from jinja2.exceptions import TemplateError
from jinja2.ext import Extension, loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment


class GenerationBlock(Extension):
    """`{% generation %}...{% endgeneration %}`: renders its body unchanged."""

    tags = {"generation"}

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(("name:endgeneration",), drop_needle=True)
        return nodes.CallBlock(self.call_method("_body"), [], [], body).set_lineno(lineno)

    def _body(self, caller):
        return caller()


def raise_exception(message):
    raise TemplateError(message)


def strftime_now(fmt):
    return datetime.now().strftime(fmt)


def tojson(value, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(value, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


def make_environment():
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[GenerationBlock, loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env


def main():
    request = json.load(sys.stdin)
    env = make_environment()
    results = {}
    for template in request["templates"]:
        row = results.setdefault(template["name"], {})
        try:
            compiled = env.from_string(template["source"])
        except Exception as error:  # a syntax error fails every context alike
            for ctx in request["contexts"]:
                row[ctx["name"]] = {"ok": False, "error": f"syntax: {type(error).__name__}: {error}"}
            continue
        for ctx in request["contexts"]:
            try:
                row[ctx["name"]] = {"ok": True, "output": compiled.render(**ctx["context"])}
            except Exception as error:
                row[ctx["name"]] = {"ok": False, "error": f"{type(error).__name__}: {error}"}
    json.dump({"results": results}, sys.stdout, ensure_ascii=False)


if __name__ == "__main__":
    main()
