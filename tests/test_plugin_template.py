"""The plugin template, proven from outside: ``recaudo plugins new`` renders each kind, the result
installs with pip, its own tests pass against this Recaudo, the host lists it, and a tenant that
enables it uses it through the portal (a payment completes; a sign-in link arrives by SMS)."""

from __future__ import annotations

import ast
import importlib
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from recaudo.cli import main
from recaudo.core.platform.host import PluginHost, set_host
from recaudo.core.tables import Invoice
from recaudo.scaffold import KINDS
from recaudo.tenants.plugin_config import set_plugin
from recaudo.tenants.scoped import TenantScope
from recaudo.testing import FakeServer
from tests.conftest import drain_jobs, make_tenant
from tests.portal_support import (
    LINK_RE,
    hidden,
    login,
    make_app,
    make_settings,
    make_shop,
    post_form,
)

# Rendered modules may import only the public plugin API.
PUBLIC = {"recaudo.api"}


@pytest.fixture(autouse=True)
def template_cache(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """The versioned copy of the template goes to a temporary folder, not ~/.cache."""
    cache = tmp_path_factory.mktemp("template-cache")
    monkeypatch.setenv("RECAUDO_TEMPLATE_CACHE", str(cache))
    return cache


def new(*args: str) -> Any:
    return CliRunner().invoke(main, ["plugins", "new", *args], catch_exceptions=False)


@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_renders_a_plugin_distribution(kind: str, tmp_path: Path) -> None:
    result = new(f"acme-{kind}", "--kind", kind, "--dest", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert str(tmp_path) in result.output and "pip install" in result.output
    package = f"recaudo_acme_{kind}"
    meta = tomllib.loads((tmp_path / "pyproject.toml").read_text())
    assert meta["project"]["name"] == f"recaudo-acme-{kind}"
    assert meta["project"]["entry-points"]["recaudo"] == {f"acme_{kind}": package}
    # No version pin that would make pip replace the installed Recaudo.
    assert "recaudo>=0.1" in meta["project"]["dependencies"]
    source = (tmp_path / package / "__init__.py").read_text()
    assert 'RECAUDO_API = "1.0"' in source
    for path in [tmp_path / package / "__init__.py", *(tmp_path / "tests").glob("*.py")]:
        tree = ast.parse(path.read_text())
        imported = {
            node.module
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and node.module
        } | {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        private = {m for m in imported if m.startswith("recaudo.")} - PUBLIC - {"recaudo.testing"}
        assert not private, f"{path.name} imports {private}"
    assert "recaudo.testing" in (tmp_path / "pyproject.toml").read_text()
    assert (tmp_path / "README.md").read_text().startswith(f"# recaudo-acme-{kind}")
    answers = (tmp_path / ".copier-answers.yml").read_text()
    assert f"kind: {kind}" in answers and "_src_path:" in answers
    assert (tmp_path / "tests" / "fake_provider.py").exists() == (kind != "branding")


def test_a_new_folder_is_made_under_a_non_empty_destination(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    result = new("acme-sms", "--kind", "channel", "--dest", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert (tmp_path / "recaudo-acme-sms" / "pyproject.toml").exists()
    assert (tmp_path / "notes.txt").read_text() == "mine"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["Acme Pay", "--kind", "payment"], "is not a plugin name"),
        (["acme--pay", "--kind", "payment"], "is not a plugin name"),
        (["acme-pay", "--kind", "crypto"], "Invalid value for '--kind'"),
        (["acme-pay"], "Missing option '--kind'"),
    ],
)
def test_bad_names_and_kinds_are_clear_errors(
    args: list[str], message: str, tmp_path: Path
) -> None:
    result = new(*args, "--dest", str(tmp_path / "out"))
    assert result.exit_code != 0
    assert message in result.output
    assert not (tmp_path / "out").exists()


def test_an_occupied_destination_is_refused(tmp_path: Path) -> None:
    (tmp_path / "recaudo-acme-pay").mkdir()
    (tmp_path / "recaudo-acme-pay" / "x").write_text("")
    result = new("acme-pay", "--kind", "payment", "--dest", str(tmp_path))
    assert result.exit_code == 1
    assert "is not empty" in result.output


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=a", "-c", "user.email=a@example.com", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
    )


def test_a_template_fix_reaches_a_rendered_plugin_and_keeps_the_authors_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import recaudo.scaffold

    template = tmp_path / "template"
    shutil.copytree(recaudo.scaffold.TEMPLATE, template)
    monkeypatch.setattr(recaudo.scaffold, "TEMPLATE", template)
    project = tmp_path / "project"
    assert new("acme-pay", "--kind", "payment", "--dest", str(project)).exit_code == 0
    assert "_commit: v" in (project / ".copier-answers.yml").read_text()
    _git(project, "init", "-q")
    _git(project, "add", "-A")
    _git(project, "commit", "-qm", "rendered")
    module = project / "recaudo_acme_pay" / "__init__.py"
    module.write_text(module.read_text() + "\nEXTRA = 1  # the author's own line\n")
    _git(project, "commit", "-qam", "mine")
    # A later Recaudo ships a template fix.
    readme = template / "project" / "README.md.jinja"
    readme.write_text(readme.read_text() + "\nA fix from the template.\n")
    result = CliRunner().invoke(main, ["plugins", "update", str(project)])
    assert result.exit_code == 0, result.output
    assert "A fix from the template." in (project / "README.md").read_text()
    assert "EXTRA = 1  # the author's own line" in module.read_text()
    assert ".post" in (project / ".copier-answers.yml").read_text()


def test_update_refuses_a_folder_not_made_from_the_template(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["plugins", "update", str(tmp_path)])
    assert result.exit_code == 1 and "no .copier-answers.yml" in result.output


def test_the_template_is_data_of_the_package() -> None:
    """Shipped in the wheel (MANIFEST.in grafts it; include-package-data)."""
    import recaudo.scaffold

    assert (recaudo.scaffold.TEMPLATE / "copier.yml").is_file()
    assert recaudo.scaffold.TEMPLATE.parent == Path(recaudo.scaffold.__file__).parent
    root = Path(__file__).resolve().parent.parent
    assert "graft recaudo/plugin_template" in (root / "MANIFEST.in").read_text()


# --- from outside: render, pip install, run its tests, list, enable, use -------------------------


@dataclass
class Installed:
    kind: str
    plugin: str
    package: str
    project: Path
    site: Path
    generated_tests: str


def _env(site: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RECAUDO_")}
    return {**env, "PYTHONPATH": str(site)}


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Installed]]:
    """Each kind rendered with the CLI and pip-installed into a folder of its own (added to
    ``sys.path`` by the test that uses it), never into this venv."""
    cache: dict[str, Installed] = {}
    yield cache


