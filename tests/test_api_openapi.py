"""The API's OpenAPI document, every route of it walked with another tenant's ids (404), and
schemathesis against the app (no 5xx)."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, Phase, given, settings

from recaudo.core.tables import Customer, Invoice
from tests import api_support
from tests.api_support import ApiWorld

api_world = api_support.api_world  # two tenants with data and keys
api = api_support.api  # an HTTP client to the whole app

SCHEMA = "/api/v1/schema/openapi.json"
METHODS = ("get", "post", "put", "patch", "delete")


async def _doc(c: httpx.AsyncClient) -> dict[str, Any]:
    r = await c.get(SCHEMA)
    assert r.status_code == 200
    return r.json()


async def test_openapi_documents_the_api_only(api_world: ApiWorld, api: httpx.AsyncClient) -> None:
    doc = await _doc(api)
    paths = set(doc["paths"])
    assert paths and all(p.startswith("/api/v1/") for p in paths), paths
    assert {
        "/api/v1/customers",
        "/api/v1/invoices",
        "/api/v1/invoices/bulk",
        "/api/v1/payments",
        "/api/v1/plans",
    } <= paths
    scheme = doc["components"]["securitySchemes"]["BearerAuth"]
    assert scheme["type"] == "http" and scheme["scheme"] == "bearer"
    invoice = doc["components"]["schemas"]["InvoiceOut"]["properties"]
    assert "minor units" in invoice["total"]["description"]
    post = doc["paths"]["/api/v1/invoices"]["post"]
    assert any(p["name"] == "Idempotency-Key" for p in post["parameters"])
    assert "ErrorBody" in str(post["responses"]["422"])
    # The main app's own routes (portal, back office) are not in it.
    assert not any("/t/" in p or "staff" in p for p in paths)


def _fill(doc: dict[str, Any], schema: dict[str, Any], depth: int = 0) -> Any:
    """A small valid value for ``schema`` (required fields only)."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return _fill(doc, doc["components"]["schemas"][name], depth + 1)
    for combo in ("oneOf", "anyOf"):
        if combo in schema:
            options = [s for s in schema[combo] if s.get("type") != "null"]
            return _fill(doc, options[0], depth + 1)
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        props = schema.get("properties", {})
        return {k: _fill(doc, props[k], depth + 1) for k in schema.get("required", [])}
    if kind == "array":
        return [_fill(doc, schema.get("items", {}), depth + 1)]
    if kind == "integer":
        return max(1, int(schema.get("minimum", 1)))
    if schema.get("format") == "date":
        return date.today().isoformat()
    if kind == "string":
        return "x" * max(1, int(schema.get("minLength", 1)))
    return None


async def test_every_route_answers_404_for_another_tenants_ids(
    api_world: ApiWorld, api: httpx.AsyncClient
) -> None:
    """Generic: a route added later is walked too, and must say which id each parameter takes."""
    a, b = api_world.a, api_world.b
    doc = await _doc(api)
    walked = 0
    for path, ops in doc["paths"].items():
        params = re.findall(r"{(\w+)}", path)
        if not params:
            continue
        for method in METHODS:
            if method not in ops:
                continue
            ids = a.ids()
            missing = [p for p in params if p not in ids]
            assert not missing, f"{method} {path}: add {missing} to Side.ids() in api_support.py"
            url = path
            for p in params:
                url = url.replace("{" + p + "}", str(ids[p]))
            kwargs: dict[str, Any] = {}
            body = ops[method].get("requestBody")
            if body:
                kwargs["json"] = _fill(doc, body["content"]["application/json"]["schema"])
            # Another tenant's key first (it must change nothing), then the owner's: its row is
            # found (a change may still be refused for the row's state, e.g. 409 once void).
            theirs = await api.request(method.upper(), url, headers=b.w, **kwargs)
            own = await api.request(method.upper(), url, headers=a.w, **kwargs)
            assert own.status_code != 404 and own.status_code < 500, (method, url, own.text)
            assert theirs.status_code == 404, (method, url, theirs.text)
            assert theirs.json()["status_code"] == 404
            for junk in ("0", "2147483648", "99999999999999999999", "-1"):
                r = await api.request(
                    method.upper(), path.replace("{" + params[0] + "}", junk), headers=a.w, **kwargs
                )
                assert r.status_code == 404, (method, path, junk, r.text)
            walked += 1
    assert walked >= 5


def _cases(operation: Any, mode: Any, n: int) -> list[Any]:
    found: list[Any] = []

    @settings(
        max_examples=n,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def collect(case: Any) -> None:
        found.append(case)

    collect()
    return found


@pytest.mark.slow
async def test_schemathesis_finds_no_server_error(
    api_world: ApiWorld, api: httpx.AsyncClient
) -> None:
    import schemathesis
    from schemathesis.generation import GenerationMode

    a = api_world.a
    doc = await _doc(api)
    schema = schemathesis.openapi.from_dict(doc)
    customers, invoices = await a.scope.count(Customer), await a.scope.count(Invoice)
    sent = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            for case in _cases(operation, mode, 6):
                kw = case.as_transport_kwargs(base_url="http://testserver", headers=a.w)
                request: dict[str, Any] = {
                    "method": kw["method"],
                    "url": kw["url"],
                    "headers": {k: str(v) for k, v in (kw.get("headers") or {}).items()},
                    "params": kw.get("params"),
                }
                if "json" in kw:
                    request["json"] = kw["json"]
                elif kw.get("data") is not None:
                    request["content"] = kw["data"]
                try:
                    r = await api.request(**request)
                except (UnicodeEncodeError, httpx.InvalidURL, httpx.LocalProtocolError):
                    continue  # not sendable over HTTP at all
                sent += 1
                assert r.status_code < 500, (kw["method"], kw["url"], request, r.text)
                url = str(kw["url"])
                if r.status_code == 200 and (
                    "/api/v1/documents/" in url or re.search(r"/einvoices/\d+/(xml|pdf)$", url)
                ):
                    # a document's (or e-invoice's) download is the file itself, typed by its bytes
                    assert r.headers["content-type"] in ("application/pdf", "application/xml")
                else:
                    assert r.headers["content-type"].startswith("application/json")
    assert sent > 50
    # Whatever was accepted, nothing broke the data: the tenant still answers its lists.
    assert (await api.get("/api/v1/invoices", headers=a.r)).status_code == 200
    assert await a.scope.count(Customer) >= customers
    assert await a.scope.count(Invoice) >= invoices
