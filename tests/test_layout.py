"""The layering docs/architecture.md promises, checked on the source: imports point one way.

A domain module importing the web framework, a worker importing a page helper or a route module
importing the app factory is how the tangle the layout removed comes back; each shows up here with
the file and the import.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def imports_of(path: Path) -> set[str]:
    """Every module ``path`` imports (absolute names), at any depth of the file."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def offenders(folder: str, forbidden: tuple[str, ...], skip: tuple[str, ...] = ()) -> list[str]:
    bad = []
    for path in sorted((ROOT / folder).rglob("*.py")):
        rel = str(path.relative_to(ROOT))
        if "/migrations/" in rel or rel in skip:
            continue
        for name in sorted(imports_of(path)):
            if any(name == f or name.startswith(f + ".") for f in forbidden):
                bad.append(f"{rel}: imports {name}")
    return bad


@pytest.mark.parametrize(
    ("folder", "forbidden"),
    [
        # The domain runs the same under the web app, a worker, the CLI and a plugin's tests.
        ("core", ("litestar", "dramatiq", "recaudo.web", "recaudo.workers", "recaudo.plugins")),
        ("tenants", ("litestar", "dramatiq", "recaudo.web", "recaudo.workers", "recaudo.plugins")),
        # Workers render and send messages through core/messaging, never through page helpers.
        ("workers", ("litestar", "recaudo.web", "recaudo.plugins")),
    ],
)
def test_lower_layers_never_import_upper_ones(folder: str, forbidden: tuple[str, ...]) -> None:
    assert offenders(folder, forbidden) == []


def test_route_modules_never_import_the_app_factory() -> None:
    """Settings reach handlers by dependency injection (``web/deps.py``), so the app imports
    its routes and no route imports the app: no cycle, and a test app's settings are seen."""
    bad = offenders("web", ("recaudo.web.app", "recaudo.web.asgi"), skip=("web/asgi.py",))
    assert bad == []


def test_the_check_sees_a_forbidden_import(tmp_path: Path) -> None:
    """The scanner itself: a nested, aliased import is found."""
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from recaudo.web import templating as t\n    return t\n")
    assert "recaudo.web.templating" in imports_of(module)
