"""Small checks shared by the modules of this subpackage."""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .errors import InputError, MissingColumnsError


def require_columns(df, columns: Iterable[str], table: str) -> None:
    """Raise :class:`MissingColumnsError` naming ``table`` if ``df`` lacks any of ``columns``."""
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise MissingColumnsError(
            f"{table}: missing column(s) {missing}; it has {list(map(str, df.columns))}"
        )


def require_numeric(df, columns: Sequence[str], table: str, *, allow_nan: bool = False) -> None:
    """Raise :class:`InputError` if a column is not numeric or (unless allowed) holds NaN/inf."""
    import numpy as np
    import pandas as pd

    for c in columns:
        if not pd.api.types.is_numeric_dtype(df[c]) or pd.api.types.is_bool_dtype(df[c]):
            raise InputError(f"{table}: column {c!r} must be numeric, got dtype {df[c].dtype}")
        values = df[c].to_numpy(dtype=float)
        if not allow_nan and not np.isfinite(values).all():
            bad = int((~np.isfinite(values)).sum())
            raise InputError(f"{table}: column {c!r} has {bad} missing or non-finite value(s)")


def preview(values, limit: int = 5) -> str:
    """A short, readable rendering of offending values for error messages."""
    values = list(values)
    head = ", ".join(repr(v) for v in values[:limit])
    return f"[{head}{', ...' if len(values) > limit else ''}] ({len(values)} in all)"


# --------------------------------------------------------------------------------- text files
ENCODINGS = ("utf-8", "gbk", "gb18030")
"""Encodings the CSV readers of this subpackage accept (``--encoding``)."""


def _line_col(raw: bytes, pos: int) -> tuple[int, int]:
    """1-based line and byte column of byte offset ``pos``."""
    return raw.count(b"\n", 0, pos) + 1, pos - (raw.rfind(b"\n", 0, pos) + 1) + 1


def _looks_binary(text: str) -> bool:
    ctrl = sum(1 for ch in text if ord(ch) < 32 and ch not in "\t\r\n") + sum(1 for ch in text if 0x7F <= ord(ch) < 0xA0)
    return ctrl > max(2, len(text) // 50)


def guess_encoding(raw: bytes) -> str | None:
    """The likely encoding of ``raw``: ``utf-8``, ``gbk``, ``gb18030``, ``latin-1`` or ``None`` (binary)."""
    if b"\x00" in raw:
        return None
    for enc in ("utf-8", "gbk", "gb18030"):
        try:
            text = raw.decode(enc)
        except UnicodeDecodeError:
            continue
        if enc == "utf-8" or any("\u4e00" <= ch <= "\u9fff" for ch in text):
            return None if _looks_binary(text) else enc
    return None if _looks_binary(raw.decode("latin-1")) else "latin-1"


def decode_text(raw: bytes, name: str, encoding: str = "utf-8") -> str:
    """Decode a file's bytes; :class:`EncodingError` naming the line and the likely encoding if they do not decode."""
    from .errors import EncodingError

    if encoding not in ENCODINGS:
        raise InputError(f"{name}: encoding must be one of {list(ENCODINGS)}, got {encoding!r}")
    if b"\x00" in raw:
        line, col = _line_col(raw, raw.index(b"\x00"))
        raise EncodingError(f"{name}, line {line}: not a text file (NUL byte at byte {col} of the line); expected a CSV")
    try:
        text = raw.decode("utf-8-sig" if encoding == "utf-8" else encoding)
    except UnicodeDecodeError as exc:
        line, col = _line_col(raw, exc.start)
        guess = guess_encoding(raw)
        if guess is None:
            hint = "; it does not look like text in any encoding (a binary file?)"
        elif guess == "latin-1":
            hint = "; it decodes as Latin-1 (Western European), which the report does not read: save the file as UTF-8"
        else:
            label = {"utf-8": "UTF-8", "gbk": "GBK (Chinese)", "gb18030": "GB18030 (Chinese)"}[guess]
            hint = f"; it decodes as {label}: pass --encoding {guess}, or save the file as UTF-8"
        raise EncodingError(f"{name}, line {line}: not {encoding} text (byte 0x{raw[exc.start]:02x} at byte {col} of the line){hint}") from exc
    if _looks_binary(text[:100_000]):
        raise EncodingError(f"{name}: not a text file (control characters); expected a CSV")
    return text


@dataclass(frozen=True)
class CsvRecords:
    """A CSV file read as strings: header, rows and the 1-based file line each row starts on."""

    name: str
    header: tuple[str, ...]
    rows: list
    lines: list
    header_line: int = 1

    def frame(self):
        """The rows as a DataFrame of strings with a ``line`` column."""
        import pandas as pd

        df = pd.DataFrame(self.rows, columns=list(self.header), dtype=object) if self.rows else pd.DataFrame(columns=list(self.header), dtype=object)
        df["line"] = pd.Series(self.lines, dtype="int64", index=df.index)
        return df


def read_csv_records(path, *, what: str = "file", encoding: str = "utf-8") -> CsvRecords:
    """Read a CSV strictly: the file must exist, decode, have a header and the header's number of fields on every line."""
    import csv
    import io
    from pathlib import Path

    name = str(path)
    p = Path(path)
    if not p.exists():
        raise InputError(f"{what} not found: {name}")
    if p.is_dir():
        raise InputError(f"{what} {name} is a folder, not a file")
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise InputError(f"{what} {name} cannot be read: {exc.strerror or exc}") from exc
    text = decode_text(raw, name, encoding)
    if not text.strip():
        raise InputError(f"{name}: the file is empty; expected a CSV with a header line")
    reader = csv.reader(io.StringIO(text, newline=""))
    header, header_line, rows, lines = None, 1, [], []
    prev = 0
    try:
        for rec in reader:
            start, prev = prev + 1, reader.line_num
            if not rec or (len(rec) == 1 and not rec[0].strip()):
                continue
            if header is None:
                header, header_line = tuple(h.strip().lstrip("\ufeff") for h in rec), start
                dup = sorted({h for h in header if header.count(h) > 1})
                if dup:
                    raise InputError(f"{name}, line {start}: column(s) {dup} appear more than once in the header")
                continue
            if len(rec) != len(header):
                raise InputError(f"{name}, line {start}: {len(rec)} field(s), but the header (line {header_line}) has {len(header)}")
            rows.append(rec)
            lines.append(start)
    except csv.Error as exc:
        raise InputError(f"{name}, line {reader.line_num}: not a readable CSV ({exc})") from exc
    return CsvRecords(name, header, rows, lines, header_line)


def located(name: str, lines, column: str, condition: str) -> str:
    """``FILE, line N, column 'C': condition`` plus the count and lines of any further rows alike."""
    lines = [int(x) for x in lines]
    shown = ", ".join(map(str, lines[:8])) + (", ..." if len(lines) > 8 else "")
    more = f" ({len(lines)} rows in all, lines {shown})" if len(lines) > 1 else ""
    return f"{name}, line {lines[0]}, column {column!r}: {condition}{more}"
