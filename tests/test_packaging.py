"""What a deployment installs: a wheel that carries every asset its pages reference, built from a
committed lock, and vendored files that match their recorded checksums."""

from __future__ import annotations

import hashlib
import os
import re
import socket
import subprocess
import sys
import time
import tomllib
import venv
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent
VENDOR = ROOT / "web" / "static" / "vendor"


def test_vendored_files_match_their_checksums() -> None:
    lines = (VENDOR / "SHA256SUMS").read_text().split("\n")
    recorded = dict(reversed(line.split()) for line in lines if line.strip())
    assert "htmx.min.js" in recorded
    for name, digest in recorded.items():
        assert hashlib.sha256((VENDOR / name).read_bytes()).hexdigest() == digest, name


def test_the_makefile_installs_from_the_committed_lock() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^LOCK := constraints\.txt$", makefile, re.M)
    assert "-c $(LOCK)" in makefile
    pins = {
        line.split("==")[0].lower(): line.split("==")[1].strip()
        for line in (ROOT / "constraints.txt").read_text().splitlines()
        if "==" in line and not line.startswith("#")
    }
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = list(declared["dependencies"]) + list(declared["optional-dependencies"]["dev"])
    for requirement in wanted:
        name = re.split(r"[\[<>=! ]", requirement, maxsplit=1)[0].lower()
        assert name.replace("_", "-") in {k.replace("_", "-") for k in pins}, name
    assert "babel" in pins  # stored money never depended on it, but display does


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _dependency_farm(target: Path) -> Path:
    """This venv's installed libraries, minus Recaudo itself, as a folder of symlinks: the fresh
    venv sees the same dependencies without reaching a package index."""
    site = Path(next(p for p in sys.path if p.endswith("site-packages")))
    target.mkdir()
    for entry in site.iterdir():
        name = entry.name.lower()
        if name.startswith(("recaudo", "__editable__")) or name.endswith(".pth"):
            continue
        (target / entry.name).symlink_to(entry)
    return target


@pytest.mark.slow
def test_an_installed_wheel_serves_every_static_file_its_pages_reference(tmp_path: Path) -> None:
    pip_wheel = [sys.executable, "-m", "pip", "wheel", "-v", "--no-deps", "--no-build-isolation"]
    build = subprocess.run(
        [*pip_wheel, "--disable-pip-version-check", "-w", str(tmp_path / "dist"), str(ROOT)],
        capture_output=True,
        text=True,
        check=True,
    )
    # Data folders are declared as packages; a new one that is not shows up as a warning here.
    assert "absent from the `packages` configuration" not in build.stdout + build.stderr
    wheel = next((tmp_path / "dist").glob("recaudo-*.whl"))

    fresh = tmp_path / "fresh"
    venv.create(fresh, with_pip=True)
    py = fresh / "bin" / "python"
    subprocess.run(
        [str(py), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)], check=True
    )
    site = next((fresh / "lib").glob("python3*/site-packages"))
    (site / "zz_dependencies.pth").write_text(str(_dependency_farm(tmp_path / "deps")) + "\n")

    port = _free_port()
    work = tmp_path / "work"  # outside the repository: nothing there can shadow the package
    work.mkdir()
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("RECAUDO_", "PYTHON", "VIRTUAL"))
    }
    env.update(
        RECAUDO_ENV="development",
        RECAUDO_DATABASE_URL=f"sqlite:///{work}/recaudo.sqlite3",
        RECAUDO_BASE_URL=f"http://127.0.0.1:{port}",
        RECAUDO_SECRET_KEY="packaging-test-secret-key-0123456789abcdef",
    )
    where = subprocess.run(
        [str(py), "-c", "import recaudo.web; print(recaudo.web.__file__)"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert where.stdout.startswith(str(fresh)), where.stdout
    recaudo = str(fresh / "bin" / "recaudo")
    for command in ("migrate", "demo"):
        subprocess.run([recaudo, command], cwd=work, env=env, check=True, capture_output=True)
    # The plugin template is package data: an installed Recaudo starts plugins too.
    rendered = subprocess.run(
        [recaudo, "plugins", "new", "acme-pay", "--kind", "payment", "--dest", str(work)],
        cwd=work,
        env={**env, "RECAUDO_TEMPLATE_CACHE": str(tmp_path / "template-cache")},
        capture_output=True,
        text=True,
    )
    assert rendered.returncode == 0, rendered.stdout + rendered.stderr
    assert (work / "recaudo-acme-pay" / "recaudo_acme_pay" / "__init__.py").is_file()
    server = subprocess.Popen(
        [recaudo, "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=work,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base, timeout=10) as client:
            for _ in range(120):
                try:
                    if client.get("/health").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                time.sleep(0.25)
            else:
                pytest.fail("the installed package's server never answered /health")
            assets: set[str] = set()
            for page in ("/", "/t/ferreteria-norte/", "/t/clinica-andina/ayuda"):
                html = client.get(page).text
                assets |= set(re.findall(r"""(?:src|href)=["'](/static/[^"'?#]+)""", html))
            assert any(a.endswith("htmx.min.js") for a in assets), assets
            for css in [a for a in assets if a.endswith(".css")]:
                body = client.get(css).text
                assets |= {
                    u for u in re.findall(r"url\(['\"]?(/static/[^)'\"]+)", body) if "?" not in u
                }
            missing = {a: client.get(a).status_code for a in sorted(assets)}
            assert all(code == 200 for code in missing.values()), missing
    finally:
        server.terminate()
        server.wait(timeout=20)
