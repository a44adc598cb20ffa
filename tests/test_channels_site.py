"""trane views inside a Django Channels project, served by daphne.

``examples/channels_site``: ProtocolTypeRouter, URLRouter and
AuthMiddlewareStack in front of trane classes. Checked from outside, with
httpx for HTTP and a websockets client for the WebSocket rooms, whose groups
run on the layer configured in Django's CHANNEL_LAYERS.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus

from servers import Server, serve


@pytest.fixture(scope="module")
def site() -> Iterator[Server]:
    with serve("daphne", "examples.channels_site.asgi:application") as server:
        yield server


def login(site: Server, name: str) -> str:
    """Log in over HTTP; the session cookie Channels' middleware set."""
    response = httpx.post(f"{site.url}/login/{name}", timeout=5)
    assert response.status_code == 200, response.text
    assert response.json() == {"logged_in": name}
    return response.cookies["sessionid"]


async def recv(ws: ClientConnection) -> str:
    return str(await asyncio.wait_for(ws.recv(), 5))


def test_channels_site_http_view_sees_anonymous_user_and_url_kwargs(site: Server) -> None:
    response = httpx.get(f"{site.url}/rooms/blue/whoami", timeout=5)
    assert response.status_code == 200
    assert response.json() == {
        "user": "AnonymousUser",
        "authenticated": False,
        "room": "blue",
        "layer": "channels.layers",  # Channels' configured layer, found by trane
    }


def test_channels_site_login_puts_the_user_on_the_scope(site: Server) -> None:
    cookie = login(site, "ada")
    response = httpx.get(f"{site.url}/rooms/red/whoami", cookies={"sessionid": cookie}, timeout=5)
    assert response.json()["user"] == "ada"
    assert response.json()["authenticated"] is True
    assert httpx.post(f"{site.url}/login/mallory", timeout=5).status_code == 404
    assert httpx.get(f"{site.url}/nowhere", timeout=5).status_code == 404


async def test_channels_site_websocket_denies_anonymous(site: Server) -> None:
    with pytest.raises(InvalidStatus) as info:
        async with connect(f"{site.ws_url}/ws/rooms/blue", open_timeout=5):
            pass
    assert info.value.response.status_code == 403


async def test_channels_site_websocket_rooms_with_users(site: Server) -> None:
    ada, grace = login(site, "ada"), login(site, "grace")
    url = f"{site.ws_url}/ws/rooms/green"
    async with (
        connect(url, additional_headers={"Cookie": f"sessionid={ada}"}, open_timeout=5) as one,
        connect(url, additional_headers={"Cookie": f"sessionid={grace}"}, open_timeout=5) as two,
    ):
        assert await recv(one) == "hello ada, welcome to green"
        assert await recv(two) == "hello grace, welcome to green"
        await one.send("hi grace")
        assert await recv(two) == "ada: hi grace"
        assert await recv(one) == "ada: hi grace"
        await two.send("hi ada")
        assert await recv(one) == "grace: hi ada"
    assert "Traceback" not in site.output(), site.output()


def test_channels_site_trane_router_under_a_url_router_prefix(site: Server) -> None:
    # Before: 404 (the Router routed on the whole path, not on path_remaining).
    response = httpx.get(f"{site.url}/api/items/3", timeout=5)
    assert response.status_code == 200, response.text
    assert response.json() == {"item": 3, "url": "/api/items/3", "user": "AnonymousUser"}
    assert httpx.get(f"{site.url}/api/items/x", timeout=5).status_code == 404
