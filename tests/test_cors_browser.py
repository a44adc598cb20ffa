"""CORS as a browser enforces it: the test that cannot lie.

Two uvicorn servers on two ports are two origins: one serves a page
(``middleware_apps:browser_page``), the other a trane API
(``middleware_apps:browser_api``) whose ``/open`` mount's CORS policy allows
the page's origin with credentials and whose ``/closed`` mount's does not.
Headless Chromium loads the page and ``fetch``es the API with
``credentials: "include"``: a PUT with JSON and a custom header (so a
preflight first), then a GET that must carry the session cookie the PUT set.
The browser lets the page read the open answers and blocks the closed ones.
"""

from __future__ import annotations

from typing import Any

from servers import free_port, serve


async def test_cors_in_a_real_browser(browser: Any) -> None:
    page_port = free_port()
    page_origin = f"http://127.0.0.1:{page_port}"
    with (
        serve("uvicorn", "tests.middleware_apps:browser_page", port=page_port) as page_server,
        serve(
            "uvicorn", "tests.middleware_apps:browser_api", env={"PAGE_ORIGIN": page_origin}
        ) as api,
    ):
        assert page_server.url == page_origin
        assert api.url != page_origin
        context = await browser.new_context()
        context.set_default_timeout(10_000)
        page = await context.new_page()
        await page.goto(page_origin + "/")
        results = await page.evaluate("api => window.run(api)", api.url)
        await context.close()
        log = api.output()
    # Allowed: the preflight passed, the PUT's session cookie was stored and
    # sent back with the GET, and the page could read both answers.
    assert results["openPut"] == {"ok": True, "status": 200, "body": {"user": "ada", "via": "PUT"}}
    assert results["openGet"] == {"ok": True, "status": 200, "body": {"user": "ada", "via": "GET"}}
    # Blocked: another origin's policy. The browser withholds the answer.
    for name in ("closedGet", "closedPut"):
        assert results[name]["ok"] is False, results[name]
        assert "Failed to fetch" in results[name]["error"]
    # The browser asked first (preflight) for each PUT; the closed one was refused.
    assert '"OPTIONS /open/data HTTP/1.1" 200' in log, log
    assert '"OPTIONS /closed/data HTTP/1.1" 400' in log, log
    assert '"PUT /closed/data' not in log, log
    assert "Traceback" not in log, log
