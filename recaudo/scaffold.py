"""``recaudo plugins new``: render the plugin template (copier) into a new folder.

The template lives inside the package (``recaudo/plugin_template/``), so an installed Recaudo can
render it as well as a checkout; ``plugin-template/`` at the repository root only points here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

TEMPLATE = Path(__file__).resolve().parent / "plugin_template"
KINDS = ("payment", "channel", "einvoice", "branding")
NAME_RE = re.compile(r"[a-z][a-z0-9]*(-[a-z0-9]+)*")
MAX_NAME = 40


class ScaffoldError(ValueError):
    """A name, kind or destination the template cannot be rendered with."""


@dataclass(frozen=True)
class Rendered:
    path: Path
    plugin: str  # the entry-point name tenants enable
    package: str
    distribution: str


def check_name(name: str) -> str:
    if len(name) > MAX_NAME or not NAME_RE.fullmatch(name):
        raise ScaffoldError(
            f"{name!r} is not a plugin name: use lowercase letters, digits and single hyphens, "
            f"starting with a letter (at most {MAX_NAME}), e.g. acme-pay"
        )
    return name.removeprefix("recaudo-") or name


def destination_for(name: str, dest: Path | None) -> Path:
    """``dest`` itself when empty or missing, else ``dest/recaudo-<name>``; never a non-empty one."""
    base = Path.cwd() if dest is None else dest
    target = base if dest is not None and _empty(base) else base / f"recaudo-{name}"
    if target.exists() and not target.is_dir():
        raise ScaffoldError(f"{target} exists and is not a folder")
    if not _empty(target):
        raise ScaffoldError(f"{target} is not empty: choose another --dest")
    return target


def _empty(path: Path) -> bool:
    return not path.exists() or (path.is_dir() and not any(path.iterdir()))


def render(
    name: str,
    kind: str,
    dest: Path | None = None,
    author: str | None = None,
    description: str | None = None,
) -> Rendered:
    """Render the template for ``kind`` without prompting; answers not given take defaults."""
    from copier import run_copy

    short = check_name(name)
    if kind not in KINDS:
        raise ScaffoldError(f"unknown kind {kind!r}: choose one of {', '.join(KINDS)}")
    target = destination_for(short, dest)
    data = {"name": short, "kind": kind}
    if author:
        data["author"] = author
    if description:
        data["description"] = description
    worker = run_copy(
        str(TEMPLATE),
        target,
        data=data,
        defaults=True,
        unsafe=False,
        quiet=True,
        vcs_ref=None,
    )
    answers = worker.answers.combined
    return Rendered(
        target,
        str(answers["plugin_name"]),
        str(answers["package_name"]),
        str(answers["distribution"]),
    )
