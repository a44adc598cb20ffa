"""trane.Middleware on routers, routes and classes; on_response; session/user/auth.

In-process, with ``trane.testing.TestClient``. The same middleware under real
servers are in test_middleware_servers.py, in a browser in test_cors_browser.py.
"""

from __future__ import annotations

import contextlib
import inspect
import json
from collections.abc import AsyncIterator
from pathlib import Path
from types import MethodType
from typing import Any

import httpx
import pytest
from starlette.authentication import AuthCredentials, AuthenticationBackend, SimpleUser
from starlette.middleware import Middleware as StarletteMiddleware
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import HTTPConnection as StarletteConnection

import trane
from asgi import make_scope, request
from trane import Middleware
from trane.compat import double_to_single_callable
from trane.middleware import _takes_scope_only, build_stack, route_template
from trane.testing import TestClient
from trane.types import ASGI2App, ASGI2Instance, ASGI3App, Message, Receive, Scope, Send

# -- middleware for the tests ---------------------------------------------------

SEEN: list[str] = []
BUILT: list[str] = []


class Tag:
    """ASGI 3: records ``name`` per scope and adds ``x-<name>`` to responses."""

    def __init__(self, app: ASGI3App, name: str, *, value: str = "1") -> None:
        self.app = app
        self.name = name
        self.value = value
        BUILT.append(name)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        SEEN.append(f"{self.name}:{scope['type']}")

        async def tagged(message: Message) -> None:
            if message["type"] == "http.response.start":
                header = (f"x-{self.name}".encode(), self.value.encode())
                message = {**message, "headers": [*message["headers"], header]}
            await send(message)

        await self.app(scope, receive, tagged)


def order(response: httpx.Response) -> list[str]:
    """The ``x-*`` tags, innermost first (the order their layers added them)."""
    return [name[2:] for name, _ in response.headers.multi_items() if name.startswith("x-")]


class LegacyTag:
    """ASGI 2 (Channels 2 style): ``LegacyTag(inner)(scope)`` is an instance."""

    def __init__(self, inner: ASGI2App, name: str) -> None:
        self.inner = inner
        self.name = name

    def __call__(self, scope: Scope) -> ASGI2Instance:
        SEEN.append(f"{self.name}:{scope['type']}")
        return self.inner({**scope, "legacy": self.name})


def legacy_factory(inner: ASGI2App) -> ASGI2App:
    """An ASGI 2 middleware made by a function (its kind is read from what it returns)."""

    def app(scope: Scope) -> ASGI2Instance:
        SEEN.append(f"legacy-factory:{scope['type']}")
        return inner({**scope, "legacy": "factory"})

    return app


def asgi3_factory(app: ASGI3App, name: str) -> ASGI3App:
    """An ASGI 3 middleware made by a function, like Channels' ``AuthMiddlewareStack``."""
    return Tag(app, name)


class SyncCall:
    """ASGI 3 whose ``__call__`` is a plain function returning the coroutine."""

    def __init__(self, app: ASGI3App) -> None:
        self.app = app

    def __call__(self, scope: Scope, receive: Receive, send: Send) -> Any:
        SEEN.append(f"sync-call:{scope['type']}")
        return self.app(scope, receive, send)


class Scoped(trane.Application):
    async def get(self) -> dict[str, Any]:
        return {"legacy": self.scope.get("legacy"), "seen": SEEN}


class Hello(trane.Application):
    async def get(self) -> str:
        return "hello"


class Other(trane.Application):
    async def get(self) -> str:
        return "other"


@pytest.fixture(autouse=True)
def _clear() -> None:
    SEEN.clear()
    BUILT.clear()


# -- Middleware ------------------------------------------------------------------


def test_middleware_records_and_iterates_like_starlettes() -> None:
    layer = Middleware(Tag, "a", value="2")
    assert (layer.cls, layer.args, layer.kwargs) == (Tag, ("a",), {"value": "2"})
    cls, args, kwargs = layer
    assert (cls, args, kwargs) == (Tag, ("a",), {"value": "2"})
    assert repr(layer) == "Middleware(Tag, 'a', value='2')"
    assert BUILT == []  # nothing is built until a router, route or class lists it


def test_middleware_refuses_what_is_not_callable() -> None:
    with pytest.raises(TypeError, match="middleware class or factory, got 3"):
        Middleware(3)  # type: ignore[arg-type]


