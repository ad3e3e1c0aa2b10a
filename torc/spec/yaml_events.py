"""YAML specs built straight from libyaml's events, with the line of every key.

PyYAML's loaders compose a node tree and then construct it, asking the implicit resolver (a
loop of regexes) about every scalar: on a 10,000-job spec that is half the time of a load. A
spec is mostly plain mappings, lists and strings, so this builder takes the events of the C
parser and makes the data directly; a plain scalar that cannot be anything but a string (its
first character starts no number, boolean, null or timestamp) is taken as it is, and every
other scalar goes through PyYAML's own resolver and constructor, so values are exactly what
``yaml.safe_load`` gives. Anchors, aliases, merge keys, tags on collections and multiple
documents are left to the full loader (:class:`Unusual`), which keeps their exact semantics.
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.events import (
    AliasEvent,
    DocumentStartEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
)
from yaml.nodes import ScalarNode

from torc.errors import SpecError

_PARSER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
# First characters the implicit resolver may give a non-string meaning to.
_RESOLVABLE = frozenset(k for k in yaml.SafeLoader.yaml_implicit_resolvers if k is not None)
# (A resolver for any first character, which PyYAML's safe loader has none of, would end that.)
_PLAIN_STRINGS = None not in yaml.SafeLoader.yaml_implicit_resolvers


class Unusual(Exception):
    """The document uses a feature this builder leaves to the full loader."""


def build(text: str, line_dict: type[dict]) -> Any:
    """The document's data, mappings as ``line_dict`` (with ``line`` and ``lines``); Unusual
    when the full loader must do it; yaml.YAMLError for a malformed document."""
    parser = _PARSER(text)
    constructor = yaml.SafeLoader("")  # resolves and constructs the scalars that need it
    try:
        return _document(parser, constructor, line_dict)
    finally:
        parser.dispose()


# The tag a collection may carry explicitly and still be a plain mapping or list.
_PLAIN_TAGS = {MappingStartEvent: "tag:yaml.org,2002:map",
               SequenceStartEvent: "tag:yaml.org,2002:seq"}


def _document(parser: Any, constructor: Any, line_dict: type[dict]) -> Any:
    stack: list[Any] = []  # the open containers, innermost last
    keys: list[Any] = []  # beside each: a mapping's pending (key, line), else None
    root: Any = None
    documents = 0
    while True:
        ev = parser.get_event()
        cls = type(ev)
        if cls is ScalarEvent:
            value = _scalar(ev, constructor)
        elif cls is MappingStartEvent or cls is SequenceStartEvent:
            if ev.anchor is not None or ev.tag not in (None, _PLAIN_TAGS[cls]):
                raise Unusual
            if cls is MappingStartEvent:
                value: Any = line_dict()
                value.line = ev.start_mark.line + 1
            else:
                value = []
        elif cls is MappingEndEvent or cls is SequenceEndEvent:
            stack.pop()
            keys.pop()
            continue
        elif cls is DocumentStartEvent:
            documents += 1
            if documents > 1:
                raise Unusual  # the full loader says "expected a single document"
            continue
        elif cls is AliasEvent:
            raise Unusual
        elif cls is StreamEndEvent:
            return root
        else:  # stream start, document end
            continue
        if stack:
            _add(stack[-1], keys, value, ev)
        else:
            root = value
        if cls is not ScalarEvent:
            stack.append(value)
            keys.append(None)


def _add(top: Any, keys: list[Any], value: Any, ev: Any) -> None:
    """Put ``value`` in the innermost open container ``top``: a list item, a mapping's key,
    or the value of its pending key (``keys[-1]``)."""
    if type(top) is list:
        top.append(value)
        return
    pending = keys[-1]
    if pending is None:
        if not isinstance(value, str):
            if isinstance(value, (dict, list)):
                raise Unusual  # a complex key: the full loader reports it
            raise SpecError(f"line {ev.start_mark.line + 1}: mapping keys must be strings, "
                            f"got {value!r}")
        if value == "<<":
            raise Unusual  # a merge key
        if value in top:
            raise SpecError(f"line {ev.start_mark.line + 1}: duplicate key {value!r}")
        keys[-1] = (value, ev.start_mark.line + 1)
        return
    key, line = pending
    top[key] = value
    top.lines[key] = line
    keys[-1] = None


def _scalar(ev: ScalarEvent, constructor: Any) -> Any:
    value = ev.value
    if ev.anchor is not None or (value == "<<" and ev.implicit[0]):
        raise Unusual  # an anchor, or a merge key (whose tag has no scalar constructor)
    if ev.tag is None or ev.tag == "!":
        if not ev.implicit[0]:
            return value  # quoted, a block scalar or "! x": a string, as the resolver says
        if value and _PLAIN_STRINGS and value[0] not in _RESOLVABLE:
            return value
        tag = constructor.resolve(ScalarNode, value, ev.implicit)
    else:
        tag = ev.tag
    node = ScalarNode(tag, value, ev.start_mark, ev.end_mark, ev.style)
    return constructor.construct_object(node, deep=True)
