"""Built-in plugins are written like third-party ones: ``recaudo.api`` is all they import of us."""

from __future__ import annotations

import ast
from pathlib import Path

PLUGINS = Path(__file__).resolve().parent.parent / "plugins"
#: (module relative to plugins/, imported module) pairs allowed anyway; keep it empty.
PENDING: set[tuple[str, str]] = set()


def _private_imports(path: Path, root: Path = PLUGINS) -> list[str]:
    """``recaudo.*`` modules ``path`` imports other than ``recaudo.api`` and its own package."""
    where = str(path.relative_to(root))
    package = path.relative_to(root).parts[0]
    own = f"recaudo.plugins.{package}"
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue  # relative imports stay inside the plugin's own package
        for name in names:
            if name == "recaudo" or name.startswith("recaudo."):
                if name == "recaudo.api" or name == own or name.startswith(own + "."):
                    continue
                if (where, name) in PENDING:
                    continue
                found.append(f"{where}:{node.lineno} imports {name}")
    return found


def test_plugins_import_only_the_public_api() -> None:
    modules = sorted(p for p in PLUGINS.glob("*/**/*.py"))
    assert modules, "no plugin modules found"
    problems = [problem for path in modules for problem in _private_imports(path)]
    assert problems == []


def test_the_check_catches_a_private_import(tmp_path: Path) -> None:
    """The scan sees ``from recaudo.core… import``, ``import recaudo.web…`` and another plugin."""
    bad = tmp_path / "sandbox" / "probe.py"
    bad.parent.mkdir()
    bad.write_text(
        "import recaudo.web.templating\n"
        "from recaudo.core.payments.method import PaymentMethod\n"
        "from recaudo.plugins.email import EmailChannel\n"
        "from recaudo.api import hookimpl\n"
        "from recaudo.plugins.sandbox import sign\n"
    )
    found = _private_imports(bad, root=tmp_path)
    assert [line.split(" imports ")[1] for line in found] == [
        "recaudo.web.templating",
        "recaudo.core.payments.method",
        "recaudo.plugins.email",
    ]