def test_middleware_list_must_hold_middleware() -> None:
    with pytest.raises(TypeError, match=r"write Middleware\(Tag, \.\.\.\)"):
        trane.Router([], middleware=[Tag])
    with pytest.raises(TypeError, match="a list of Middleware"):
        trane.Router([], middleware=Middleware(Tag, "a"))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="a list of Middleware"):
        trane.Route("/", Hello, middleware=Tag)  # type: ignore[arg-type]


async def test_starlette_middleware_objects_work_too() -> None:
    router = trane.Router([trane.Route("/", Hello)], middleware=[StarletteMiddleware(Tag, "s")])
    async with TestClient(router) as client:
        assert order(await client.get("/")) == ["s"]


def test_a_layer_that_makes_no_app_is_refused() -> None:
    with pytest.raises(TypeError, match="which is not an ASGI app"):
        trane.Router([], middleware=[Middleware(lambda app: None)])


# -- the router's stack ------------------------------------------------------------


async def test_router_middleware_order_first_listed_is_outermost() -> None:
    router = trane.Router(
        [trane.Route("/", Hello)], middleware=[Middleware(Tag, "outer"), Middleware(Tag, "inner")]
    )
    async with TestClient(router) as client:
        response = await client.get("/")
    assert response.text == "hello"
    assert order(response) == ["inner", "outer"]  # the outer one added its header last
    assert SEEN[-2:] == ["outer:http", "inner:http"]


async def test_router_middleware_sees_lifespan_404_405_and_websockets() -> None:
    class Echo(trane.WebSocketApplication):
        async def receive_text(self, text: str) -> None:
            await self.send_text(text)

    router = trane.Router(
        [trane.Route("/", Hello), trane.WebSocketRoute("/ws", Echo)],
        middleware=[Middleware(Tag, "r")],
    )
    async with TestClient(router) as client:
        assert SEEN == ["r:lifespan"]
        missing = await client.get("/nowhere")
        assert (missing.status_code, order(missing)) == (404, ["r"])
        wrong = await client.delete("/")
        assert (wrong.status_code, wrong.headers["allow"], order(wrong)) == (
            405,
            "GET, HEAD, OPTIONS",
            ["r"],
        )
        async with client.websocket_connect("/ws") as ws:
            await ws.send_text("hi")
            assert await ws.receive_text() == "hi"
    assert SEEN == ["r:lifespan", "r:http", "r:http", "r:websocket"]


async def test_router_stack_is_built_once() -> None:
    router = trane.Router([trane.Route("/", Hello)], middleware=[Middleware(Tag, "once")])
    assert BUILT == ["once"]
    async with TestClient(router) as client:
        for _ in range(3):
            assert (await client.get("/")).text == "hello"
    assert BUILT == ["once"]


def test_router_without_middleware_is_a_plain_router() -> None:
    plain = trane.Router([trane.Route("/", Hello)])
    layered = trane.Router([trane.Route("/", Hello)], middleware=[Middleware(Tag, "a")])
    assert type(plain) is trane.Router
    assert type(plain).__call__ is trane.Router.__call__
    assert isinstance(layered, trane.Router)
    assert type(layered) is not trane.Router
    assert type(layered).__name__ == "Router"
    assert layered.middleware[0].cls is Tag
    again = trane.Router([trane.Route("/", Hello)], middleware=[Middleware(Tag, "b")])
    assert type(again) is type(layered)  # one layered class per router class
    keyword_only = inspect.Parameter.KEYWORD_ONLY
    assert inspect.signature(trane.Router).parameters["middleware"].kind is keyword_only


async def test_as_asgi3_enters_the_stack_and_mounts_still_see_the_router() -> None:
    api = trane.Router(
        [trane.Route("/users", Hello, name="users")], middleware=[Middleware(Tag, "api")]
    )
    app = trane.as_asgi3(api)
    assert app._trane_asgi2 is api  # type: ignore[attr-defined]
    assert inspect.iscoroutinefunction(app)  # servers tell ASGI 3 by this
    router = trane.Router([trane.Mount("/api", app, name="api")])
    assert router.routes[0].app is api
    async with TestClient(app) as client:
        response = await client.get("/users")
        assert (response.text, order(response)) == ("hello", ["api"])
    async with TestClient(router) as client:
        response = await client.get("/api/users")
        assert (response.text, order(response)) == ("hello", ["api"])
    assert SEEN == ["api:lifespan", "api:http", "api:http"]  # a mount's lifespan is the parent's


