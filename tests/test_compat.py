"""as_asgi3 / as_asgi2: trane objects and legacy apps on ASGI 3 servers, and back."""

from __future__ import annotations

import inspect

import pytest

import trane
from asgi import make_scope, recorder, request
from trane.compat import is_double_callable
from trane.types import Message, Receive, Scope, Send


class Hello(trane.Application):
    """Says hello."""

    async def get(self) -> str:
        return "hello"


class Legacy:
    """A 2018-style ASGI 2 app."""

    def __init__(self, scope: Scope) -> None:
        self.scope = scope

    async def __call__(self, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"legacy " + self.scope["path"].encode()})


async def modern(scope: Scope, receive: Receive, send: Send) -> None:
    """An ASGI 3 app."""
    body = f"modern {scope['root_path']} {scope['path']}".encode()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body})


class ModernInstance:
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await modern(scope, receive, send)


router = trane.Router(
    [
        trane.Route("/hello", Hello),
        trane.Mount("/modern", trane.as_asgi2(modern)),
        trane.Mount("/legacy", Legacy),
    ]
)


async def _call_with_keywords(app: trane.types.ASGI3App, path: str) -> list[Message]:
    sent, receive, send = recorder()
    # daphne's Server calls application(scope=..., receive=..., send=...).
    await app(scope=make_scope("GET", path), receive=receive, send=send)  # type: ignore[call-arg]
    return sent


# -- as_asgi3 ----------------------------------------------------------------


@pytest.mark.parametrize("app", [Hello, Legacy, router], ids=["view", "legacy", "router"])
def test_as_asgi3_makes_a_single_callable(app: object) -> None:
    asgi3 = trane.as_asgi3(app)
    assert inspect.iscoroutinefunction(asgi3)
    assert getattr(asgi3, "_asgi_single_callable", False) is True
    assert not is_double_callable(asgi3)
    assert list(inspect.signature(asgi3).parameters) == ["scope", "receive", "send"]


def test_as_asgi3_keeps_name_and_doc() -> None:
    assert (trane.as_asgi3(Hello).__name__, trane.as_asgi3(Hello).__doc__) == (
        "Hello",
        "Says hello.",
    )
    assert trane.as_asgi3(Legacy).__qualname__ == "Legacy"
    wrapped_router = trane.as_asgi3(router)
    assert wrapped_router.__name__ == "Router"
    assert wrapped_router.__doc__ == trane.Router.__doc__


@pytest.mark.parametrize("app", [modern, ModernInstance()], ids=["function", "instance"])
def test_as_asgi3_returns_asgi3_apps_unchanged(app: trane.types.ASGI3App) -> None:
    assert trane.as_asgi3(app) is app


def test_as_asgi3_is_idempotent() -> None:
    once = trane.as_asgi3(Hello)
    assert trane.as_asgi3(once) is once


def test_as_asgi3_makes_a_fresh_wrapper_each_time() -> None:
    assert trane.as_asgi3(Hello) is not trane.as_asgi3(Hello)
    assert not hasattr(Hello, "_asgi_single_callable")  # the class itself is untouched


@pytest.mark.parametrize(
    ("app", "path", "body"),
    [(Hello, "/", b"hello"), (Legacy, "/x", b"legacy /x"), (router, "/hello", b"hello")],
    ids=["view", "legacy", "router"],
)
async def test_as_asgi3_accepts_keyword_arguments(app: object, path: str, body: bytes) -> None:
    sent = await _call_with_keywords(trane.as_asgi3(app), path)
    assert [m["type"] for m in sent] == ["http.response.start", "http.response.body"]
    assert sent[0]["status"] == 200
    assert sent[1]["body"] == body


async def test_as_asgi3_positional_call() -> None:
    result = await request(trane.as_asgi3(Legacy), "GET", "/p")
    assert (result.status, result.body) == (200, b"legacy /p")


# -- as_asgi2 ----------------------------------------------------------------


def test_as_asgi2_makes_a_double_callable() -> None:
    asgi2 = trane.as_asgi2(modern)
    assert is_double_callable(asgi2)
    assert getattr(asgi2, "_asgi_double_callable", False) is True
    assert getattr(asgi2, "__name__", None) == "modern"
    assert asgi2.__doc__ == "An ASGI 3 app."
    assert repr(asgi2).startswith("as_asgi2(<function modern")


@pytest.mark.parametrize("app", [Hello, Legacy, router], ids=["view", "legacy", "router"])
def test_as_asgi2_returns_asgi2_apps_unchanged(app: object) -> None:
    assert trane.as_asgi2(app) is app


async def test_as_asgi2_instance_runs_the_asgi3_app() -> None:
    result = await request(trane.as_asgi2(ModernInstance()), "GET", "/m")
    assert (result.status, result.body) == (200, b"modern  /m")


async def test_as_asgi2_round_trip() -> None:
    back = trane.as_asgi2(trane.as_asgi3(Legacy))
    assert is_double_callable(back)
    result = await request(back, "GET", "/rt")
    assert result.body == b"legacy /rt"


async def test_as_asgi2_app_mounted_in_a_router() -> None:
    result = await request(router, "GET", "/modern/a")
    assert (result.status, result.body) == (200, b"modern /modern /modern/a")
    legacy = await request(router, "GET", "/legacy/b")
    assert legacy.body == b"legacy /legacy/b"


def test_mount_unwraps_as_asgi3_of_a_double_callable() -> None:
    assert trane.Mount("/r", trane.as_asgi3(router)).app is router
    assert trane.Mount("/l", trane.as_asgi3(Legacy)).app is Legacy
    assert trane.Mount("/m", modern).app is not modern  # a foreign ASGI 3 app gets an adapter


def test_as_asgi2_signature_is_the_asgi2_one() -> None:
    assert list(inspect.signature(trane.as_asgi2(modern)).parameters) == ["scope"]
