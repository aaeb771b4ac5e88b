"""YAML read safely: the loader every spec, ``--set`` value and sidecar file goes through; and the
one writer of the YAML the package emits (:func:`write_yaml_text`).

PyYAML's safe loader with limits a hostile file cannot get round: nesting within
:data:`MAX_YAML_DEPTH` (checked as the document is composed, before Python's recursion limit),
at most :data:`MAX_YAML_VALUES` values once aliases are expanded, no alias inside the value it
names, and no key twice in one mapping. Where libyaml is installed a valid document is composed
by it (several times faster); anything else goes to the Python loader, which words the error.
Every error is a :class:`~index_engine.errors.SpecError` naming the file (or label) and the line.
"""

from __future__ import annotations

from typing import Any

import yaml

from .errors import SpecError

MAX_TREE_DEPTH = 50
"""The deepest a spec's tree may be (the index is level 1 of this count)."""
MAX_YAML_DEPTH = 2 * MAX_TREE_DEPTH + 20
"""The deepest a spec's YAML may nest (a tree level takes two: a node and its children list)."""
MAX_YAML_VALUES = 200_000
"""The most values a spec's YAML may hold once its aliases are expanded (the largest bundled
spec holds about 1,100): a few aliases nested in each other can otherwise stand for billions."""


def read_yaml_text(text: str, label: str) -> Any:
    """YAML text as plain data, safely: no Python tags, no key twice in a mapping, nesting
    within :data:`MAX_YAML_DEPTH` and at most :data:`MAX_YAML_VALUES` values with aliases
    expanded. Every error is a :class:`SpecError` naming ``label`` and the line."""
    fast = _compose_with_libyaml(text)
    loader = _SpecLoader(text, label) if fast is None else fast
    try:
        node = loader.get_single_node() if fast is None else fast.node
        if node is None:
            return None
        _check_yaml_graph(node, label)
        return loader.construct_document(node)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise SpecError(f"{label}: {where}not valid YAML ({problem})") from None
    finally:
        loader.dispose()


def write_yaml_text(data: Any, **options: Any) -> str:
    """Plain data as YAML text: ``yaml.safe_dump(data, **options)``, through libyaml's emitter where
    PyYAML has it (about four times faster on a spec), else PyYAML's Python emitter. What either emits
    reads back as ``data``, and for every bundled spec the text is the same; they differ in style only
    (libyaml writes characters outside the Basic Multilingual Plane as escapes, a ``...`` document end
    after a lone scalar less often, and an empty key without ``?``)."""
    dumper = yaml.CSafeDumper if getattr(yaml, "__with_libyaml__", False) else yaml.SafeDumper
    return yaml.dump(data, Dumper=dumper, **options)


def _compose_with_libyaml(text: str) -> Any:
    """A loader whose ``node`` is ``text`` composed by libyaml (PyYAML's C parser, several times faster),
    or None when libyaml is absent, the text nests deeper than MAX_YAML_DEPTH (counted on the parser's
    events, before anything recursive runs) or is not valid YAML: the Python loader then reads it and
    words the error. The two parsers give the same nodes for valid YAML."""
    if not getattr(yaml, "__with_libyaml__", False):
        return None
    opening, closing = (yaml.MappingStartEvent, yaml.SequenceStartEvent), (yaml.MappingEndEvent, yaml.SequenceEndEvent)
    try:
        depth = 0
        for event in yaml.parse(text, Loader=yaml.CSafeLoader):
            if isinstance(event, opening):
                depth += 1
                if depth > MAX_YAML_DEPTH:
                    return None
            elif isinstance(event, closing):
                depth -= 1
        loader = yaml.CSafeLoader(text)
        loader.node = loader.get_single_node()
    except yaml.YAMLError:
        return None
    return loader


class _SpecLoader(yaml.SafeLoader):
    """PyYAML's SafeLoader that refuses nesting deeper than MAX_YAML_DEPTH as it composes
    (before Python's recursion limit is reached) and knows the path it is at."""

    def __init__(self, text: str, label: str) -> None:
        super().__init__(text)
        self.label = label
        self.depth = 0
        self.path: list[str | int] = []

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node:
        token = _path_token(parent, index)
        if token is not None:
            self.path.append(token)
        self.depth += 1
        try:
            if self.depth > MAX_YAML_DEPTH and not self.check_event(yaml.AliasEvent):
                raise SpecError(_too_deep(self.label, self.peek_event().start_mark, self.path))
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1
            if token is not None:
                self.path.pop()


