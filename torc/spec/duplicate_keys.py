"""Duplicate keys in JSON and JSON5 specs. Both parsers keep the last value of a repeated key
without a word, so ``"command"`` written twice would run the second silently; YAML refuses it.
JSON is checked while it is parsed (an object hook); JSON5's parser has no hook, so its text is
scanned for keys, which also finds the line of a duplicate in either."""

from __future__ import annotations

import json
import re
from typing import Any

from torc.errors import SpecError

_TOKENS = re.compile(r"""
    (?P<space>\s+)
  | (?P<comment>//[^\n]*|/\*.*?\*/)
  | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
  | (?P<punct>[{}\[\]:,])
  | (?P<word>[^\s{}\[\]:,"'/]+|/)
""", re.S | re.X)


class _Duplicate(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    d = dict(pairs)
    if len(d) != len(pairs):
        seen: set[str] = set()
        for k, _ in pairs:
            if k in seen:
                raise _Duplicate(k)
            seen.add(k)
    return d


def _key_text(token: str) -> str:
    if token[0] == '"':
        try:
            return json.loads(token)
        except ValueError:
            return token[1:-1]
    if token[0] == "'":
        return token[1:-1]
    return token


def find_duplicate(text: str) -> tuple[str, int] | None:
    """The first key repeated within one object, and its line; None when there is none."""
    stack: list[set[str] | None] = []  # a set of keys per open object, None per array
    expecting_key = False
    for m in _TOKENS.finditer(text):
        kind, token = m.lastgroup, m.group()
        if kind in ("space", "comment"):
            continue
        if token in "{[" and kind == "punct":
            stack.append(set() if token == "{" else None)
            expecting_key = token == "{"
        elif token in "}]" and kind == "punct":
            if stack:
                stack.pop()
            expecting_key = False
        elif token == "," and kind == "punct":
            expecting_key = bool(stack) and stack[-1] is not None
        elif token == ":" and kind == "punct":
            expecting_key = False
        elif expecting_key and stack and stack[-1] is not None:
            key = _key_text(token)
            if key in stack[-1]:
                return key, text.count("\n", 0, m.start()) + 1
            stack[-1].add(key)
    return None


class DuplicateKey(SpecError):
    """A key repeated within one object; ``line`` where it repeats, when found."""

    def __init__(self, key: str, line: int | None) -> None:
        super().__init__(f"duplicate key {key!r} (the first value would be ignored)")
        self.key, self.line = key, line

    def at(self, source: str) -> SpecError:
        """The error as a spec error naming ``source`` and the line."""
        where = f"{source}:{self.line}" if self.line else source
        return SpecError(f"{where}: {self.message}")


def json_loads(text: str) -> Any:
    """``json.loads`` that refuses a key repeated within an object (DuplicateKey); other
    errors are json's."""
    try:
        return json.loads(text, object_pairs_hook=_no_duplicates)
    except _Duplicate as e:
        found = find_duplicate(text)
        raise DuplicateKey(*(found or (e.key, None))) from None


def check_json5(text: str) -> None:
    """Refuse a key repeated within an object of JSON5 text (DuplicateKey)."""
    found = find_duplicate(text)
    if found is not None:
        raise DuplicateKey(*found)