def install(cache: dict[str, Installed], kind: str, base: Path) -> Installed:
    if kind in cache:
        return cache[kind]
    project, site = base / "project", base / "site"
    result = new(f"acme-{kind}", "--kind", kind, "--dest", str(project))
    assert result.exit_code == 0, result.output
    pip = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--disable-pip-version-check",
            "--target",
            str(site),
            str(project),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert pip.returncode == 0, pip.stdout + pip.stderr
    tests = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=project,
        env=_env(site),
        capture_output=True,
        text=True,
        timeout=300,
    )
    cache[kind] = Installed(
        kind,
        f"acme_{kind}",
        f"recaudo_acme_{kind}",
        project,
        site,
        tests.stdout + tests.stderr,
    )
    return cache[kind]


@pytest.fixture
def use_installed(
    installed: dict[str, Installed], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Any]:
    """``use_installed(kind)``: the rendered plugin importable and loaded by a fresh host."""
    added: list[Installed] = []

    def use(kind: str) -> tuple[Installed, PluginHost]:
        info = install(installed, kind, tmp_path_factory.mktemp(kind))
        sys.path.insert(0, str(info.site))
        importlib.invalidate_caches()
        added.append(info)
        host = PluginHost()
        host.load_entry_points()
        set_host(host)
        return info, host

    yield use
    set_host(None)
    for info in added:
        sys.path.remove(str(info.site))
        for name in [m for m in sys.modules if m.startswith(info.package)]:
            del sys.modules[name]


