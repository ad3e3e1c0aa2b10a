"""The gRPC API reference (``docs/reference/api.md``), written from ``torc.proto`` itself, its
comments included, so it cannot drift from the contract: ``scripts/gen-docs`` writes it and
``tests/test_docs.py`` checks it is current. Pure: the proto's text in, Markdown out."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

HEADER = """# gRPC API reference

The one contract between `torc` processes: service `torc.v1.Torc` in
`torc/proto/torc.proto`, generated from it (`scripts/gen-docs`; a test checks this page is
current). The coordinator serves reflection, so `grpcurl` needs no proto file
([debugging with grpcurl](../grpcurl.md)); every call but health and reflection carries a
token (`authorization: Bearer ...`). Job, file, user data, result and worker ids are global.
"""

_RPC = re.compile(r"rpc (\w+)\((stream )?(\w+)\) returns \((stream )?(\w+)\);")
_FIELD = re.compile(r"^((?:repeated |optional )?(?:map<[^>]+>|[\w.]+)) (\w+) = (\d+);"
                    r"\s*(?://\s*(.*))?$")
_VALUE = re.compile(r"^(\w+) = (\d+);\s*(?://\s*(.*))?$")


@dataclass
class Block:
    """A message or enum: its comment and its fields (type, name, number, comment)."""

    kind: str
    name: str
    doc: str
    fields: list[tuple[str, str, str, str]] = field(default_factory=list)


def parse(text: str) -> tuple[list[tuple[str, str, str, str]], list[Block]]:
    """The service's RPCs (name, request, response, comment) and the messages and enums."""
    rpcs: list[tuple[str, str, str, str]] = []
    blocks: list[Block] = []
    comment: list[str] = []
    current: Block | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("//"):
            comment.append(line[2:].strip())
            continue
        if m := _RPC.match(line):
            req = ("stream " if m[2] else "") + m[3]
            resp = ("stream " if m[4] else "") + m[5]
            rpcs.append((m[1], req, resp, " ".join(comment)))
        elif m := re.match(r"(message|enum) (\w+) \{(.*)$", line):
            current = Block(m[1], m[2], " ".join(comment))
            blocks.append(current)
            rest = m[3].strip()
            if rest.endswith("}"):  # on one line
                inner = rest[:-1].strip()
                if inner:
                    _add(current, inner, [])
                current = None
        elif line == "}" or line.startswith("}"):
            current = None
        elif current is not None and line:
            _add(current, line, comment)
        comment = [] if line or not comment else comment
    return rpcs, blocks


def _add(block: Block, line: str, comment: list[str]) -> None:
    if block.kind == "enum":
        if m := _VALUE.match(line):
            block.fields.append(("", m[1], m[2], " ".join([*comment, m[3] or ""]).strip()))
    elif m := _FIELD.match(line):
        block.fields.append((m[1], m[2], m[3], " ".join([*comment, m[4] or ""]).strip()))


def page(text: str) -> str:
    """The reference page for the proto's text."""
    rpcs, blocks = parse(text)
    out = [HEADER, "## Service `torc.v1.Torc`", "", "| RPC | request | response | what |",
           "|---|---|---|---|"]
    for name, req, resp, doc in rpcs:
        out.append(f"| `{name}` | {_link(req)} | {_link(resp)} | {_cell(doc)} |")
    out += ["", "## Messages and enums", ""]
    for b in blocks:
        out += [f"### `{b.name}`", ""]
        if b.doc:
            out += [b.doc, ""]
        if not b.fields:
            out += ["No fields.", ""]
            continue
        if b.kind == "enum":
            out += ["| value | number | meaning |", "|---|---|---|"]
            out += [f"| `{n}` | {num} | {_cell(doc)} |" for _, n, num, doc in b.fields]
        else:
            out += ["| field | type | number | meaning |", "|---|---|---|---|"]
            out += [f"| `{n}` | `{t}` | {num} | {_cell(doc)} |" for t, n, num, doc in b.fields]
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def _link(name: str) -> str:
    stream, _, bare = name.rpartition(" ")
    return f"{stream + ' ' if stream else ''}[`{bare}`](#{bare.lower()})"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")
