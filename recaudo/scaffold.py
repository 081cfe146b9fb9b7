"""``recaudo plugins new`` and ``plugins update``: render the plugin template (copier).

The template lives inside the package (``recaudo/plugin_template/``), so an installed Recaudo
renders it as well as a checkout; ``plugin-template/`` at the repository root only points here.

``copier update`` needs the template as a git repository with a version per release, which an
installed package is not. So the template is first copied into a small git repository of the
user's (:func:`template_repo`, one commit and tag per Recaudo version that changed it) and
rendered from there: the project's ``.copier-answers.yml`` then names that repository and the
tag, and ``copier update`` (or ``recaudo plugins update``, which refreshes the repository from
the installed Recaudo first) re-applies a newer template over the author's changes.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

TEMPLATE = Path(__file__).resolve().parent / "plugin_template"
KINDS = ("payment", "channel", "einvoice", "branding")
NAME_RE = re.compile(r"[a-z][a-z0-9]*(-[a-z0-9]+)*")
MAX_NAME = 40
GIT_ID = ["-c", "user.name=recaudo", "-c", "user.email=recaudo@localhost"]


class ScaffoldError(ValueError):
    """A name, kind or destination the template cannot be rendered with."""


@dataclass(frozen=True)
class Rendered:
    path: Path
    plugin: str  # the entry-point name tenants enable
    package: str
    distribution: str
    template_ref: str  # the template version recorded for `copier update` ("" without git)


def check_name(name: str) -> str:
    if len(name) > MAX_NAME or not NAME_RE.fullmatch(name):
        raise ScaffoldError(
            f"{name!r} is not a plugin name: use lowercase letters, digits and single hyphens, "
            f"starting with a letter (at most {MAX_NAME}), e.g. acme-pay"
        )
    return name.removeprefix("recaudo-") or name


def destination_for(name: str, dest: Path | None) -> Path:
    """``dest`` when empty or missing, else ``dest/recaudo-<name>``; never a non-empty one."""
    base = Path.cwd() if dest is None else dest
    target = base if dest is not None and _empty(base) else base / f"recaudo-{name}"
    if target.exists() and not target.is_dir():
        raise ScaffoldError(f"{target} exists and is not a folder")
    if not _empty(target):
        raise ScaffoldError(f"{target} is not empty: choose another --dest")
    return target


def _empty(path: Path) -> bool:
    return not path.exists() or (path.is_dir() and not any(path.iterdir()))


def template_cache() -> Path:
    """Where the versioned copy of the template lives (``RECAUDO_TEMPLATE_CACHE`` overrides)."""
    if os.environ.get("RECAUDO_TEMPLATE_CACHE"):
        return Path(os.environ["RECAUDO_TEMPLATE_CACHE"])
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "recaudo" / "plugin-template"


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(  # noqa: S603 - fixed git arguments
        ["git", *GIT_ID, *args],  # noqa: S607 - git from PATH, as copier itself runs it
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def template_repo() -> tuple[Path, str] | None:
    """The template as a git repository with this Recaudo's version tagged: ``(path, tag)``.

    ``None`` when git is missing (the project is then rendered straight from the package and
    cannot be updated with copier).
    """
    if shutil.which("git") is None:
        return None
    repo = template_cache()
    try:
        if not (repo / ".git").is_dir():
            repo.mkdir(parents=True, exist_ok=True)
            _git(repo, "init", "-q")
        for entry in repo.iterdir():
            if entry.name != ".git":
                shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
        shutil.copytree(
            TEMPLATE, repo, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__")
        )
        _git(repo, "add", "-A")
        if _git(repo, "status", "--porcelain"):
            _git(repo, "commit", "-q", "-m", f"plugin template of recaudo {_version()}")
        head = _git(repo, "rev-parse", "HEAD")
        tags = _git(repo, "tag", "--points-at", head).split()
        if tags:
            return repo, tags[0]
        # One tag per template change: the release's version, then .postN for changes made
        # between releases (a checkout), which PEP 440 orders after it.
        tag = f"v{_version()}"
        if _git(repo, "tag", "--list", tag):
            tag = f"v{_version()}.post{_git(repo, 'rev-list', '--count', 'HEAD')}"
        _git(repo, "tag", tag)
        return repo, tag
    except (OSError, subprocess.CalledProcessError):
        return None


def _version() -> str:
    try:
        return version("recaudo")
    except PackageNotFoundError:
        return "0"


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
    source = template_repo()
    worker = run_copy(
        str(source[0] if source else TEMPLATE),
        target,
        data=data,
        vcs_ref=source[1] if source else None,
        defaults=True,
        unsafe=False,
        quiet=True,
    )
    answers = worker.answers.combined
    return Rendered(
        target,
        str(answers["plugin_name"]),
        str(answers["package_name"]),
        str(answers["distribution"]),
        source[1] if source else "",
    )


def update(project: Path) -> str:
    """Re-apply the installed Recaudo's template to ``project`` (a clean git work tree);
    returns the template version it is now at. Conflicts are left inline for the author."""
    from copier import run_update

    if not (project / ".copier-answers.yml").is_file():
        raise ScaffoldError(f"{project} has no .copier-answers.yml: not rendered from the template")
    source = template_repo()
    if source is None:
        raise ScaffoldError("updating needs git on the PATH")
    run_update(
        project,
        vcs_ref=source[1],
        defaults=True,
        overwrite=True,
        skip_answered=True,
        unsafe=False,
        quiet=True,
    )
    return source[1]