async def test_router_called_as_asgi2_runs_its_stack() -> None:
    router = trane.Router([trane.Route("/", Hello)], middleware=[Middleware(Tag, "asgi2")])
    instance = router(make_scope("GET", "/"))  # as uvicorn's --interface asgi2 calls it
    assert isinstance(instance, MethodType)
    # asgiref's own adapter calls router(scope), then the instance
    result = await request(double_to_single_callable(router), "GET", "/")
    assert (result.status, result.text, result.header("x-asgi2")) == (200, "hello", "1")


def test_a_router_class_made_again_without_middleware_is_plain() -> None:
    layered = trane.Router([trane.Route("/", Hello)], middleware=[Middleware(Tag, "a")])
    again = type(layered)([trane.Route("/", Hello)])
    assert type(again) is trane.Router


async def test_router_subclasses_get_their_middleware_too() -> None:
    class MyRouter(trane.Router):
        pass

    router = MyRouter([trane.Route("/", Hello)], middleware=[Middleware(Tag, "mine")])
    assert isinstance(router, MyRouter)
    # one layered class per router class, whichever class makes it
    again = type(router)([trane.Route("/", Other)], middleware=[Middleware(Tag, "again")])
    assert type(again) is type(router)
    async with TestClient(router) as client:
        assert order(await client.get("/")) == ["mine"]
    async with TestClient(again) as client:
        response = await client.get("/")
        assert (response.text, order(response)) == ("other", ["again"])


async def test_url_for_and_state_work_inside_the_stack() -> None:
    class Link(trane.Application):
        async def get(self) -> str:
            return self.url_for("hello") + " " + str(self.state.ready)

    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[dict[str, Any]]:
        yield {"ready": True}

    router = trane.Router(
        [trane.Route("/", Link), trane.Route("/hello", Hello, name="hello")],
        lifespan=lifespan,
        middleware=[Middleware(Tag, "r")],
    )
    async with TestClient(router) as client:
        assert (await client.get("/")).text == "/hello True"


# -- routes and mounts -------------------------------------------------------------


async def test_route_middleware_applies_to_its_route_only() -> None:
    router = trane.Router(
        [
            trane.Route("/tagged", Hello, middleware=[Middleware(Tag, "route")]),
            trane.Route("/plain", Other),
        ],
        middleware=[Middleware(Tag, "router")],
    )
    async with TestClient(router) as client:
        tagged, plain = await client.get("/tagged"), await client.get("/plain")
        wrong = await client.post("/tagged")
    assert order(tagged) == ["route", "router"]
    assert order(plain) == ["router"]
    assert (wrong.status_code, order(wrong)) == (405, ["route", "router"])  # the route's own 405
    route = router.routes[0]
    assert route.app is Hello
    assert route.serve is not Hello
    assert router.routes[1].serve is Other  # no middleware: nothing in between


async def test_mount_middleware_applies_under_its_prefix_only() -> None:
    api = trane.Router([trane.Route("/users", Hello, name="users")])
    router = trane.Router(
        [
            trane.Mount("/api", api, name="api", middleware=[Middleware(Tag, "api")]),
            trane.Route("/", Other),
        ]
    )

    class Link(trane.Application):
        async def get(self) -> str:
            return self.url_for("api:users")

    api.add(trane.Route("/link", Link))
    async with TestClient(router) as client:
        users, home = await client.get("/api/users"), await client.get("/")
        link = await client.get("/api/link")
        missing = await client.get("/api/nothing")
    assert (users.text, order(users)) == ("hello", ["api"])
    assert (home.text, order(home)) == ("other", [])
    assert (link.text, order(link)) == ("/api/users", ["api"])
    assert (missing.status_code, order(missing)) == (404, ["api"])
    mount = router.routes[0]
    assert isinstance(mount, trane.Mount)
    assert mount.routes == api.routes


async def test_websocket_route_middleware() -> None:
    class Who(trane.WebSocketApplication):
        async def connect(self) -> None:
            await self.accept()
            await self.send_text(str(self.scope.get("legacy")))

    router = trane.Router(
        [trane.WebSocketRoute("/ws", Who, middleware=[Middleware(LegacyTag, "ws")])]
    )
    async with TestClient(router) as client, client.websocket_connect("/ws") as ws:
        assert await ws.receive_text() == "ws"
    assert SEEN == ["ws:websocket"]


# -- legacy (ASGI 2) and other kinds of middleware ------------------------------------


