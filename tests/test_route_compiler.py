"""The router's compiled fast path agrees with its complete search."""

from __future__ import annotations

import random
import re
from typing import Any

import httpx
import pytest

import trane
from asgi import make_scope
from servers import serve
from trane.routing import Router
from trane.types import Message, Scope

LITERALS = ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "users", "0"]
PARAMS = ["{s%d}", "{n%d:int}", "{f%d:float}"]
TAILS = ["{rest%d:path}", "{stem%d}.{ext%d}"]


class AnyMethod:
    """A double-callable without handlers: its route serves every method."""

    _asgi_double_callable = True

    def __init__(self, scope: Any) -> None:
        self.scope = scope


def view_of(router: Router, scope: Scope) -> type[Any]:
    """The class of what the router hands out for ``scope``."""
    return type(router(scope))


def routed(router: Router, scope: Scope) -> tuple[type[Any], Any]:
    """The class the router hands out for ``scope``, and the path parameters it gets.

    The router adds them to a copy of ``scope`` (ASGI: the caller's is left alone).
    """
    view: Any = router(scope)
    return type(view), view.scope.get("path_params")


def random_view(rng: random.Random, i: int) -> type:
    """A distinct class per route, serving a random set of methods."""
    if rng.random() < 0.2:
        return type(f"Any{i}", (AnyMethod,), {})

    async def handler(self: trane.Application, **params: Any) -> str:
        return type(self).__name__

    methods = rng.sample(["get", "post", "delete"], rng.randint(1, 2))
    return type(f"View{i}", (trane.Application,), dict.fromkeys(methods, handler))


def random_template(rng: random.Random, i: int) -> str:
    segments = []
    for depth in range(rng.randint(0, 4)):
        roll = rng.random()
        if roll < 0.6:
            segments.append(rng.choice(LITERALS))
        else:
            segments.append(rng.choice(PARAMS) % (depth,))
    if rng.random() < 0.15:
        tail = rng.choice(TAILS)
        segments.append(tail % ((i,) * tail.count("%d")))
    return "/" + "/".join(segments) + ("/" if rng.random() < 0.1 else "")


def random_path(rng: random.Random, router: Router) -> str:
    """A path made up of likely pieces, or half the time one a route was made for."""
    if rng.random() < 0.5:
        values = {"": ["7", "zz", "b"], "int": ["7", "0", "zz"], "float": ["1.5", "7"]}
        values |= {"path": ["x/y", "a"]}
        template = rng.choice(router.routes).path
        return re.sub(r"{\w+:?(\w*)}", lambda m: rng.choice(values[m.group(1)]), template)
    pieces = [*LITERALS, "7", "-3", "1.5", "zz", "", "x.y", "b%2F"]
    path = "/" + "/".join(rng.choice(pieces) for _ in range(rng.randint(0, 5)))
    return rng.choice([path, path, path, path + "/", path.lstrip("/")])


def random_router(rng: random.Random) -> Router:
    router = trane.Router()
    for i in range(rng.randint(1, 40)):
        template = random_template(rng, i)
        roll = rng.random()
        if roll < 0.1:
            router.add(trane.WebSocketRoute(template, trane.WebSocketApplication))
        elif roll < 0.25 and ":path}" not in template:  # a Mount's prefix takes no path parameter
            router.add(trane.Mount(template, type(f"Mounted{i}", (AnyMethod,), {})))
        else:
            router.add(trane.Route(template, random_view(rng, i)))
    return router


def test_the_fast_path_picks_what_the_complete_search_picks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rng = random.Random(20261122)
    searched = fast = 0
    resolve = Router.resolve

    def counting(self: Router, path: str, scope: Any) -> Any:
        nonlocal searched
        searched += 1
        return resolve(self, path, scope)

    monkeypatch.setattr(Router, "resolve", counting)
    mounted_fast = 0
    for _ in range(300):
        router = random_router(rng)
        for _ in range(40):
            path, method = random_path(rng, router), rng.choice(["GET", "POST", "DELETE", "HEAD"])
            expected = resolve(router, path or "/", make_scope(method, path))
            before = searched
            scope = make_scope(method, path)
            instance = router(scope)
            fast += searched == before
            if expected is None:
                assert type(instance).__name__ == "_NotFound", (path, router._walk_source)
                continue
            route, params, remainder = expected
            assert type(instance) is route.app, (method, path, router.routes)
            served: Scope = instance.scope  # type: ignore[attr-defined]
            assert served["path_params"] == params
            if isinstance(route, trane.Mount):  # the prefix it matched moves to root_path
                matched = path[: len(path) - len(remainder)]
                assert served["root_path"] == matched, (path, router._walk_source)
                assert served["trane.root_path"] == ""
                mounted_fast += searched == before
    # Both ways were taken, often: the comparison above is not one-sided.
    assert fast > 2000, (fast, searched)
    assert searched > 2000, (fast, searched)
    assert mounted_fast > 200, mounted_fast


