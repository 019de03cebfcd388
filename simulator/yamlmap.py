"""Line numbers of keys in a YAML document, for error messages that point into the file."""
from __future__ import annotations

import yaml


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
    ``what`` names the document in the message, e.g. "a scenario".
    """
    try:
        raw = yaml.safe_load(text)
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
