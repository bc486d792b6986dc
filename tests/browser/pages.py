"""What the browser tests share: the phone viewport and logging in through the real form."""

from __future__ import annotations

from typing import Any

from tests.conftest import PASSWORD

PHONE = {"width": 390, "height": 844}
DESK = {"width": 1280, "height": 860}


def log_in(
    browser: Any, base: str, username: str, *, viewport: Any = None, lang: str = "zh-CN"
) -> Any:
    """A new browser context logged in as `username`, on its home page."""
    ctx = browser.new_context(viewport=viewport or DESK, locale=lang)
    page = ctx.new_page()
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit].primary")
    page.wait_for_url(f"{base}/accounts/home/")
    return page
