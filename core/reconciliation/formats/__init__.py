"""Bank statement files (MT940, CAMT.053, OFX, CSV) to :class:`ParsedStatement`, all or nothing.

:func:`parse_statement` is the only door: whatever the bytes are (random, empty, huge, an XML
bomb, a CSV in the wrong encoding) it returns a complete statement or raises
:class:`StatementError` with a Spanish message naming the line, row or element. Amounts are
integer minor units with Recaudo's pinned ISO 4217 exponents, each line has a key that is the
same every time the same file is read, and lines of amount zero are dropped.
"""

from __future__ import annotations

import logging

from .common import MAX_STATEMENT_BYTES, ParsedStatement
from .csv_profile import CsvProfile, guess_csv_profile
from .detect import FORMATS, detect_format
from .errors import StatementError

__all__ = [
    "FORMATS",
    "MAX_STATEMENT_BYTES",
    "CsvProfile",
    "ParsedStatement",
    "StatementError",
    "detect_format",
    "guess_csv_profile",
    "parse_statement",
]

log = logging.getLogger(__name__)
FORMAT_LABELS = {"mt940": "MT940", "camt053": "CAMT.053", "ofx": "OFX", "csv": "CSV"}


def parse_statement(
    data: bytes,
    *,
    filename: str = "",
    fmt: str | None = None,
    csv_profile: CsvProfile | None = None,
    default_currency: str = "",
) -> ParsedStatement:
    """The whole statement in ``data``, or :class:`StatementError` (nothing partial, ever).

    ``fmt`` forces a format (else it is detected from the content, ``filename`` as a hint); a
    CSV needs ``csv_profile``; ``default_currency`` is used by a CSV whose profile names none.
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise StatementError("el archivo no se pudo leer")
    data = bytes(data)
    if not data.strip():
        raise StatementError("el archivo está vacío")
    if len(data) > MAX_STATEMENT_BYTES:
        limit = MAX_STATEMENT_BYTES // (1024 * 1024)
        raise StatementError(f"el archivo pesa más de {limit} MB; divídelo por fechas")
    if fmt is not None and fmt not in FORMATS:
        raise StatementError(
            f"formato «{fmt}» desconocido (se admiten {', '.join(FORMAT_LABELS.values())})"
        )
    fmt = fmt or detect_format(data, filename) or ("csv" if csv_profile is not None else None)
    if fmt is None:
        raise StatementError(
            "no se reconoce el formato del archivo: se admiten extractos MT940, CAMT.053, OFX y CSV"
        )
    if fmt == "csv" and csv_profile is None:
        raise StatementError(
            "para importar un CSV hace falta un perfil de columnas del banco "
            "(qué columna es la fecha, el importe, la referencia…): créalo en la configuración "
            "de conciliación"
        )
    try:
        return _parse(data, fmt, csv_profile, default_currency)
    except StatementError:
        raise
    except RecursionError:
        raise StatementError("el archivo está anidado demasiado profundo") from None
    except Exception:
        # A file made it past every check and still broke a parser: refuse it (nothing is
        # imported) and keep the traceback for developers, never show it to the user.
        log.warning("statement parser failed on a %s file", fmt, exc_info=True)
        raise StatementError(
            f"el archivo no se pudo leer como {FORMAT_LABELS[fmt]}; revisa que sea el extracto "
            "que entrega el banco"
        ) from None


def _parse(
    data: bytes, fmt: str, csv_profile: CsvProfile | None, default_currency: str
) -> ParsedStatement:
    if fmt == "mt940":
        from .swift_mt940 import parse_mt940

        return parse_mt940(data)
    if fmt == "camt053":
        from .camt053 import parse_camt053

        return parse_camt053(data)
    if fmt == "ofx":
        from .ofx_statement import parse_ofx

        return parse_ofx(data, default_currency)
    from .csv_statement import parse_csv

    assert csv_profile is not None
    return parse_csv(data, csv_profile, default_currency)