@pytest.mark.parametrize(
    ("layer", "legacy", "seen"),
    [
        (Middleware(LegacyTag, "legacy-class"), "legacy-class", "legacy-class:http"),
        (Middleware(legacy_factory), "factory", "legacy-factory:http"),
        (Middleware(asgi3_factory, "made"), None, "made:http"),
        (Middleware(SyncCall), None, "sync-call:http"),
    ],
)
async def test_every_kind_of_middleware_runs(layer: Middleware, legacy: Any, seen: str) -> None:
    router = trane.Router([trane.Route("/", Scoped)], middleware=[layer])
    async with TestClient(router) as client:
        body = (await client.get("/")).json()
    assert body["legacy"] == legacy
    assert seen in body["seen"]


async def test_legacy_and_modern_middleware_mix_in_order() -> None:
    router = trane.Router(
        [trane.Route("/", Scoped)],
        middleware=[
            Middleware(Tag, "a"),
            Middleware(LegacyTag, "b"),
            Middleware(asgi3_factory, "c"),
            Middleware(legacy_factory),
        ],
    )
    async with TestClient(router) as client:
        response = await client.get("/")
    assert response.json()["seen"][-4:] == ["a:http", "b:http", "c:http", "legacy-factory:http"]
    assert order(response) == ["c", "a"]


async def test_asgi_hints_on_a_middleware_class_decide_its_kind() -> None:
    class HintedLegacy(LegacyTag):
        _asgi_double_callable = True

        def __call__(self, *args: Any) -> Any:  # the signature alone would not tell
            return super().__call__(*args)

    class HintedModern:
        _asgi_single_callable = True

        def __init__(self, app: ASGI3App) -> None:
            self.app = app

        def __call__(self, *args: Any) -> Any:
            return self.app(*args)

    stack = build_stack(
        [
            Middleware(HintedModern),
            Middleware(HintedLegacy, "hinted"),
            Middleware(lambda app: HintedModern(app)),  # a factory's layer: read after
        ],
        _record_scope,
    )
    assert isinstance(stack, HintedModern)
    await stack({"type": "http"}, _never, _drop)
    assert SEEN == ["hinted:http", "hinted"]


async def _record_scope(scope: Scope, receive: Receive, send: Send) -> None:
    SEEN.append(scope.get("legacy", "none"))


async def test_a_factory_of_unclear_signature_is_asked_by_asgiref() -> None:
    def factory(app: Any) -> Any:
        def layer(*args: Any) -> Any:  # a plain function: ASGI 2 by asgiref's rule
            SEEN.append(f"unclear:{len(args)}")
            return app(*args)

        return layer

    stack = build_stack([Middleware(factory)], _record_scope)
    await stack({"type": "http"}, _never, _drop)
    assert SEEN == ["unclear:1", "none"]  # called as ASGI 2; its inner app answered so


async def test_a_factory_returning_a_bound_method_is_read_by_its_signature() -> None:
    class Holder:
        def __init__(self, inner: Any) -> None:
            self.inner = inner

        def app(self, scope: Scope) -> Any:  # ASGI 2, by its one parameter
            return self.inner({**scope, "legacy": "method"})

    stack = build_stack([Middleware(lambda inner: Holder(inner).app)], _record_scope)
    await stack({"type": "http"}, _never, _drop)
    assert SEEN == ["method"]


async def _never() -> Message:
    raise AssertionError("not read")


async def _drop(message: Message) -> None:
    pass


def test_takes_scope_only_reads_signatures() -> None:
    async def modern(scope: Scope, receive: Receive, send: Send) -> None: ...

    def legacy(scope: Scope, extra: int = 0) -> None: ...

    def needs_more(scope: Scope, *, option: int) -> None: ...

    assert _takes_scope_only(modern, 0) is False
    assert _takes_scope_only(legacy, 0) is True
    assert _takes_scope_only(needs_more, 0) is None
    assert _takes_scope_only(lambda a, b: None, 0) is None
    assert _takes_scope_only(max, 0) is None  # a builtin without a signature


# -- per-class middleware ------------------------------------------------------------


class ApiView(trane.Application):
    middleware = [Middleware(Tag, "api")]

    async def get(self) -> str:
        return type(self).__name__


class Users(ApiView):
    pass


class Admin(ApiView):
    middleware = [*ApiView.middleware, Middleware(Tag, "admin")]


class Public(ApiView):
    middleware = []


