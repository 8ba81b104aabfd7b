"""End to end: the version-history page in headless Chromium against uvicorn
on loopback. Any request that leaves the machine fails the test."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.web.browser import (
    PASSWORD,
    axe_violations,
    browser_or_skip,
    offline_page,
    screenshot,
    sign_in,
)

expect: Any
try:
    from playwright.sync_api import expect
except ImportError:  # the `browser` fixture skips, or fails under CI, saying why
    expect = None


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    sync_playwright = browser_or_skip()
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=["--no-sandbox"]
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    with offline_page(browser) as (page, outside):
        yield page
        assert outside == [], f"requests left the machine: {outside}"


def api(url: str, username: str, query: str, variables: dict[str, Any]) -> Any:
    """Run one GraphQL operation as USERNAME over a session, as a browser would."""
    with httpx.Client(base_url=url) as client:
        client.get("/")
        token = client.cookies["csrftoken"]
        headers = {"X-CSRFToken": token}
        login = (
            "mutation($u: String!, $p: String!) "
            "{ login(username: $u, password: $p) { id } }"
        )
        client.post(
            "/graphql/",
            json={"query": login, "variables": {"u": username, "p": PASSWORD}},
            headers=headers,
        )
        headers["X-CSRFToken"] = client.cookies["csrftoken"]
        answer = client.post(
            "/graphql/", json={"query": query, "variables": variables}, headers=headers
        )
        return answer.json()


def open_timeline(page: Any, name: str) -> None:
    """From the objects screen, search for NAME and open its timeline."""
    page.get_by_role("link", name="Objects").click()
    expect(page.locator("main")).to_contain_text("found.")
    page.get_by_label("Name contains").fill(name)
    page.get_by_role("button", name="Search").click()
    expect(page.locator("main")).to_contain_text("1 found.")
    page.get_by_role("link", name=name, exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(name)


def version(page: Any, history_id: int) -> Any:
    return page.locator(f'article[data-history-id="{history_id}"]')


def form_panel(page: Any, heading: str) -> Any:
    """The panel whose heading matches the regular expression HEADING."""
    return page.locator(
        "section.panel", has=page.get_by_role("heading", name=re.compile(heading))
    )


def versions(page: Any) -> Any:
    return page.locator("article.version")


def test_wrong_password_is_said_plainly(page: Any, web_server: str) -> None:
    page.goto(f"{web_server}/")
    screenshot(page, "sign-in")
    expect(page.get_by_role("button", name="Sign out")).to_be_hidden()
    expect(page.get_by_role("link", name="Audit log")).to_be_hidden()
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("INVALID_CREDENTIALS")
    expect(page.get_by_role("alert")).to_contain_text("Wrong username or password.")


def test_find_a_product_and_read_its_diffs(page: Any, web_server: str) -> None:
    sign_in(page, web_server, "alice")
    screenshot(page, "objects")
    open_timeline(page, "Desk lamp")
    newest = versions(page).first
    expect(newest).to_contain_text("Tagged for the LED range")
    expect(newest.locator('dd[data-field="tags"] ins')).to_have_text("led")
    sale = page.locator("article", has_text="Spring sale")
    expect(sale.locator('dd[data-field="price"]')).to_have_text("29.90 → 24.90 (-5.00)")
    expect(sale).to_contain_text("By bob")
    bulb = page.locator("article", has_text="Supplier changed the bulb")
    expect(bulb.locator('dd[data-field="description"] ins')).to_contain_text("warm LED")
    expect(bulb.locator('dd[data-field="quantity"]')).to_contain_text("(-5)")
    # Dates are shown in the viewer's time zone, with the exact moment kept.
    stamp = newest.locator("time").first
    expect(stamp).to_have_attribute("datetime", re.compile(r"^\d{4}-\d\d-\d\dT"))
    screenshot(page, "timeline")


def test_compare_two_versions(page: Any, web_server: str) -> None:
    sign_in(page, web_server, "alice")
    open_timeline(page, "Desk lamp")
    compare = page.get_by_role("button", name="Compare selected versions")
    expect(compare).to_be_disabled()
    page.locator("article", has_text="New in the catalog").get_by_role(
        "checkbox"
    ).check()
    page.locator("article", has_text="Tagged for the LED range").get_by_role(
        "checkbox"
    ).check()
    compare.click()
    panel = form_panel(page, "→ version")
    expect(panel.locator('dd[data-field="price"]')).to_have_text(
        "29.90 → 24.90 (-5.00)"
    )
    expect(panel.locator('dd[data-field="tags"] ins')).to_have_text("led")
    expect(panel.locator('dd[data-field="description"] ins')).to_contain_text(
        "warm LED"
    )
    screenshot(page, "compare")


def test_load_more_pages_the_timeline(page: Any, web_server: str) -> None:
    sign_in(page, web_server, "alice")
    open_timeline(page, "Laptop 14 Pro")
    expect(versions(page)).to_have_count(10)
    page.get_by_role("button", name="Load more").click()
    expect(page.locator("article", has_text="New in the catalog")).to_be_visible()
    expect(page.get_by_role("button", name="Load more")).to_be_hidden()
    assert versions(page).count() >= 13


def test_revert_some_fields_after_a_preview(page: Any, web_server: str) -> None:
    sign_in(page, web_server, "bob")
    open_timeline(page, "Desk lamp")
    created = page.locator("article", has_text="New in the catalog")
    created.get_by_role("button", name=re.compile("^Revert to version")).click()
    panel = form_panel(page, "^Revert to version")
    panel.get_by_role("checkbox", name="Price").wait_for()
    for field in ("Description", "Quantity", "Tags"):
        panel.get_by_role("checkbox", name=field).uncheck()
    panel.get_by_role("button", name="Preview").click()
    expect(panel.get_by_role("alert")).to_contain_text("Give a reason")
    panel.get_by_label("Reason (required)").fill("Sale is over")
    panel.get_by_role("button", name="Preview").click()
    expect(panel.locator('dd[data-field="price"]')).to_have_text(
        "24.90 → 29.90 (+5.00)"
    )
    expect(panel.locator("dd")).to_have_count(1)
    screenshot(page, "revert-preview")
    panel.get_by_role("button", name="Confirm revert").click()
    newest = versions(page).first
    expect(newest).to_contain_text("Why: Sale is over")
    expect(newest.locator(".reverted")).to_contain_text("Reverted to version")
    expect(newest.locator('dd[data-field="price"]')).to_have_text(
        "24.90 → 29.90 (+5.00)"
    )
    expect(page.get_by_role("status")).to_contain_text("Reverted")


def test_a_concurrent_change_makes_the_revert_stale(page: Any, web_server: str) -> None:
    sign_in(page, web_server, "alice")
    open_timeline(page, "Laptop 14 Pro")
    product_id = api(
        web_server,
        "alice",
        'query { products(filters: { name: { exact: "Laptop 14 Pro" } }) '
        "{ edges { node { id } } } }",
        {},
    )["data"]["products"]["edges"][0]["node"]["id"]
    changed = api(
        web_server,
        "bob",
        "mutation($input: UpdateProductInput!) "
        "{ updateProduct(input: $input) { __typename } }",
        {"input": {"id": product_id, "quantity": 999, "reason": "Meanwhile"}},
    )
    assert changed["data"] == {"updateProduct": {"__typename": "Product"}}
    versions(page).first.get_by_role(
        "button", name=re.compile("^Revert to version")
    ).click()
    panel = form_panel(page, "^Revert to version")
    panel.get_by_label("Reason (required)").fill("Undo the stock count")
    panel.get_by_role("button", name="Preview").click()
    expect(panel.get_by_role("alert")).to_contain_text("STALE")
    expect(panel.get_by_role("alert")).to_contain_text("nothing was written")


def test_restore_a_deleted_product(page: Any, web_server: str) -> None:
    sign_in(page, web_server, "alice")
    page.get_by_role("radio", name="Deleted").check()
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name="Mug", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Mug")
    expect(page.locator("main > p").first).to_contain_text("Deleted")
    page.locator("article", has_text="Sold out").get_by_role(
        "button", name=re.compile("^Revert to version")
    ).click()
    panel = form_panel(page, "^Restore from version")
    panel.get_by_label("Reason (required)").fill("Back in the range")
    panel.get_by_role("button", name="Preview").click()
    panel.get_by_role("button", name="Confirm revert").click()
    newest = versions(page).first
    expect(newest).to_contain_text("Why: Back in the range")
    expect(newest.locator(".reverted")).to_be_visible()
    expect(page.locator("main > p").first).not_to_contain_text("Deleted")


def test_audit_log_filters_and_changeset_revert(page: Any, web_server: str) -> None:
    sign_in(page, web_server, "alice")
    page.get_by_role("link", name="Audit log").click()
    page.get_by_label("Model").select_option("CATEGORY")
    page.get_by_label("Text").fill("Broader")
    page.get_by_role("button", name="Filter").click()
    rows = page.locator("table.log tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Broader section name")
    screenshot(page, "audit-log")
    rows.first.get_by_role("link", name="open").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Changeset")
    expect(page.locator("main")).to_contain_text("Why: Broader section name")
    page.get_by_label("Reason (required)").fill("Keep the old section name")
    page.get_by_role("button", name="Preview").click()
    preview = page.locator("form.panel")
    expect(preview.locator('dd[data-field="name"]')).to_have_text("Lighting → Lamps")
    screenshot(page, "changeset")
    page.get_by_role("button", name="Confirm changeset revert").click()
    expect(page.locator("main")).to_contain_text("Why: Keep the old section name")
    expect(page.locator(".reverted").first).to_be_visible()


def test_a_reader_without_history_permission_is_told(
    page: Any, web_server: str
) -> None:
    sign_in(page, web_server, "carol")
    page.get_by_role("link", name="Audit log").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("PERMISSION_DENIED")
    expect(alert).to_contain_text("You are signed in as carol but may not do this")


def test_the_main_screens_pass_axe(page: Any, web_server: str) -> None:
    page.goto(f"{web_server}/")
    page.get_by_label("Username").wait_for()
    screens = {"sign in": axe_violations(page)}
    sign_in(page, web_server, "alice")
    screens["objects"] = axe_violations(page)
    open_timeline(page, "Desk lamp")
    page.locator("article", has_text="New in the catalog").get_by_role(
        "button", name=re.compile("^Revert")
    ).click()
    page.locator("section.panel fieldset").locator("label, p").first.wait_for()
    screens["timeline with revert form"] = axe_violations(page)
    page.get_by_role("link", name="Audit log").click()
    page.locator("table.log tbody tr").first.wait_for()
    screens["audit log"] = axe_violations(page)
    page.locator("table.log tbody tr").first.get_by_role("link", name="open").click()
    page.get_by_role("button", name="Preview").wait_for()
    screens["changeset"] = axe_violations(page)
    assert {name: found for name, found in screens.items() if found} == {}


def test_graphiql_link_is_on_every_screen(page: Any, web_server: str) -> None:
    page.goto(f"{web_server}/")
    expect(page.get_by_role("link", name="GraphiQL")).to_have_attribute(
        "href", "/graphql/"
    )


def test_graphiql_loads_offline_and_runs_a_query(page: Any, web_server: str) -> None:
    """GraphiQL's scripts are served by the app: with every other host blocked it
    loads, signed in through the page's session, and answers a query."""
    sign_in(page, web_server, "alice")
    page.goto(f"{web_server}/graphql/")
    editor = page.locator(".graphiql-query-editor .CodeMirror")
    editor.wait_for()
    page.evaluate(
        """() => document.querySelector(".graphiql-query-editor .CodeMirror")
              .CodeMirror.setValue("{ me { username } }")"""
    )
    page.locator(".graphiql-execute-button").click()
    expect(page.locator(".graphiql-response")).to_contain_text('"username": "alice"')
