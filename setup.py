"""Package discovery for the design card's layout (setuptools reads this beside pyproject.toml).

The repository keeps ``core/``, ``tenants/``, ``plugins/``, ``web/`` and ``workers/`` at the top
level and installs them under the ``recaudo`` namespace. ``packages.find`` cannot remap folders,
so this walks them: a new domain folder, template folder or built-in plugin is shipped without
editing a list. Each folder in ``plugins/`` with an ``__init__.py`` is also registered in the
``recaudo`` entry-point group, the way a third-party package registers its own plugin.
"""

from pathlib import Path

from setuptools import setup

HERE = Path(__file__).parent
TOP = ("core", "tenants", "plugins", "web", "workers")
SKIP = {"__pycache__", "node_modules"}


def _walk(folder: str) -> list[str]:
    """Every folder under ``folder`` as a dotted package (data-only folders included, so
    setuptools ships templates and static files without a warning per folder)."""
    base = HERE / folder
    found = []
    for path in [base, *sorted(p for p in base.rglob("*") if p.is_dir())]:
        rel = path.relative_to(HERE)
        if SKIP & set(rel.parts) or any(part.startswith(".") for part in rel.parts):
            continue
        found.append(
            ".".join(("recaudo", *rel.parts[1:]))
            if folder == "recaudo"
            else ".".join(("recaudo", *rel.parts))
        )
    return found


def _builtin_plugins() -> list[str]:
    return sorted(
        f"{p.name} = recaudo.plugins.{p.name}"
        for p in (HERE / "plugins").iterdir()
        if (p / "__init__.py").is_file()
    )


setup(
    packages=[pkg for folder in ("recaudo", *TOP) for pkg in _walk(folder)],
    package_dir={"recaudo": "recaudo", **{f"recaudo.{top}": top for top in TOP}},
    entry_points={
        "console_scripts": ["recaudo = recaudo.cli:main"],
        "recaudo": _builtin_plugins(),
    },
)