async def test_class_middleware_is_inherited_and_extended() -> None:
    router = trane.Router(
        [
            trane.Route("/api", ApiView),
            trane.Route("/users", Users),
            trane.Route("/admin", Admin),
            trane.Route("/public", Public),
            trane.Route("/hello", Hello),
        ]
    )
    async with TestClient(router) as client:
        api, users, admin = await client.get("/api"), await client.get("/users"), None
        admin = await client.get("/admin")
        public, hello = await client.get("/public"), await client.get("/hello")
        wrong = await client.delete("/users")
        options = await client.options("/users")
    assert (api.text, order(api)) == ("ApiView", ["api"])
    assert (users.text, order(users)) == ("Users", ["api"])
    assert (admin.text, order(admin)) == ("Admin", ["admin", "api"])
    assert (public.text, order(public)) == ("Public", [])
    assert order(hello) == []
    assert (wrong.status_code, order(wrong)) == (405, ["api"])
    assert (options.status_code, order(options)) == (204, ["api"])


async def test_class_served_on_its_own_goes_through_its_middleware() -> None:
    async with TestClient(trane.as_asgi3(Users)) as client:
        response = await client.get("/")
    assert (response.text, order(response)) == ("Users", ["api"])
    assert SEEN[-1] == "api:http"
    assert "api:lifespan" in SEEN


def test_class_stack_is_built_once_per_class_and_costs_nothing_without() -> None:
    class Base(trane.Application):
        middleware = [Middleware(Tag, "base")]

    class Child(Base):
        pass

    assert BUILT == ["base", "base"]  # one stack each: the innermost makes its own class
    assert vars(Base)["_trane_asgi3"] is not vars(Child)["_trane_asgi3"]
    assert "__new__" in vars(Base)
    assert "__new__" not in vars(Child)
    assert "__new__" not in vars(Hello)
    assert vars(Hello)["_trane_asgi3"] is None
    assert type(Hello({"type": "http"})) is Hello
    instance = Child({"type": "http"})
    assert isinstance(instance, MethodType)  # an ASGI 2 instance: (receive, send)
    assert instance.__func__ is vars(Child)["_trane_asgi3"]
    assert instance.__self__ == {"type": "http"}
    opted_out = Public({"type": "http"})
    assert type(opted_out) is Public
    assert opted_out.scope == {"type": "http"}


def test_class_middleware_is_set_in_the_class_body_only() -> None:
    class Fixed(trane.Application):
        async def get(self) -> str:
            return "fixed"

    with pytest.raises(AttributeError, match=r"set Fixed.middleware in the class body"):
        Fixed.middleware = [Middleware(Tag, "late")]
    with pytest.raises(AttributeError, match="built once, when the class is made"):
        del ApiView.middleware
    assert "middleware" not in vars(Fixed)


def test_class_with_its_own_new_cannot_have_middleware() -> None:
    with pytest.raises(TypeError, match="has middleware, so trane needs its __new__"):

        class Odd(trane.Application):
            middleware = [Middleware(Tag, "odd")]

            def __new__(cls, scope: Scope) -> Odd:
                return super().__new__(cls)


async def test_websocket_class_middleware() -> None:
    class Room(trane.WebSocketApplication):
        middleware = [Middleware(LegacyTag, "room")]

        async def connect(self) -> None:
            await self.accept()
            await self.send_text(str(self.scope.get("legacy")))

    class SubRoom(Room):
        pass

    router = trane.Router([trane.WebSocketRoute("/ws", SubRoom)])
    async with TestClient(router) as client, client.websocket_connect("/ws") as ws:
        assert await ws.receive_text() == "room"


async def test_route_router_and_class_middleware_nest() -> None:
    router = trane.Router(
        [trane.Route("/", Admin, middleware=[Middleware(Tag, "route")])],
        middleware=[Middleware(Tag, "router")],
    )
    async with TestClient(router) as client:
        response = await client.get("/")
    assert order(response) == ["admin", "api", "route", "router"]


# -- on_response ----------------------------------------------------------------------


class Secure(trane.Application):
    """A base that shapes every response of its subclasses."""

    def on_response(self, status: int, headers: trane.MutableHeaders) -> int | None:
        headers["x-frame-options"] = "DENY"
        headers.setdefault("cache-control", "no-store")
        headers["x-status"] = str(status)
        return super().on_response(status, headers)  # the default keeps the status


SHARED = trane.PlainTextResponse("shared", headers={"cache-control": "max-age=60"})


