"""Bytes to text for the line-based formats (MT940, CSV), refusing what is clearly not text."""

from __future__ import annotations

import codecs
import re

from .errors import StatementError

NEWLINE = b"\n"
_BINARY = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def line_of(text: str, offset: int) -> int:
    """1-based line number of a character offset."""
    return text.count("\n", 0, offset) + 1


def decode(data: bytes, encoding: str | None = None, unit: str = "línea") -> str:
    """The file as text: the given encoding, else UTF-8, else Windows-1252 (what Mexican and
    Colombian banks' exports use when they are not UTF-8). A byte-order mark is dropped.

    With an explicit ``encoding`` a byte that does not decode is an error naming its line: a
    wrong encoding silently turns "Muñoz" into "MuÃ±oz", and names are matched on.
    """
    if encoding:
        name = codecs.lookup(encoding).name
        if name == "utf-8":
            encoding = "utf-8-sig"
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError as exc:
            where = f"{unit} {data.count(NEWLINE, 0, exc.start) + 1}"
            raise StatementError(
                f"el archivo no está en la codificación {name} que indica el perfil", where
            ) from None
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            try:
                text = data.decode("cp1252")
            except UnicodeDecodeError:
                text = data.decode("latin-1")
    text = text.removeprefix("\ufeff")
    found = _BINARY.search(text)
    if found:
        raise StatementError(
            "el archivo contiene bytes que no son texto (¿es el archivo correcto?)",
            f"{unit} {line_of(text, found.start())}",
        )
    return text
