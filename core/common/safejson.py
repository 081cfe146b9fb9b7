"""JSON from outside (provider webhooks) read with a bound on nesting.

``json.loads`` recurses once per ``[`` or ``{``: a small body of 30,000 ``[`` raises
``RecursionError`` deep inside the parser. The depth is counted first, without recursion, and a
document nested deeper than any real notification is refused as malformed (a ``ValueError``).
"""

from __future__ import annotations

import json
import re
from typing import Any

MAX_DEPTH = 32
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(rb"[\[\]{}]")


class JsonInputError(ValueError):
    """The text is not the JSON we accept: invalid, too deep, or not an object."""


def nesting_depth(raw: bytes) -> int:
    """The deepest ``[``/``{`` nesting of ``raw``, brackets inside strings not counted."""
    if raw.count(b"[") + raw.count(b"{") <= 1:
        return raw.count(b"[") + raw.count(b"{")
    depth = deepest = 0
    for match in _BRACKET.finditer(_STRING.sub(b'""', raw)):
        if match.group() in (b"[", b"{"):
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def loads_object(raw: bytes | str, max_depth: int = MAX_DEPTH) -> dict[str, Any]:
    """Parse ``raw`` as a JSON object nested at most ``max_depth`` levels, or raise
    :class:`JsonInputError`."""
    data = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else bytes(raw)
    if nesting_depth(data) > max_depth:
        raise JsonInputError(f"JSON nested deeper than {max_depth} levels")
    try:
        value = json.loads(data or b"null")
    except (ValueError, RecursionError) as exc:
        raise JsonInputError(f"not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise JsonInputError(f"expected a JSON object, got {type(value).__name__}")
    return value