class Shaped(Secure):
    async def get(self, kind: str) -> Any:
        if kind == "text":
            return "text"
        if kind == "dict":
            self.set_cookie("a", "1")
            return {"a": 1}
        if kind == "response":
            return SHARED
        if kind == "stream":
            await self.send("one ")
            await self.finish("two")
            return None
        if kind == "finish":
            await self.finish("finished")
            return None
        if kind == "streaming":
            return trane.StreamingResponse(iter(["a", "b"]), media_type="text/plain")
        if kind == "file":
            return trane.FileResponse(Path(__file__))
        if kind == "events":
            await self.send_event("hi")
            return None
        if kind == "boom":
            raise RuntimeError("boom")
        raise trane.HTTPError(418, "teapot")


async def test_on_response_shapes_every_kind_of_response() -> None:
    router = trane.Router([trane.Route("/{kind}", Shaped)])
    kinds = ["text", "dict", "response", "stream", "finish", "streaming", "file", "events"]
    async with TestClient(router) as client:
        for kind in kinds:
            if kind == "events":
                async with client.stream("GET", "/events") as response:
                    assert await response.aiter_lines().__anext__() == "data: hi"
            else:
                response = await client.get(f"/{kind}")
                assert response.status_code == 200, kind
            assert response.headers["x-frame-options"] == "DENY", kind
            assert response.headers["x-status"] == "200", kind
        for method, status in (("HEAD", 200), ("OPTIONS", 204), ("DELETE", 405)):
            response = await client.request(method, "/text")
            assert response.status_code == status, method
            assert response.headers["x-frame-options"] == "DENY", method
            assert response.headers["x-status"] == str(status), method
        crash, teapot = await client.get("/boom"), await client.get("/teapot")
    assert (crash.status_code, crash.text) == (500, "Internal Server Error")
    assert (crash.headers["x-status"], crash.headers["cache-control"]) == ("500", "no-store")
    assert (teapot.status_code, teapot.headers["x-status"]) == (418, "418")


async def test_on_response_never_changes_a_returned_response() -> None:
    async with TestClient(trane.Router([trane.Route("/{kind}", Shaped)])) as client:
        response = await client.get("/response")
    assert response.headers["cache-control"] == "max-age=60"  # the response's own wins
    assert response.headers["x-frame-options"] == "DENY"
    assert SHARED.headers.get("x-frame-options") is None


async def test_on_response_sees_the_views_cookies_and_headers() -> None:
    async with TestClient(trane.Router([trane.Route("/{kind}", Shaped)])) as client:
        response = await client.get("/dict")
    assert response.json() == {"a": 1}
    assert response.headers["set-cookie"].startswith("a=1")
    assert response.headers["content-type"] == "application/json"


class Renumber(trane.Application):
    def on_response(self, status: int, headers: trane.MutableHeaders) -> int | None:
        if self.query.get("as"):
            return int(self.query["as"])
        return None

    async def prepare(self) -> None:
        self.response_headers["x-prepared"] = "yes"

    async def get(self) -> str:
        return "renumbered"


async def test_on_response_may_change_the_status_and_runs_with_prepare() -> None:
    async with TestClient(trane.Router([trane.Route("/", Renumber)])) as client:
        response = await client.get("/", params={"as": "203"})
        same = await client.get("/")
    assert (response.status_code, response.text, response.headers["x-prepared"]) == (
        203,
        "renumbered",
        "yes",
    )
    assert same.status_code == 200


@pytest.mark.parametrize("bad", [600, True])
async def test_on_response_returning_a_bad_status_is_an_error(bad: Any) -> None:
    class Bad(trane.Application):
        def on_response(self, status: int, headers: trane.MutableHeaders) -> Any:
            return bad if status == 200 else None

        async def get(self) -> str:
            return "x"

    async with TestClient(trane.Router([trane.Route("/", Bad)])) as client:
        response = await client.get("/")
    assert response.status_code == 500  # the error page, shaped by the same hook


class FailsOnStream(trane.Application):
    """on_response raises for the streamed start only: the error page still goes out."""

    def on_response(self, status: int, headers: trane.MutableHeaders) -> int | None:
        if headers.get("x-streaming"):
            raise RuntimeError("no streams here")
        headers["x-shaped"] = "yes"
        return None

    async def get(self) -> None:
        self.response_headers["x-streaming"] = "1"
        await self.send("never")


