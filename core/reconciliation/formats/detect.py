"""Which format a file is in: by its content first, its name only as a hint."""

from __future__ import annotations

import re

FORMATS = ("mt940", "camt053", "ofx", "csv")
_HEAD = 64 * 1024
_MT940 = re.compile(r"^\{1:|^:20:", re.MULTILINE)
# Any ISO 20022 cash-management document: the CAMT parser names the wrong kind or version.
_CAMT053 = re.compile(r"<(?:\w+:)?Document\b[^>]*urn:iso:std:iso:20022:tech:xsd:camt\.", re.DOTALL)
_OFX = re.compile(r"OFXHEADER|<OFX>", re.IGNORECASE)
_DELIMITERS = (",", ";", "\t", "|")
_EXTENSIONS = {
    "sta": "mt940", "mt940": "mt940", "940": "mt940", "swi": "mt940",
    "xml": "camt053", "camt": "camt053", "053": "camt053",
    "ofx": "ofx", "qfx": "ofx",
    "csv": "csv", "txt": "csv", "tsv": "csv",
}  # fmt: skip


def _head_text(data: bytes) -> str:
    head = data[:_HEAD]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return head.decode("utf-16", errors="replace")
    return head.decode("utf-8", errors="replace").removeprefix("\ufeff")


def _looks_like_csv(data: bytes) -> bool:
    head = data[:_HEAD]
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            text = head.decode(encoding)
            break
        except UnicodeDecodeError as exc:
            if exc.start > len(head) - 4:  # a character cut by the 64 KB window
                text = head[: exc.start].decode(encoding)
                break
    else:
        return False
    if re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", text):
        return False
    lines = [line for line in text.splitlines()[:60] if line.strip()]
    return any(d in line for line in lines[:20] for d in _DELIMITERS)


def detect_format(data: bytes, filename: str = "") -> str | None:
    """``"mt940"``, ``"camt053"``, ``"ofx"``, ``"csv"`` or ``None`` when it is none of them."""
    if not data or not isinstance(data, bytes):
        return None
    text = _head_text(data)
    stripped = text.lstrip()
    hint = _EXTENSIONS.get(filename.rsplit(".", 1)[-1].lower(), "") if "." in filename else ""
    if _MT940.search(stripped[:_HEAD]):
        return "mt940"
    if stripped.startswith("<") or stripped.startswith("OFXHEADER"):
        if _CAMT053.search(text):
            return "camt053"
        if _OFX.search(text):
            return "ofx"
        if "<Document" in text and hint == "camt053":
            return "camt053"  # a CAMT of another version: its parser says which
        return None
    if _OFX.search(text[:2048]):
        return "ofx"
    if _looks_like_csv(data):
        return "csv"
    return None
