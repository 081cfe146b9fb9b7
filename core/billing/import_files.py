"""Reading import files: CSV (UTF-8, with or without BOM, ``,`` ``;`` or tab) and XLSX, streamed.

A file is opened as a :class:`Sheet`: its header, an estimate of its data rows and an iterator of
``(line_number, values)``, where line numbers are what a person sees in the file (the header is
line 1; a quoted value spanning lines gives its row the line it starts on). Neither reader loads
the whole file: CSV is decoded as it is read, XLSX through openpyxl's ``read_only`` mode.

What cannot be read at all (not UTF-8, not a spreadsheet, no header) raises
:class:`ImportFileError`; a single unreadable row (a NUL byte, a value over the size limit) is
yielded as a :class:`BadRow` so the caller lists it with the others and goes on.
"""

from __future__ import annotations

import csv
import io
import unicodedata
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

#: One cell can hold at most this much text (the longest column is 500 characters; this leaves
#: room for a clear "too long" message without letting one line take the memory).
MAX_CELL_CHARS = 10_000
#: Columns beyond this are not a spreadsheet a person made.
MAX_COLUMNS = 200
_XLSX_MAGIC = b"PK\x03\x04"


class ImportFileError(ValueError):
    """The file as a whole cannot be read; nothing was imported."""


@dataclass(frozen=True)
class BadRow:
    """A row that could not be read; ``reason`` says why."""

    reason: str


Row = tuple[int, "list[str] | BadRow"]


@dataclass
class Sheet:
    header: list[str]
    total_estimate: int
    rows: Iterator[Row]
    format: str  # "csv" or "xlsx"
    delimiter: str = ""


Source = Path | bytes


def normalise(name: str) -> str:
    """A header as a key: lower case, no accents, runs of other characters as one ``_``."""
    text = unicodedata.normalize("NFKD", str(name)).encode("ascii", "ignore").decode()
    out = []
    for ch in text.lower():
        out.append(ch if ch.isalnum() else "_")
    return "_".join(part for part in "".join(out).split("_") if part)


def _open(source: Source) -> IO[bytes]:
    if isinstance(source, bytes):
        return io.BytesIO(source)
    try:
        return open(source, "rb")  # closed by the row iterator
    except FileNotFoundError:
        raise ImportFileError(f"file {str(source)!r}: not found") from None
    except IsADirectoryError:
        raise ImportFileError(f"file {str(source)!r}: is a directory") from None
    except OSError as exc:
        raise ImportFileError(f"file {str(source)!r}: cannot be read ({exc.strerror})") from None


def open_sheet(source: Source, filename: str = "") -> Sheet:
    """Open ``source`` (a path, or the bytes of an upload named ``filename``)."""
    name = (filename or (str(source) if isinstance(source, Path) else "")).lower()
    if name.endswith(".xls"):
        raise ImportFileError("file: old Excel (.xls) files are not supported; save as XLSX or CSV")
    handle = _open(source)
    head = handle.read(4)
    handle.seek(0)
    if not head:
        handle.close()
        raise ImportFileError("file: is empty; the first line must name the columns")
    if head == _XLSX_MAGIC:
        return _xlsx(handle)
    if name.endswith(".xlsx"):
        handle.close()
        raise ImportFileError("file: is not a valid XLSX spreadsheet")
    return _csv(handle)


# --- CSV -----------------------------------------------------------------------------------------


def _count_lines(handle: IO[bytes]) -> int:
    count, last = 0, b""
    while chunk := handle.read(1 << 20):
        count += chunk.count(b"\n")
        last = chunk[-1:]
    handle.seek(0)
    return count + (1 if last and last != b"\n" else 0)


def _sniff(first_line: str) -> str:
    counts = {d: first_line.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _csv(handle: IO[bytes]) -> Sheet:
    lines = _count_lines(handle)
    text = io.TextIOWrapper(handle, encoding="utf-8-sig", errors="strict", newline="")
    try:
        first = text.readline()
    except UnicodeDecodeError:
        handle.close()
        raise ImportFileError(
            "file: is not UTF-8 text (save it as 'CSV UTF-8' or as XLSX)"
        ) from None
    if "\x00" in first:
        handle.close()
        raise ImportFileError("file: is not a CSV or XLSX file (binary data)")
    if not first.strip():
        handle.close()
        raise ImportFileError("file: the first line must name the columns")
    delimiter = _sniff(first)
    text.seek(0)
    reader = csv.reader(text, delimiter=delimiter)
    try:
        header = next(reader)
    except csv.Error as exc:
        handle.close()
        raise ImportFileError(f"line 1: cannot be read ({exc})") from None
    if len(header) > MAX_COLUMNS:
        handle.close()
        raise ImportFileError(f"line 1: more than {MAX_COLUMNS} columns")
    header = [h.strip() for h in header]

    def rows() -> Iterator[Row]:
        try:
            while True:
                line = reader.line_num + 1
                try:
                    values = next(reader)
                except StopIteration:
                    return
                except csv.Error as exc:
                    reason = str(exc)
                    if "field larger" in reason:
                        reason = f"a value is longer than {csv.field_size_limit()} characters"
                    elif "NUL" in reason:
                        reason = "contains binary data (NUL)"
                    yield line, BadRow(reason)
                    continue
                except UnicodeDecodeError:
                    raise ImportFileError(
                        f"line {line}: is not UTF-8 text (save the file as 'CSV UTF-8' or XLSX)"
                    ) from None
                yield line, values
        finally:
            handle.close()

    return Sheet(header, max(0, lines - 1), rows(), "csv", delimiter)


# --- XLSX ----------------------------------------------------------------------------------------


def cell_text(value: Any) -> str:
    """A cell as the text a person sees; numbers never go through binary floating point twice."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        # What Excel shows at full precision (15 significant digits): 0.1 + 0.2 reads "0.3".
        return str(Decimal(format(value, ".15g")).normalize()) if value == value else ""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _xlsx(handle: IO[bytes]) -> Sheet:
    from openpyxl import load_workbook

    try:
        book = load_workbook(handle, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        handle.close()
        raise ImportFileError(f"file: is not a valid XLSX spreadsheet ({exc})") from None
    except Exception as exc:  # openpyxl raises many kinds on a broken package
        handle.close()
        kind = type(exc).__name__
        raise ImportFileError(f"file: is not a valid XLSX spreadsheet ({kind})") from None
    sheet = book.worksheets[0] if book.worksheets else None
    if sheet is None:
        book.close()
        handle.close()
        raise ImportFileError("file: the spreadsheet has no sheets")
    source = sheet.iter_rows(values_only=True)
    header_row = next(source, None)
    if header_row is None or not any(v not in (None, "") for v in header_row):
        book.close()
        handle.close()
        raise ImportFileError("file: is empty; the first line must name the columns")
    header = [cell_text(v).strip() for v in header_row]
    while header and not header[-1]:
        header.pop()
    if len(header) > MAX_COLUMNS:
        book.close()
        handle.close()
        raise ImportFileError(f"line 1: more than {MAX_COLUMNS} columns")
    total = max(0, int(sheet.max_row or 1) - 1)

    def rows() -> Iterator[Row]:
        try:
            for line, values in enumerate(source, start=2):
                yield line, [cell_text(v) for v in values]
        finally:
            book.close()
            handle.close()

    return Sheet(header, total, rows(), "xlsx")