async def test_on_response_that_raises_before_the_start_leaves_room_for_the_error_page() -> None:
    async with TestClient(trane.Router([trane.Route("/", FailsOnStream)])) as client:
        response = await client.get("/")
    assert (response.status_code, response.headers["x-shaped"]) == (500, "yes")


def test_on_response_costs_classes_that_do_not_override_it_nothing() -> None:
    assert Hello._verbs.shapes_response is False
    assert Hello._direct
    assert Shaped._verbs.shapes_response is True
    assert Shaped._direct == {}


async def test_on_response_assigned_later_is_used() -> None:
    class Later(trane.Application):
        async def get(self) -> str:
            return "later"

    def on_response(self: Any, status: int, headers: trane.MutableHeaders) -> None:
        headers["x-later"] = "1"

    Later.on_response = on_response  # type: ignore[method-assign]
    async with TestClient(trane.Router([trane.Route("/", Later)])) as client:
        assert (await client.get("/")).headers["x-later"] == "1"


# -- session, user, auth ----------------------------------------------------------------


class Token(AuthenticationBackend):
    async def authenticate(self, conn: StarletteConnection) -> Any:
        if conn.headers.get("authorization") != "Bearer s3cret":
            return None
        return AuthCredentials(["authenticated"]), SimpleUser("ada")


class Whoami(trane.Application):
    async def get(self) -> dict[str, Any]:
        self.session["visits"] = self.session.get("visits", 0) + 1
        return {
            "user": self.user.display_name if self.user.is_authenticated else None,
            "scopes": self.auth.scopes,
            "visits": self.session["visits"],
        }


async def test_session_user_and_auth_come_from_the_scope() -> None:
    router = trane.Router(
        [trane.Route("/", Whoami)],
        middleware=[
            Middleware(SessionMiddleware, secret_key="test"),
            Middleware(AuthenticationMiddleware, backend=Token()),
        ],
    )
    async with TestClient(router) as client:
        anonymous = (await client.get("/")).json()
        known = (await client.get("/", headers={"authorization": "Bearer s3cret"})).json()
    assert anonymous == {"user": None, "scopes": [], "visits": 1}
    assert known == {"user": "ada", "scopes": ["authenticated"], "visits": 2}


@pytest.mark.parametrize(
    ("name", "needs"),
    [("session", "SessionMiddleware"), ("user", "AuthenticationMiddleware"), ("auth", "Auth")],
)
def test_missing_middleware_is_named(name: str, needs: str) -> None:
    for cls in (Hello, trane.WebSocketApplication):
        view = cls({"type": "http"})
        with pytest.raises(RuntimeError, match=f"self.{name} needs .*{needs}"):
            getattr(view, name)


# -- real middleware, in-process ----------------------------------------------------------


async def test_cors_and_gzip_around_a_family_of_views() -> None:
    class Api(trane.Application):
        middleware = [
            Middleware(GZipMiddleware, minimum_size=100),
            Middleware(CORSMiddleware, allow_origins=["https://app.example"]),
        ]

    class Items(Api):
        async def get(self) -> dict[str, Any]:
            return {"items": list(range(100))}

    router = trane.Router([trane.Route("/items", Items), trane.Route("/hello", Hello)])
    headers = {"origin": "https://app.example", "accept-encoding": "gzip"}
    async with TestClient(router) as client:
        items = await client.get("/items", headers=headers)
        hello = await client.get("/hello", headers=headers)
    assert items.headers["access-control-allow-origin"] == "https://app.example"
    assert items.headers["content-encoding"] == "gzip"
    assert json.loads(items.content)["items"][-1] == 99  # httpx decoded it
    assert "access-control-allow-origin" not in hello.headers


# -- examples/middleware.py ---------------------------------------------------------------


SECURITY = ("x-content-type-options", "x-frame-options", "referrer-policy")


async def test_example_sessions_log_in_and_out() -> None:
    from examples import middleware as example

    async with TestClient(example.app) as client:
        home = await client.get("/")
        assert 'action="/login"' in home.text
        assert (await client.get("/private")).headers["location"] == "/"
        wrong = await client.post("/login", data={"name": "ada", "password": "nope"})
        assert (wrong.status_code, wrong.text) == (401, "wrong name or password")
        login = await client.post("/login", data={"name": "ada", "password": "lovelace"})
        assert (login.status_code, login.headers["location"]) == (303, "/private")
        assert "session=" in login.headers["set-cookie"]
        private = await client.get("/private")
        assert private.text == "Only for logged-in users: welcome back, ada."
        assert "Hello, ada!" in (await client.get("/")).text
        assert (await client.get("/api/me")).json() == {"user": "ada"}
        await client.post("/logout")
        assert (await client.get("/private")).status_code == 303
        assert (await client.get("/api/me")).json() == {"user": None}


