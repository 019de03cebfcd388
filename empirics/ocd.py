"""The OCD 2022 classification (职业分类大典 2022): the bundled source tables and the one reader of them.

Two files are bundled in ``empirics/data/ocd2022/`` (see ``SOURCES.md`` there): ``csco22.csv``, the final
edition's four levels with definitions and tasks, and ``ocd2022_hierarchy_draft.csv``, the large / medium /
small categories of the 2022 public-comment draft.  :func:`read_ocd2022` reads both and settles the defects
common to every use (codes of the wrong form, repeated rows).  Its callers build what they need from it:

* :func:`hierarchy_frame`: the code hierarchy with Chinese names (``empirics.aggregation``);
* :func:`empirics.scoring.occupations.load_ocd2022`: the cleaned fine occupations with tasks (scoring, postings).
"""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

DATA_DIR = Path(__file__).resolve().parent / "data" / "ocd2022"
CSCO22 = DATA_DIR / "csco22.csv"
DRAFT = DATA_DIR / "ocd2022_hierarchy_draft.csv"

CODE_RE = re.compile(r"^\d-\d\d-\d\d-\d\d$")
CSCO_COLUMNS = ("level", "code", "name", "definition", "tasks")
LEVELS = ("large", "medium", "small", "fine")
"""Level names, coarse to fine; csco22 numbers them 1-4."""
SHORT_CODE = {"large": 1, "medium": 4, "small": 7, "fine": 10}
"""Characters of a full code ``d-dd-dd-dd`` that form the short code of each level."""
FINAL_EDITION_SMALL = {"2-07-10": "宗教教职人员", "2-07-11": "社会工作专业人员"}
"""Small categories where the final edition differs from the draft: the draft names 2-07-10
社会工作专业人员 and has no 2-07-11; in csco22, 2-07-10-00 is 宗教教职人员 and 社会工作专业人员 is 2-07-11."""

RowReader = Callable[[Path, str], "tuple[list[str], list[dict[str, str]], list[int]]"]


@dataclass(frozen=True)
class Repeat:
    """A csco22 row repeated identically at one level; one copy is kept."""

    line: int
    level: str
    code: str


@dataclass(frozen=True)
class Ocd2022Source:
    """The two bundled tables as read: csco22's distinct rows (with their lines) and the draft's rows."""

    csco_path: Path
    draft_path: Path
    rows: tuple[dict, ...]
    lines: tuple[int, ...]
    repeats: tuple[Repeat, ...]
    draft: tuple[dict, ...]


def read_csv_rows(path: Path, source: str, error: type[Exception] = ValueError):
    """A UTF-8 CSV's header, its data rows as dicts, and the line each row starts on (blank lines skipped)."""
    try:
        text = Path(path).read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise error(f"{source}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise error(f"{source}: not valid utf-8 (byte offset {exc.start})") from None
    return parse_csv_rows(text, source, error)


def parse_csv_rows(text: str, source: str, error: type[Exception] = ValueError):
    """CSV text's header, its data rows as dicts, and the line each row starts on (blank lines skipped).

    Short rows are padded with ``""``; an unreadable row is an ``error`` naming ``source`` and the line.
    """
    reader = csv.reader(io.StringIO(text, newline=""))
    header: list[str] | None = None
    rows: list[dict[str, str]] = []
    lines: list[int] = []
    prev = 0
    try:
        for rec in reader:
            start, prev = prev + 1, reader.line_num
            if not rec:
                continue
            if header is None:
                header = rec
                continue
            rows.append(dict(zip(header, rec + [""] * (len(header) - len(rec)))))
            lines.append(start)
    except csv.Error as exc:
        raise error(f"{source}: line {reader.line_num}: not a readable CSV row: {exc}") from None
    return header or [], rows, lines


def read_ocd2022(csco_path: Path | str | None = None, draft_path: Path | str | None = None, *,
                 read_rows: RowReader | None = None, error: type[Exception] = ValueError) -> Ocd2022Source:
    """Read csco22 and the draft hierarchy (the bundled files by default).

    Every csco22 code must have the form ``d-dd-dd-dd``; a row repeated identically at one level is kept
    once (and listed in ``repeats``), a code repeated at one level with different content is an
    ``error`` naming the file and line.  ``read_rows(path, source)`` reads a CSV (default
    :func:`read_csv_rows`).
    """
    csco_path = Path(csco_path or CSCO22)
    draft_path = Path(draft_path or DRAFT)
    read = read_rows or (lambda p, s: read_csv_rows(p, s, error))
    _, rows, line_nos = read(csco_path, str(csco_path))
    _, draft, _ = read(draft_path, str(draft_path))
    for col in CSCO_COLUMNS:
        if rows and col not in rows[0]:
            raise error(f"{csco_path}: missing column {col!r}")
    seen: dict[tuple[str, str], dict[str, str]] = {}
    unique: list[dict[str, str]] = []
    lines: list[int] = []
    repeats: list[Repeat] = []
    for i, r in zip(line_nos, rows):
        code = r["code"].strip()
        if not CODE_RE.match(code):
            raise error(f"{csco_path}: line {i}: code {code!r} is not of the form d-dd-dd-dd")
        key = (r["level"].strip(), code)
        if key in seen:
            if seen[key] != r:
                raise error(f"{csco_path}: line {i}: code {code} repeated at level {key[0]} with different content")
            repeats.append(Repeat(i, key[0], code))
            continue
        seen[key] = r
        unique.append(r)
        lines.append(i)
    return Ocd2022Source(csco_path, draft_path, tuple(unique), tuple(lines), tuple(repeats), tuple(draft))


@lru_cache(maxsize=1)
def _bundled_hierarchy() -> tuple[tuple[str, str, str, str], ...]:
    src = read_ocd2022()
    out: list[tuple[str, str, str, str]] = []
    for n, level in enumerate(LEVELS[:3], start=1):
        names = {d["code"]: d["name"] for d in src.draft if d.get("level") == str(n)}
        parents = {d["code"]: d["parent_code"] for d in src.draft if d.get("level") == str(n)}
        if level == "small":
            names.update(FINAL_EDITION_SMALL)
            parents.update({c: c[:4] for c in FINAL_EDITION_SMALL})
        out += [(level, c, parents[c], names[c]) for c in sorted(names)]
    out += [("fine", r["code"].strip(), r["code"].strip()[:7], r["name"]) for r in src.rows if r["level"].strip() == "4"]
    return tuple(out)


def hierarchy_frame() -> pd.DataFrame:
    """The OCD 2022 hierarchy: ``level, code, parent, name_zh`` (8 large, 79 medium, 450 small, 1,632 fine rows).

    Large, medium and small categories come from the draft with the final edition's small categories
    (:data:`FINAL_EDITION_SMALL`); fine occupations are csco22's level-4 rows, repeats kept once, the
    names as printed (``S``/``L`` markers included).  Codes are in short form (``2``, ``2-01``,
    ``2-01-01``, ``2-01-01-01``), ``parent`` is the parent's short code (empty for large categories).
    """
    import pandas as pd

    return pd.DataFrame(list(_bundled_hierarchy()), columns=["level", "code", "parent", "name_zh"])
