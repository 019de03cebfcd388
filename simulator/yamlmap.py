"""Line numbers of keys in a YAML document, for error messages that point into the file."""
from __future__ import annotations

import yaml


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