def test_many_static_children_share_compiled_code() -> None:
    router = trane.Router([trane.Route(f"/route{i}/{{name}}", AnyMethod) for i in range(1000)])
    assert routed(router, make_scope("GET", "/route999/x")) == (AnyMethod, {"name": "x"})
    # One function for the root, one source shared by its 1000 children.
    assert router._walk_source.count("def walk(") == 2
    assert "D1.get(p1)" in router._walk_source or "D0.get(p1)" in router._walk_source


def test_a_node_with_many_methods_looks_them_up_in_a_dict() -> None:
    class Many(AnyMethod):
        @classmethod
        def allowed_methods(cls) -> frozenset[str]:
            return frozenset(
                ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "MKCOL", "COPY"]
            )

    router = trane.Router([trane.Route("/m/{x}", Many), trane.Route("/m/{x}", AnyMethod)])
    assert routed(router, make_scope("MKCOL", "/m/1")) == (Many, {"x": "1"})
    assert routed(router, make_scope("BREW", "/m/2")) == (AnyMethod, {"x": "2"})
    assert ".get(method, " in router._walk_source


def test_routes_added_after_a_request_are_compiled_in() -> None:
    router = trane.Router([trane.Route("/a/{x}", AnyMethod)])
    assert view_of(router, make_scope("GET", "/a/1")) is AnyMethod
    assert view_of(router, make_scope("GET", "/b/1")).__name__ == "_NotFound"

    class Later(AnyMethod):
        pass

    router.add(trane.Route("/b/{x}", Later))
    assert view_of(router, make_scope("GET", "/b/1")) is Later
    assert "'b'" in router._walk_source


def test_a_converter_refusing_a_value_falls_back_to_the_next_parameter() -> None:
    class Even:
        regex = "[0-9]+"

        def convert(self, value: str) -> int:
            if int(value) % 2:
                raise ValueError("odd")
            return int(value)

        def to_string(self, value: int) -> str:
            return str(value)

    trane.register_converter("even_only", Even())

    class EvenView(AnyMethod):
        pass

    router = trane.Router(
        [trane.Route("/n/{v:even_only}", EvenView), trane.Route("/n/{v}", AnyMethod)]
    )
    even, odd = make_scope("GET", "/n/4"), make_scope("GET", "/n/3")
    assert routed(router, even) == (EvenView, {"v": 4})
    assert routed(router, odd) == (AnyMethod, {"v": "3"})


@pytest.mark.parametrize("server", ["uvicorn", "daphne"])
def test_a_wide_route_table_under_a_real_server(server: str) -> None:
    with (
        serve(server, "tests.route_table_app:router") as srv,
        httpx.Client(base_url=srv.url) as client,
    ):
        hello = client.get("/route199/world")
        item = client.get("/items/42")
        deleted = client.delete("/items/7")
        by_key = client.get("/items/x")  # the int converter refuses: the next route
        short = client.get("/items")
        unknown = client.get("/route200/world")
        refused = client.post("/route3/x")
    assert (hello.status_code, hello.text) == (200, "Hello, world!")
    assert (item.status_code, item.json()) == (200, {"id": 42})
    assert (deleted.status_code, deleted.json()) == (200, {"deleted": 7})
    assert (by_key.status_code, by_key.json()) == (200, {"key": "x"})
    assert (short.status_code, unknown.status_code) == (404, 404)
    assert (refused.status_code, refused.headers["allow"]) == (405, "GET, HEAD, OPTIONS")


async def test_lifespan_startup_compiles_the_walk_before_the_first_request() -> None:
    router = trane.Router([trane.Route("/a/{x}", AnyMethod)])
    assert router._walk_source == ""
    messages = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    sent: list[Message] = []

    async def receive() -> Message:
        return messages.pop(0)

    async def send(message: Message) -> None:
        sent.append(message)

    await router({"type": "lifespan", "asgi": {"version": "3.0"}})(receive, send)
    assert [m["type"] for m in sent] == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    assert "'a'" in router._walk_source


def test_a_path_ending_between_routes_is_not_found() -> None:
    # "/a" ends on the node that only leads to "/a/b" (and "/a/{x}/c"): no route there.
    router = trane.Router([trane.Route("/a/b", AnyMethod), trane.Route("/a/{x}/c", AnyMethod)])
    assert view_of(router, make_scope("GET", "/a")).__name__ == "_NotFound"
    assert view_of(router, make_scope("GET", "/a/q")).__name__ == "_NotFound"
    assert routed(router, make_scope("GET", "/a/q/c")) == (AnyMethod, {"x": "q"})
