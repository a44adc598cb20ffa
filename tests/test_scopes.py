"""Scope types an app does not serve: lifespan completes, WebSocket closes, others raise."""

from __future__ import annotations

import pytest

import trane
from asgi import recorder
from trane.scopes import serve_other_scope


class Page(trane.Application):
    async def get(self) -> str:
        return "page"


@pytest.mark.parametrize(
    "app",
    [Page, trane.StaticFiles(directory=".")],
    ids=["application", "staticfiles"],
)
async def test_http_only_apps_raise_on_an_unknown_scope_type(app: object) -> None:
    sent, receive, send = recorder()
    instance = trane.as_asgi2(app)({"type": "webtransport"})
    with pytest.raises(ValueError, match="unknown ASGI scope type 'webtransport'"):
        await instance(receive, send)
    assert sent == []


async def test_serve_other_scope_closes_a_websocket_before_accept() -> None:
    sent, receive, send = recorder()
    await serve_other_scope("websocket", receive, send)
    assert sent == [{"type": "websocket.close", "code": 1000}]
