"""Strict YAML loading (no duplicate keys) and line numbers of keys, for error messages that point into the file.

The one YAML loader of the project: scenarios, calibration configs and scoring configs are read with it.
"""
from __future__ import annotations

import yaml
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode, ScalarNode, SequenceNode

from .errors import LLMLaborError


class DuplicateKeyError(ConstructorError, LLMLaborError):
    """A key appears twice in one mapping of a YAML document (plain YAML would keep the last value silently).

    A :class:`yaml.YAMLError` (so YAML error handlers report it) and an :class:`LLMLaborError`.

    ``key`` is the repeated key, ``path`` its key path in the document (a tuple, as in
    :func:`line_map`; just ``(key,)`` where it cannot be worked out), ``first_line`` and
    ``line`` the 1-based lines of its first and second occurrence; ``problem_mark`` points
    at the second, so handlers of :class:`yaml.YAMLError` report that line.
    """

    def __init__(self, key, first_mark, second_mark, context_mark=None, path: tuple | None = None):
        self.key, self.first_mark = key, first_mark
        self.path = tuple(path) if path is not None else (key,)
        self.first_line, self.line = first_mark.line + 1, second_mark.line + 1
        if self.first_line == self.line:
            where = (f"first at line {self.first_line} (column {first_mark.column + 1}), "
                     f"again at line {self.line} (column {second_mark.column + 1})")
        else:
            where = f"first at line {self.first_line}, again at line {self.line}"
        problem = f"duplicate key '{dotted(self.path)}': {where}; a key may appear only once in a mapping"
        super().__init__("while constructing a mapping", context_mark, problem, second_mark)

    def with_path(self, path: tuple) -> "DuplicateKeyError":
        return DuplicateKeyError(self.key, self.first_mark, self.problem_mark, self.context_mark, path)


class StrictLoader(yaml.SafeLoader):
    """:class:`yaml.SafeLoader` that raises :class:`DuplicateKeyError` for a key repeated in a mapping,
    at any depth and in block and flow mappings alike.  Keys brought in by a merge (``<<: *anchor``)
    may be overridden, as YAML allows."""

    def __init__(self, stream):
        super().__init__(stream)
        self._checked_mappings: set[int] = set()

    def _check_duplicates(self, node) -> None:
        # once per node, before flatten_mapping splices merged keys into node.value
        if not isinstance(node, MappingNode) or id(node) in self._checked_mappings:
            return
        self._checked_mappings.add(id(node))
        seen: dict = {}
        for key_node, _ in node.value:
            if not isinstance(key_node, ScalarNode) or key_node.tag in ("tag:yaml.org,2002:merge",
                                                                         "tag:yaml.org,2002:value"):
                continue
            key = self.construct_object(key_node)
            try:
                first = seen.setdefault(key, key_node)
            except TypeError:  # unhashable: the base constructor reports it
                continue
            if first is not key_node:
                raise DuplicateKeyError(key, first.start_mark, key_node.start_mark, node.start_mark)

    def flatten_mapping(self, node):
        self._check_duplicates(node)  # also reached for mappings merged in, before they are flattened
        return super().flatten_mapping(node)

    def construct_mapping(self, node, deep=False):
        self._check_duplicates(node)
        return super().construct_mapping(node, deep=deep)


def strict_load(text: str):
    """Like :func:`yaml.safe_load`, but a key repeated in a mapping raises :class:`DuplicateKeyError`
    (a :class:`yaml.YAMLError` whose ``problem`` names the key path and both lines)."""
    try:
        return yaml.load(text, Loader=StrictLoader)  # noqa: S506 (a SafeLoader subclass)
    except DuplicateKeyError as exc:
        path = _path_of_key_at(text, exc.problem_mark)
        if path is None:
            raise
        raise exc.with_path(path) from None


def _path_of_key_at(text: str, mark) -> tuple | None:
    """Key path of the mapping key that starts at ``mark``, or None."""
    try:
        root = yaml.compose(text)
    except yaml.YAMLError:
        return None
    stack = [(root, ())] if root is not None else []
    seen: set[int] = set()
    while stack:
        node, path = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, MappingNode):
            for key, value in node.value:
                p = path + (key.value if isinstance(key, ScalarNode) else "?",)
                if key.start_mark.index == mark.index:
                    return p
                stack.append((value, p))
        elif isinstance(node, SequenceNode):
            stack.extend((item, path + (k,)) for k, item in enumerate(node.value))
    return None


def read_text(path, error, what: str) -> str:
    """The UTF-8 text of a YAML file; ``error`` (with ``file=``, ``line=``) for a file that cannot be
    read or decoded, naming the line of the first undecodable byte."""
    from pathlib import Path

    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise error(f"cannot read {what}: {exc.strerror}", file=str(path)) from exc
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise error(f"{what} is not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}); save it as UTF-8",
                    file=str(path), line=line) from exc


def load_mapping(text: str, source: str | None, error, what: str) -> tuple[dict, dict[tuple, int]]:
    """Parse YAML ``text`` that must be a mapping; return it with its :func:`line_map`.

    ``error`` is the exception class raised (it takes ``file=`` and ``line=``);
    ``what`` names the document in the message, e.g. "a scenario".  A key repeated in a
    mapping is an error at its second line, naming the key and both lines.
    """
    try:
        raw = strict_load(text)
    except DuplicateKeyError as exc:
        raise error(exc.problem, file=source, line=exc.line) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise error(f"invalid YAML: {getattr(exc, 'problem', exc)}", file=source, line=mark.line + 1 if mark else None) from exc
    if not isinstance(raw, dict):
        raise error(f"{what} must be a mapping of keys to values", file=source, line=1)
    return raw, line_map(text)


def line_map(text: str) -> dict[tuple, int]:
    """Map each key path in a YAML document (tuples of keys and list indices) to its 1-based line."""
    lines: dict[tuple, int] = {}
    try:
        root = yaml.compose(text)
    except yaml.YAMLError:
        return lines

    def walk(node, path):
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                p = path + (key.value,)
                lines[p] = key.start_mark.line + 1
                walk(value, p)
        elif isinstance(node, yaml.SequenceNode):
            for k, item in enumerate(node.value):
                p = path + (k,)
                lines[p] = item.start_mark.line + 1
                walk(item, p)

    if root is not None:
        walk(root, ())
    return lines


def line_of(lines: dict[tuple, int], loc) -> int | None:
    """Line of key path ``loc``, or of its nearest ancestor present in the file."""
    loc = tuple(loc)
    while loc:
        if loc in lines:
            return lines[loc]
        loc = loc[:-1]
    return None


def dotted(loc) -> str:
    """A key path as written in messages: ``technologies.0.I_lo``."""
    return ".".join(str(p) for p in loc)
