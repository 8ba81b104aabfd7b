"""The page at `/` and its assets, without a browser."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.test import Client

from web.views import ASSETS, CONTENT_SECURITY_POLICY

STATIC = Path(__file__).resolve().parents[2] / "web" / "static" / "web"
TEMPLATE = Path(__file__).resolve().parents[2] / "web" / "templates" / "web"


def test_the_page_is_served_with_a_csrf_cookie_and_a_strict_policy(
    client: Client,
) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/html; charset=utf-8"
    assert response["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert "script-src 'self'" in CONTENT_SECURITY_POLICY
    assert "unsafe" not in CONTENT_SECURITY_POLICY
    assert response.cookies["csrftoken"].value
    html = response.content.decode()
    assert '<script type="module" src="/assets/app.js"></script>' in html
    assert '<link rel="stylesheet" href="/assets/app.css">' in html
    assert '<a href="/graphql/">GraphiQL</a>' in html


@pytest.mark.parametrize("name", sorted(ASSETS))
def test_each_asset_is_served_with_its_type(client: Client, name: str) -> None:
    response = client.get(f"/assets/{name}")
    assert response.status_code == 200
    assert response["Content-Type"] == ASSETS[name]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response.getvalue() == (STATIC / name).read_bytes()


def test_every_file_the_page_imports_is_served() -> None:
    imported = set()
    for path in STATIC.glob("*.js"):
        imported |= set(re.findall(r'from "\./([\w.]+)"', path.read_text()))
    imported.add("app.js")
    imported.add("app.css")
    assert imported == set(ASSETS)
    assert {path.name for path in STATIC.iterdir()} == set(ASSETS)


@pytest.mark.parametrize(
    "path", ["/assets/settings.py", "/assets/..%2Fviews.py", "/assets/", "/assets/x.js"]
)
def test_anything_else_is_not_found(client: Client, path: str) -> None:
    assert client.get(path).status_code == 404


def test_the_page_refuses_writes(client: Client) -> None:
    assert client.post("/").status_code == 405


def test_the_page_and_assets_name_no_other_origin() -> None:
    files = [*STATIC.iterdir(), *TEMPLATE.iterdir()]
    assert len(files) == len(ASSETS) + 1
    for path in files:
        text = path.read_text()
        assert not re.search(r"https?://|//[a-z0-9-]+\.[a-z]", text, re.I), path.name
