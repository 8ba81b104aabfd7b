"""GraphiQL works offline: its page loads only files this app serves."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client, override_settings

from schema.graphiql import ASSET_DIR, GRAPHIQL_ASSETS

BROWSER = {"Accept": "text/html"}
# Every URL-like reference in the page: attributes and `url(...)` in styles.
REFERENCE = re.compile(r"""(?:src|href)\s*=\s*["']([^"']*)["']|url\(([^)]*)\)""")


def page_references(html: str) -> list[str]:
    return [a or b for a, b in REFERENCE.findall(html)]


def assert_same_origin(html: str) -> None:
    references = page_references(html)
    assert references, "the page references nothing: the pattern is wrong"
    for reference in references:
        assert not re.match(r"^[a-z][a-z0-9+.-]*:(?!,)|^//", reference, re.I) or (
            reference == "data:,"
        ), reference
    assert "unpkg" not in html
    assert "cdn" not in html.lower()


@pytest.mark.parametrize("debug", [True, False], ids=["debug", "production"])
def test_the_page_references_no_other_origin(db: None, debug: bool) -> None:
    with override_settings(DEBUG=debug):
        page = Client().get("/graphql/", headers=BROWSER)

    html = page.content.decode()
    assert page.status_code == 200
    assert page["Content-Type"] == "text/html; charset=utf-8"
    assert_same_origin(html)
    assert sorted(page_references(html)) == sorted(
        ["data:,"] + [f"/graphql/static/{name}" for name in GRAPHIQL_ASSETS.values()]
    )
    assert "default-src 'self'" in page["Content-Security-Policy"]
    assert "script-src 'self';" in page["Content-Security-Policy"]


def test_the_token_in_the_page_passes_the_csrf_check(db: None) -> None:
    client = Client(enforce_csrf_checks=True)
    html = client.get("/graphql/", headers=BROWSER).content.decode()
    match = re.search(r'data-csrf-token="([^"]+)"', html)
    assert match is not None
    browser = {"Origin": "http://testserver"}

    refused = client.post(
        "/graphql/",
        {"query": "{ me { username } }"},
        content_type="application/json",
        headers=browser,
    )
    answered = client.post(
        "/graphql/",
        {"query": "{ me { username } }"},
        content_type="application/json",
        headers={**browser, "X-CSRFToken": match.group(1)},
    )

    assert 'data-csrf-cookie="csrftoken"' in html
    assert refused.status_code == 403
    assert answered.status_code == 200
    assert answered.json()["data"] == {"me": None}


def test_the_page_has_no_inline_script(db: None) -> None:
    html = Client().get("/graphql/", headers=BROWSER).content.decode()

    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S)
    assert len(scripts) == len([n for n in GRAPHIQL_ASSETS.values() if ".js" in n])
    assert all(
        "src=" in attributes and not body.strip() for attributes, body in scripts
    )


@pytest.mark.parametrize("debug", [True, False], ids=["debug", "production"])
@pytest.mark.parametrize(
    ("name", "content_type"),
    [
        (
            name,
            "text/css; charset=utf-8"
            if name.endswith(".css")
            else ("text/javascript; charset=utf-8"),
        )
        for name in GRAPHIQL_ASSETS.values()
    ],
)
def test_every_asset_is_served(
    db: None, debug: bool, name: str, content_type: str
) -> None:
    with override_settings(DEBUG=debug):
        response = Client().get(f"/graphql/static/{name}")

    assert response.status_code == 200
    assert response["Content-Type"] == content_type
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response.content == (ASSET_DIR / name).read_bytes()


def test_versioned_assets_are_cached_for_good_and_ours_revalidated(db: None) -> None:
    react = Client().get(f"/graphql/static/{GRAPHIQL_ASSETS['react']}")
    setup = Client().get(f"/graphql/static/{GRAPHIQL_ASSETS['setup']}")

    assert "immutable" in react["Cache-Control"]
    assert setup["Cache-Control"] == "no-cache"


def test_the_licences_are_served_with_the_code(db: None) -> None:
    for name in ("LICENSE-react.txt", "LICENSE-graphiql.txt"):
        response = Client().get(f"/graphql/static/{name}")
        assert response.status_code == 200
        assert b"MIT License" in response.content


@pytest.mark.parametrize(
    "path",
    [
        "/graphql/static/nothing.js",
        "/graphql/static/..%2Fgraphiql.py",
        "/graphql/static/..%2F..%2Fsettings.py",
        "/graphql/static/",
    ],
)
def test_other_names_are_not_found(db: None, path: str) -> None:
    assert Client().get(path).status_code == 404


def test_assets_refuse_writes(db: None) -> None:
    response = Client().post(f"/graphql/static/{GRAPHIQL_ASSETS['react']}")

    assert response.status_code in {403, 405}


def test_the_setup_script_sends_the_csrf_header_with_the_session() -> None:
    setup = (ASSET_DIR / GRAPHIQL_ASSETS["setup"]).read_text()

    assert 'credentials: "same-origin"' in setup
    assert "csrfHeaderName" in setup
    assert "document.cookie" in setup


def test_graphiql_off_serves_no_page_and_no_assets(db: None) -> None:
    with override_settings(GRAPHQL_IDE=False):
        page: Any = Client().get("/graphql/", headers=BROWSER)
        asset = Client().get(f"/graphql/static/{GRAPHIQL_ASSETS['graphiql']}")

    assert (page.status_code, asset.status_code) == (404, 404)
