"""The chat example as a person uses it: two headless Chromium tabs, one room.

uvicorn serves ``examples.chat:app``; playwright drives Debian's
``/usr/bin/chromium`` (no browser download). A message typed into one tab
must appear in the other. ``TRANE_UPDATE_SCREENSHOT=1`` rewrites
``docs/chat.png``, the README's picture, from this very test.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from servers import ROOT, serve


async def test_chat_two_tabs_see_each_others_messages(browser: Any, tmp_path: Path) -> None:
    with serve("uvicorn", "examples.chat:app") as server:
        context = await browser.new_context(viewport={"width": 760, "height": 520})
        context.set_default_timeout(10_000)
        tab_a, tab_b = await context.new_page(), await context.new_page()
        for tab in (tab_a, tab_b):
            await tab.goto(f"{server.url}/rooms/tea-room")
            await tab.wait_for_function(
                "document.getElementById('status').textContent === 'connected'"
            )
        assert await tab_a.title() == "trane chat: tea-room"

        await tab_a.fill("#name", "Ada")
        await tab_a.fill("#text", "Anyone for tea?")
        await tab_a.click("button")
        line = tab_b.locator("#messages li").first
        await line.wait_for()
        assert await line.inner_text() == "AdaAnyone for tea?"
        assert await tab_b.locator("#messages b").first.inner_text() == "Ada"

        await tab_b.fill("#name", "Grace")
        await tab_b.fill("#text", "Yes please <b>& cake</b>")  # shown as text, not HTML
        await tab_b.press("#text", "Enter")
        reply = tab_a.locator("#messages li").nth(1)
        await reply.wait_for()
        assert await reply.inner_text() == "GraceYes please <b>& cake</b>"
        assert await tab_a.locator("#messages li").count() == 2
        assert await tab_b.locator("#messages li").count() == 2

        shot = tmp_path / "chat.png"
        await tab_a.screenshot(path=str(shot))
        assert shot.stat().st_size > 1000
        if os.environ.get("TRANE_UPDATE_SCREENSHOT"):
            shutil.copy(shot, ROOT / "docs" / "chat.png")
        await context.close()
    assert "Traceback" not in server.output(), server.output()
