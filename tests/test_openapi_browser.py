"""The docs page of examples/typed.py as a person sees it, in headless Chromium.

uvicorn serves ``examples.typed:app``; playwright drives Debian's
``/usr/bin/chromium`` (no browser download), as tests/test_chat_browser.py
does. Swagger UI must render every operation of the document, with its
summary, from files the app serves itself: the page asks no other host.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from servers import serve


async def test_docs_page_renders_every_operation(browser: Any, tmp_path: Path) -> None:
    with serve("uvicorn", "examples.typed:app") as server:
        page = await browser.new_page(viewport={"width": 1100, "height": 1400})
        page.set_default_timeout(20_000)
        hosts: set[str] = set()
        page.on("request", lambda req: hosts.add(urlsplit(req.url).netloc))
        await page.goto(f"{server.url}/docs/")
        await page.wait_for_selector(".opblock")
        assert await page.title() == "Catalogue"
        blocks = page.locator(".opblock")
        assert await blocks.count() == 5
        labels = [
            " ".join((await blocks.nth(i).locator(".opblock-summary").inner_text()).split())
            for i in range(5)
        ]
        for method, path, summary in [
            ("GET", "/items", "List items, a page at a time."),
            ("POST", "/items", "Add an item."),
            ("GET", "/items/{item_id}", "Read an item."),
            ("PUT", "/items/{item_id}", "Replace an item."),
            ("DELETE", "/items/{item_id}", "Remove an item."),
        ]:
            assert any(
                label.startswith(method) and path in label and summary in label for label in labels
            ), labels
        await page.locator(".opblock-post .opblock-summary").click()
        body = page.locator(".opblock-post .opblock-body")
        await body.get_by_text("Request body").wait_for()
        await page.get_by_text("NewItem").first.wait_for()
        await page.screenshot(path=str(tmp_path / "docs.png"))
        assert hosts == {f"127.0.0.1:{server.port}"}, hosts