async def test_example_security_headers_request_ids_gzip_and_cors() -> None:
    from examples import middleware as example

    origin = {"origin": example.FRONTEND}
    async with TestClient(example.app) as client:
        responses = [
            await client.get("/"),
            await client.get("/nowhere"),
            await client.post("/nowhere"),
            await client.delete("/private"),
            await client.options("/api/items"),
            await client.get("/api/items", headers={**origin, "accept-encoding": "gzip"}),
        ]
        page = await client.get("/", headers=origin)
        preflight = await client.options(
            "/api/items", headers={**origin, "access-control-request-method": "POST"}
        )
    statuses = [response.status_code for response in responses]
    assert statuses == [200, 404, 404, 405, 204, 200]
    for response in responses:
        assert all(name in response.headers for name in SECURITY), response
        assert len(response.headers["x-request-id"]) == 32
    items = responses[-1]
    assert items.headers["content-encoding"] == "gzip"
    assert items.headers["access-control-allow-origin"] == example.FRONTEND
    assert len(items.json()["items"]) == 50
    assert "access-control-allow-origin" not in page.headers  # CORS is for the API only
    assert preflight.headers["access-control-allow-origin"] == example.FRONTEND


async def test_a_view_may_still_set_its_own_user() -> None:
    class Own(trane.Application):
        user: str

        async def prepare(self) -> None:
            self.user = "set by prepare"

        async def get(self) -> str:
            return self.user

    async with TestClient(trane.Router([trane.Route("/", Own)])) as client:
        assert (await client.get("/")).text == "set by prepare"


# -- route_template ---------------------------------------------------------------------


def test_route_template_names_the_route_mounts_joined() -> None:
    async def static(scope: Scope, receive: Receive, send: Send) -> None: ...

    users = trane.Router([trane.Route("/{id:int}", Hello), trane.Route("/", Other)])
    api = trane.Router([trane.Mount("/users", users), trane.Mount("/files", static)])
    router = trane.Router([trane.Mount("/api/{version}", api), trane.Mount("", static)])

    def template(path: str, method: str = "GET", root_path: str = "") -> str | None:
        scope = {"type": "http", "method": method, "path": path, "root_path": root_path}
        return route_template(router, scope)

    assert template("/api/v1/users/7") == "/api/{version}/users/{id:int}"
    assert template("/api/v1/users") == "/api/{version}/users/"
    assert template("/api/v1/users/7", "DELETE") == "/api/{version}/users/{id:int}"  # a 405
    assert template("/api/v1/files/a/b.txt") == "/api/{version}/files"
    assert template("/elsewhere") == "/"  # the root mount of a foreign app
    assert template("/app/api/v1/users/7", root_path="/app") == "/api/{version}/users/{id:int}"
    assert route_template(users, {"type": "http", "method": "GET", "path": "/x/y"}) is None


async def test_websocket_views_read_the_session_and_user_too() -> None:
    class Greeter(trane.WebSocketApplication):
        async def connect(self) -> None:
            await self.accept()
            name = self.user.display_name if self.user.is_authenticated else "stranger"
            await self.send_json({"user": name, "visits": self.session.get("visits")})

    class Visit(trane.Application):
        async def get(self) -> str:
            self.session["visits"] = self.session.get("visits", 0) + 1
            return "counted"

    router = trane.Router(
        [trane.Route("/visit", Visit), trane.WebSocketRoute("/ws", Greeter)],
        middleware=[
            Middleware(SessionMiddleware, secret_key="test"),
            Middleware(AuthenticationMiddleware, backend=Token()),
        ],
    )
    async with TestClient(router) as client:
        await client.get("/visit")
        await client.get("/visit")
        cookie = {"cookie": f"session={client.cookies['session']}"}
        async with client.websocket_connect("/ws", headers=cookie) as ws:
            assert await ws.receive_json() == {"user": "stranger", "visits": 2}
        token = {**cookie, "authorization": "Bearer s3cret"}
        async with client.websocket_connect("/ws", headers=token) as ws:
            assert await ws.receive_json() == {"user": "ada", "visits": 2}