def _path_token(parent: yaml.Node | None, index: Any) -> str | int | None:
    """The path step from ``parent`` to the node composed at ``index`` (None: the top, or a key)."""
    if isinstance(parent, yaml.SequenceNode):
        return int(index)
    if isinstance(parent, yaml.MappingNode) and index is not None:
        return str(index.value) if isinstance(index, yaml.ScalarNode) else "?"
    return None


def _yaml_path(tokens: list[str | int]) -> str:
    """The path in the spec grammar, its middle cut when it is long."""
    if len(tokens) > 8:
        return f"{format_path(tokens[:4])} ... {format_path(tokens[-4:])}"
    return format_path(tokens) or "(top)"


def _too_deep(label: str, mark: Any, tokens: list[str | int]) -> str:
    return (
        f"{label}: line {mark.line + 1}, column {mark.column + 1}: {_yaml_path(tokens)}: nested more than "
        f"{MAX_YAML_DEPTH} levels deep, the limit (a tree may be at most {MAX_TREE_DEPTH} levels deep)"
    )


def _check_yaml_graph(root: yaml.Node, label: str) -> None:
    """Refuse a key twice in one mapping, an alias inside the value it names, nesting deeper
    than MAX_YAML_DEPTH and more than MAX_YAML_VALUES values, counting aliases expanded.

    Each node is measured once (its expanded size and height are memoized), so a document
    made of aliases of aliases is checked in time linear in its text.
    """
    measured: dict[int, tuple[int, int]] = {}
    open_nodes: set[int] = set()

    def visit(node: yaml.Node, tokens: list[str | int], depth: int) -> tuple[int, int]:
        key = id(node)
        if key in open_nodes:
            raise SpecError(
                f"{label}: line {node.start_mark.line + 1}: {_yaml_path(tokens)}: an alias refers to a value that contains it"
            )
        if key not in measured:
            if depth > MAX_YAML_DEPTH:
                raise SpecError(_too_deep(label, node.start_mark, tokens))
            open_nodes.add(key)
            size, height = 1, 0
            if isinstance(node, yaml.MappingNode):
                _check_keys(node, label, tokens)
                for k, v in node.value:
                    token = str(k.value) if isinstance(k, yaml.ScalarNode) else "?"
                    for child, path in ((k, tokens), (v, tokens + [token])):
                        n, h = visit(child, path, depth + 1)
                        size, height = size + n, max(height, h)
            elif isinstance(node, yaml.SequenceNode):
                for i, v in enumerate(node.value):
                    n, h = visit(v, tokens + [i], depth + 1)
                    size, height = size + n, max(height, h)
            open_nodes.discard(key)
            measured[key] = (size, height + 1)
        size, height = measured[key]
        if size > MAX_YAML_VALUES:
            raise SpecError(
                f"{label}: line {node.start_mark.line + 1}: {_yaml_path(tokens)}: the YAML stands for more than "
                f"{MAX_YAML_VALUES:,} values once its aliases (*name) are expanded, the limit; write it out without aliases"
            )
        if depth + height - 1 > MAX_YAML_DEPTH:
            raise SpecError(_too_deep(label, node.start_mark, tokens))
        return size, height

    visit(root, [], 1)


def _check_keys(node: yaml.MappingNode, label: str, tokens: list[str | int]) -> None:
    """No scalar key twice in one mapping (PyYAML keeps the last one silently). ``<<`` merges are allowed."""
    first: dict[tuple[str, str], yaml.Node] = {}
    for k, _ in node.value:
        if not isinstance(k, yaml.ScalarNode) or k.tag == "tag:yaml.org,2002:merge":
            continue
        seen = first.setdefault((k.tag, k.value), k)
        if seen is not k:
            raise SpecError(
                f"{label}: line {k.start_mark.line + 1}, column {k.start_mark.column + 1}: {format_path(tokens + [str(k.value)])}: "
                f"the key {k.value!r} appears twice in one mapping (first at line {seen.start_mark.line + 1}); keep one"
            )




def format_path(tokens: list[str | int]) -> str:
    """A path in the spec grammar from its steps: ``tree.children[2].code`` (see :mod:`index_engine.spec`)."""
    out = ""
    for t in tokens:
        out += f"[{t}]" if isinstance(t, int) else (f".{t}" if out else str(t))
    return out
