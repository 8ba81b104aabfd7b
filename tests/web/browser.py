"""Helpers of the browser tests: Debian's Chromium driven by Playwright, with
every request that leaves the machine blocked and recorded."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

CHROMIUM = Path("/usr/bin/chromium")
AXE = Path(__file__).with_name("axe.min.js")  # axe-core 4.14.1 (MPL-2.0), test-only
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
LOCAL_HOSTS = {"127.0.0.1"}
PASSWORD = "history-demo"


def browser_or_skip() -> Any:
    """Playwright's sync API, or skip; under CI (CI=true) fail instead."""
    reason = None
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        reason = "Playwright is not installed (pip install -e '.[dev]')"
    if reason is None and not CHROMIUM.exists():
        reason = f"no browser at {CHROMIUM} (apt-get install chromium)"
    if reason is not None:
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(f"browser tests cannot run under CI: {reason}")
        pytest.skip(f"browser tests skipped: {reason}")
    return sync_playwright


@contextmanager
def offline_page(browser: Any) -> Iterator[tuple[Any, list[str]]]:
    """A page in a fresh context; requests to any host but loopback are aborted
    and listed (the caller asserts the list stays empty)."""
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    context.add_init_script(path=str(AXE))
    outside: list[str] = []

    def guard(route: Any) -> None:
        url = route.request.url
        if urlsplit(url).hostname in LOCAL_HOSTS or url.startswith(("data:", "blob:")):
            route.continue_()
        else:
            outside.append(url)
            route.abort()

    context.route("**/*", guard)
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        yield page, outside
    finally:
        context.close()


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """What axe-core finds against WCAG 2 A and AA on the page as it is."""
    violations: list[dict[str, Any]] = page.evaluate(
        """async () => (await axe.run(document, {
             runOnly: { type: "tag", values: ["wcag2a", "wcag2aa"] },
           })).violations.map((v) => ({
             id: v.id, help: v.help, nodes: v.nodes.map((n) => n.target.join(" ")),
           }))"""
    )
    return violations


def screenshot(page: Any, name: str) -> None:
    """Save the page to docs/screenshots/NAME.png when SAVE_SCREENSHOTS=1."""
    if os.environ.get("SAVE_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def sign_in(page: Any, url: str, username: str) -> None:
    """Sign in through the page's form and wait for the objects screen."""
    page.goto(f"{url}/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_text(f"Signed in as {username}", exact=True).wait_for()
