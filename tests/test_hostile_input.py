"""No 500s from user input: every route, signed in as a customer and as staff, fed hostile ids,
query strings and forms, answers with a 2xx/3xx/4xx.

Routes are read from the app itself, so a new route is covered the day it is added.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from recaudo.core.access.staff import create_staff
from recaudo.web.app import create_app
from tests.portal_support import csrf, login, make_settings, open_env

pytestmark = pytest.mark.slow

# Keys are 32-bit on PostgreSQL: one past 2^31-1, BIGINT's edge, one past it, negatives, and
# digit strings far beyond any integer type must all read as "no such row".
HOSTILE_INTS = [
    "0",
    "-1",
    "2147483647",
    "2147483648",
    "9223372036854775807",
    "9223372036854775808",
    "18446744073709551616",
    "-2147483649",
    "9" * 400,
    "9" * 5000,
    "abc",
    "1.5",
]
HOSTILE_STRS = ["..%2F..%2Fetc", "%00", "<script>", "a" * 300, "ñ"]
HOSTILE_QUERY = {
    "factura": ["abc", "-5", "999999999", "2147483648", "9223372036854775808"],
    "monto": "-1",
    "cuota": "9" * 5000,
    "todo": "1",
    "lang": "xx",
    "tab": "<b>",
    "v": "'",
    "after": "2147483648",
    "to": "x@y",
    "next": "//evil.example",
    "motivo": "nada",
    "cuotas": "1000",
    "inicial": "1e9",
    "format": "json",
    "aviso": "<i>",
}
HOSTILE_FORM = {
    "contact": "' OR 1=1 --",
    "metodo": "nope:zzz",
    "clave": "x" * 500,
    "monto": "NaN",
    "factura": ["-1", "abc", "2147483648", "9" * 100],
    "mensaje": "<script>alert(1)</script>" * 50,
    "motivo": "otro",
    "fecha": "2026-02-31",
    "cuotas": "-3",
    "inicial": "-100",
    "decision": "maybe",
    "reason": "",
    "note": "\u202e" * 10,
    "email": "a@b",
    "password": "x",
    "channels": "carrier-pigeon",
    "quiet_start": "25:99",
    "quiet_end": "xx",
    "subject": "",
    "name": "n" * 1000,
}
PARAM = re.compile(r"\{(\w+):(\w+)\}")


def _paths(template: str, slug: str) -> list[str]:
    params = [m for m in PARAM.findall(template) if m[0] != "slug"]
    base = template.replace("{slug:str}", slug)
    if not params:
        return [base]
    out = []
    for i in range(len(HOSTILE_INTS)):
        path = base
        for name, kind in params:
            values = HOSTILE_INTS if kind == "int" else HOSTILE_STRS
            path = path.replace(f"{{{name}:{kind}}}", values[i % len(values)])
        out.append(path)
    return out


async def _sweep(
    client: httpx.AsyncClient, routes: list[tuple[str, set[str]]], slug: str
) -> list[str]:
    failures = []
    for template, methods in routes:
        for path in _paths(template, slug):
            calls: list[tuple[str, dict[str, Any]]] = []
            if "GET" in methods:
                calls.append(("GET", {"params": HOSTILE_QUERY}))
            if "POST" in methods:
                calls.append(("POST", {"data": {**HOSTILE_FORM, "_csrf_token": csrf(client)}}))
            for method, kwargs in calls:
                try:
                    response = await client.request(method, path, **kwargs)
                except httpx.InvalidURL:
                    continue  # the client itself refuses the URL: never reaches us
                if response.status_code >= 500:
                    failures.append(f"{method} {path} -> {response.status_code}")
    return failures


def _routes(database: str) -> list[tuple[str, set[str]]]:
    app = create_app(make_settings(database), embedded_workers=False)
    routes = [
        (route.path, set(route.methods or ()))
        for route in app.routes
        # Every route but static files and the OpenAPI schema (neither reads input we own).
        if not route.path.startswith(("/static", "/schema"))
        # Signing out mid-sweep would turn the signed-in pass into an anonymous one.
        and not route.path.endswith(("/salir", "/logout"))
    ]
    assert len(routes) > 30
    return routes


async def test_no_route_answers_500_to_hostile_input(database: str) -> None:
    env = await open_env(database)
    shop = env.shop
    routes = _routes(database)
    user = await create_staff(shop.scope, "sweep@example.com", "una-clave-larga", "owner")
    async with env.client as client:
        anonymous = await _sweep(client, routes, shop.slug)
        await login(client, shop, env.customer)
        response = await client.post(
            f"{shop.prefix}/staff/login",
            data={"email": user.email, "password": "una-clave-larga", "_csrf_token": csrf(client)},
        )
        assert response.status_code in (200, 303)
        signed_in = await _sweep(client, routes, shop.slug)
    assert not anonymous + signed_in, "\n".join(anonymous + signed_in)


async def test_nul_characters_are_refused_before_any_handler(database: str) -> None:
    env = await open_env(database)
    async with env.client as client:
        await client.get(f"{env.shop.prefix}/")
        for response in (
            await client.get(f"{env.shop.prefix}/facturas/%00"),
            await client.get(f"{env.shop.prefix}/", params={"lang": "es\x00"}),
            await client.post(
                f"{env.shop.prefix}/acceso", data={"contact": "a\x00b", "_csrf_token": csrf(client)}
            ),
        ):
            assert response.status_code == 400
            assert "NUL" in response.json()["detail"]
        ok = await client.post(
            f"{env.shop.prefix}/acceso",
            data={"contact": "nadie@example.com", "_csrf_token": csrf(client)},
        )
        assert ok.status_code == 200, "a form without NULs still reaches its handler"


PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
BOUNDARY = "hostile-boundary"


def _multipart(parts: list[tuple[str, bytes, str | None]]) -> bytes:
    """A multipart body written by hand, so it can hold what no browser would send."""
    out = b""
    for name, value, filename in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        out += f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n\r\n".encode()
        out += value + b"\r\n"
    return out + f"--{BOUNDARY}--\r\n".encode()


def _odd_bodies(token: str) -> list[tuple[str, dict[str, Any]]]:
    """Huge, deep and malformed bodies, each with a valid CSRF token so handlers see them."""
    deep = b"[" * 50_000 + b"]" * 50_000
    json_headers = {"content-type": "application/json", "x-csrftoken": token}
    multipart = {"content-type": f"multipart/form-data; boundary={BOUNDARY}"}
    urlencoded = {"content-type": "application/x-www-form-urlencoded"}
    names = ["contact", "monto", "mensaje", "motivo", "reason", "note", "name", "email"]
    return [
        ("deep JSON", {"content": deep, "headers": json_headers}),
        ("JSON that is not an object", {"content": b'[1, "2", null]', "headers": json_headers}),
        (
            "huge fields",
            {"data": {"_csrf_token": token, **{n: "9" * 100_000 for n in names}}},
        ),
        (
            "broken percent-encoding and UTF-8",
            {
                "content": f"_csrf_token={token}&".encode()
                + b"&".join(n.encode() + b"=%ff%fe%zz%C3" for n in names),
                "headers": urlencoded,
            },
        ),
        (
            "multipart with bad UTF-8, a lying file and many repeats",
            {
                "content": _multipart(
                    [("_csrf_token", token.encode(), None)]
                    + [(n, b"\xff\xfe\xc3", None) for n in names]
                    + [("factura", b"9" * 30, None)] * 300
                    + [("archivo", PNG + b"<html>", "../../etc/passwd\u202e.png")]
                ),
                "headers": multipart,
            },
        ),
        (
            "multipart with more parts than allowed",
            {
                "content": _multipart(
                    [("_csrf_token", token.encode(), None)] + [("factura", b"1", None)] * 1200
                ),
                "headers": multipart,
            },
        ),
        (
            "truncated multipart",
            {"content": b"--" + BOUNDARY.encode() + b"\r\nContent-Dis", "headers": multipart},
        ),
    ]


async def _odd_sweep(
    client: httpx.AsyncClient, routes: list[tuple[str, set[str]]], slug: str
) -> list[str]:
    failures = []
    odd_query = {"lang": "9" * 8000, "factura": ["9" * 5000] * 5, "v": "\ud7ff\ufffd" * 100}
    for template, methods in routes:
        path = _paths(template, slug)[0].replace("..%2F..%2Fetc", "sandbox")
        if "GET" in methods:
            for params in (odd_query, "lang=%ff%fe&factura=%zz"):
                response = await client.get(path, params=params)
                if response.status_code >= 500:
                    failures.append(f"GET {path} odd query -> {response.status_code}")
        if "POST" in methods:
            for label, kwargs in _odd_bodies(csrf(client)):
                response = await client.post(path, **kwargs)
                if response.status_code >= 500:
                    failures.append(f"POST {path} {label} -> {response.status_code}")
    return failures


async def test_no_route_answers_500_to_odd_cookies_and_headers(database: str) -> None:
    """Forged or stale session cookies, a junk language and odd htmx/accept headers."""
    from recaudo.web.sessions import COOKIES

    env = await open_env(database)
    routes = _routes(database)
    cookies = {name: "x" * 3000 for name in COOKIES.values()}
    cookies.update({"lang": "../%ff%00", "csrftoken": "junk"})
    headers = {
        "hx-request": "true",
        "hx-current-url": "javascript:alert(1)",
        "accept": "*/*;q=abc, text/html",
        "accept-language": ";;;, *;q=2",
        "content-type": "multipart/form-data",  # no boundary
    }
    failures = []
    async with env.client as client:
        client.cookies.update(cookies)
        for template, methods in routes:
            path = _paths(template, env.shop.slug)[0].replace("..%2F..%2Fetc", "sandbox")
            for method in sorted(methods & {"GET", "POST"}):
                response = await client.request(method, path, headers=headers, content=b"x")
                if response.status_code >= 500:
                    failures.append(f"{method} {path} -> {response.status_code}")
    assert not failures, "\n".join(failures)


async def test_no_route_answers_500_to_huge_deep_or_malformed_bodies(database: str) -> None:
    """Every form and API, anonymous and signed in: deep JSON, JSON arrays, 100 KB fields,
    broken encodings, odd multipart; always a 2xx/3xx/4xx."""
    env = await open_env(database)
    shop = env.shop
    routes = _routes(database)
    user = await create_staff(shop.scope, "odd@example.com", "una-clave-larga", "owner")
    async with env.client as client:
        await client.get(f"{shop.prefix}/")
        anonymous = await _odd_sweep(client, routes, shop.slug)
        await login(client, shop, env.customer)
        await client.post(
            f"{shop.prefix}/staff/login",
            data={"email": user.email, "password": "una-clave-larga", "_csrf_token": csrf(client)},
        )
        signed_in = await _odd_sweep(client, routes, shop.slug)
    assert not anonymous + signed_in, "\n".join(anonymous + signed_in)