def fake_module(info: Installed) -> ModuleType:
    """The rendered project's own fake provider (tests/fake_provider.py)."""
    path = info.project / "tests" / "fake_provider.py"
    spec = importlib.util.spec_from_file_location(f"{info.package}_fake_provider", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being built
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
@pytest.mark.parametrize("kind", KINDS)
def test_the_rendered_plugin_installs_passes_its_tests_and_is_listed(
    kind: str, use_installed: Any
) -> None:
    info, host = use_installed(kind)
    assert re.search(r"\b\d+ passed\b", info.generated_tests), info.generated_tests
    assert not re.search(r"\b(failed|error|errors|skipped)\b", info.generated_tests), (
        info.generated_tests
    )
    listed = subprocess.run(
        [sys.executable, "-m", "recaudo.cli", "plugins", "list", "--json"],
        env=_env(info.site),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert listed.returncode == 0, listed.stderr
    rows = {p["name"]: p for p in json.loads(listed.stdout)["plugins"]}
    assert rows[info.plugin]["status"] == "ok", rows.get(info.plugin)
    assert rows[info.plugin]["source"] == f"recaudo-acme-{kind}"
    assert host.records[info.plugin].ok


@pytest.mark.slow
async def test_the_rendered_payment_method_completes_a_payment_through_the_portal(
    database: str, use_installed: Any, fake_http: Any
) -> None:
    info, _host = use_installed("payment")
    fakes = fake_module(info)
    provider = fakes.FakeProvider()
    server: FakeServer = fake_http(provider)
    app = make_app(make_settings(database))
    shop = await make_shop()
    await set_plugin(
        shop.scope,
        info.plugin,
        enabled=True,
        settings={
            "api_url": server.url,
            "api_key": provider.api_key,
            "webhook_secret": provider.webhook_secret,
        },
        secret_key="x" * 40,
    )
    customer = shop.customers[0]
    ids = shop.invoices[int(customer.id)]
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app), base_url="http://testserver"
    ) as portal:
        await login(portal, shop, customer)
        page = await portal.get(f"{shop.prefix}/pagar?factura={ids[0]}")
        assert f'value="{info.plugin}"' in page.text  # offered next to the built-in methods
        started = await post_form(
            portal,
            shop.prefix + "/pagar",
            {"clave": hidden(page.text, "clave"), "factura": [str(ids[0])], "metodo": info.plugin},
        )
        assert started.status_code == 303, started.text
        [checkout] = provider.checkouts.values()
        assert (checkout["amount"], checkout["currency"]) == (100_000, "MXN")
        location = started.headers["location"]
        assert location == checkout["url"] or checkout["return_url"].endswith(location)
        # The portal redirects only to https:// checkout pages; the loopback fake speaks plain
        # http, so the customer is sent to the payment's page and the test opens the checkout.
        checkout_url = checkout["url"]
        # The customer pays on the provider's page; the provider posts its signed webhook.
        async with httpx.AsyncClient() as browser:
            paid = await browser.post(checkout_url, data={"decision": "pay"})
        assert paid.status_code == 303
        hook = provider.webhooks[-1]
        path = hook.url.split("http://testserver", 1)[1]
        assert path == f"/hooks/{info.plugin}/{shop.slug}"
        forged = await portal.post(path, content=hook.body + b" ", headers=hook.headers)
        assert forged.status_code == 401
        accepted = await portal.post(path, content=hook.body, headers=hook.headers)
        assert accepted.status_code == 200, accepted.text
        await drain_jobs()
        result = await portal.get(paid.headers["location"].split("http://testserver", 1)[1])
        assert 'data-status="approved"' in result.text
        assert (await shop.scope.get(Invoice, ids[0])).status == "paid"
        statement = await portal.get(shop.prefix + "/estado-de-cuenta")
        # 1,000 + 500 + 250 owed before; the 1,000.00 invoice is paid.
        assert re.search(r'id="balance-due">\$750\.00<', statement.text), statement.text


@pytest.mark.slow
async def test_the_rendered_channel_delivers_the_sign_in_link(
    database: str, use_installed: Any, fake_http: Any
) -> None:
    info, _host = use_installed("channel")
    gateway = fake_module(info).FakeGateway()
    server: FakeServer = fake_http(gateway)
    app = make_app(make_settings(database))
    tenant = await make_tenant("sms-" + uuid.uuid4().hex[:6], test=True)
    scope = TenantScope(int(tenant.id))
    await set_plugin(
        scope,
        info.plugin,
        enabled=True,
        settings={"endpoint": server.url + "/messages", "api_key": gateway.api_key},
        secret_key="x" * 40,
    )
    from recaudo.core.billing.customers import NewCustomer, create_customer

    phone = "+525555550199"
    await create_customer(scope, NewCustomer("C-SMS", "Rosa Díaz", phone=phone), "MX")
    prefix = f"/t/{tenant.slug}"
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app), base_url="http://testserver"
    ) as portal:
        await portal.get(prefix + "/")
        asked = await post_form(portal, prefix + "/acceso", {"contact": phone})
        assert asked.status_code == 200, asked.text
        [sms] = gateway.delivered
        assert sms["to"] == phone
        link = LINK_RE.search(sms["text"])
        assert link, sms["text"]
        signed_in = await post_form(portal, link.group(0).split("http://testserver", 1)[1])
        assert signed_in.status_code == 303
        statement = await portal.get(prefix + "/estado-de-cuenta")
        assert statement.status_code == 200 and "Rosa Díaz" in statement.text
