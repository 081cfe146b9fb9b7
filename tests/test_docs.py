"""Docs that cannot drift: every hookspec is documented and has a real docstring."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from recaudo.core import hookspecs
from recaudo.core.platform.host import PluginHost

DOCS = (Path(__file__).resolve().parent.parent / "docs" / "plugins.md").read_text()


def _hook_names() -> list[str]:
    return sorted(name for name in PluginHost().pm.hook.__dict__ if name.startswith("recaudo_"))


def test_hooks_are_discovered() -> None:
    assert len(_hook_names()) >= 9


@pytest.mark.parametrize("name", _hook_names())
def test_every_hook_is_documented(name: str) -> None:
    assert f"`{name}(" in DOCS, f"{name} is missing from docs/plugins.md"


@pytest.mark.parametrize("name", _hook_names())
def test_every_hookspec_has_a_docstring_and_types(name: str) -> None:
    fn = getattr(hookspecs, name)
    doc = inspect.getdoc(fn) or ""
    assert len(doc) > 60 and "_description_" not in doc
    assert ":returns:" in doc
    assert "return" in inspect.get_annotations(fn)
