"""Router, Route, Mount, WebSocketRoute, converters and url_for."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import httpx
import pytest

import trane
from asgi import make_scope, request
from communicator import Communicator
from servers import serve
from trane.routing import BaseRoute, Match
from trane.types import Receive, Scope, Send


class Params(trane.Application):
    async def get(self, **params: Any) -> dict[str, Any]:
        return {k: [repr(v), type(v).__name__] for k, v in params.items()}


class Named(trane.Application):
    async def get(self, **params: Any) -> str:
        return type(self).__name__


class Me(Named):
    pass


class UserByName(Named):
    pass


class GetOnly(trane.Application):
    async def get(self) -> str:
        return "get"


class Urls(trane.Application):
    async def get(self, **params: Any) -> dict[str, str]:
        return {
            "top": self.url_for("top"),
            "member": self.url_for("org:member", org="acme", id=2),
            "deep": self.url_for("org:team:lead", org="acme", team="red"),
        }


class Member(trane.Application):
    async def get(self, org: str, id: int) -> dict[str, Any]:
        return {
            "org": org,
            "id": id,
            "root_path": self.scope["root_path"],
            "path": self.path,
            "url": str(self.url),
        }


class Hex:
    regex = "[0-9a-f]+"

    def convert(self, value: str) -> int:
        return int(value, 16)

    def to_string(self, value: int) -> str:
        return format(value, "x")


trane.register_converter("hex", Hex())


class Half:
    """A converter that refuses odd numbers after its regex accepted them."""

    regex = "[0-9]+"

    def convert(self, value: str) -> int:
        if int(value) % 2:
            raise ValueError("odd")
        return int(value) // 2

    def to_string(self, value: int) -> str:
        return str(value * 2)


trane.register_converter("half", Half())


async def asgi3_app(scope: Scope, receive: Receive, send: Send) -> None:
    body = json.dumps({"root_path": scope["root_path"], "path": scope["path"]}).encode()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body})


class ASGI2App:
    def __init__(self, scope: Scope) -> None:
        self.scope = scope

    async def __call__(self, receive: Receive, send: Send) -> None:
        await asgi3_app(self.scope, receive, send)


class RawSocket:
    """A bare ASGI 2 WebSocket app: accept, say the path, close."""

    def __init__(self, scope: Scope) -> None:
        self.scope = scope

    async def __call__(self, receive: Receive, send: Send) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        await send({"type": "websocket.send", "text": f"ws {self.scope['path_params']}"})
        await send({"type": "websocket.close", "code": 1000})


team = trane.Router([trane.Route("/lead", Named, name="lead")])
org = trane.Router(
    [
        trane.Route("/members/{id:int}", Member, name="member"),
        trane.Mount("/teams/{team}", team, name="team"),
    ]
)

router = trane.Router(
    [
        trane.Route("/", Named, name="top"),
        trane.Route("/users/{name}", UserByName, name="user"),
        trane.Route("/users/me", Me, name="me"),
        trane.Route("/int/{v:int}", Params),
        trane.Route("/float/{v:float}", Params),
        trane.Route("/uuid/{v:uuid}", Params),
        trane.Route("/path/{v:path}", Params, name="path"),
        trane.Route("/str/{v:str}/{w}", Params),
        trane.Route("/hex/{v:hex}", Params, name="hex"),
        trane.Route("/mixed/{a:int}-{b}.json", Params, name="mixed"),
        trane.Route("/get-only", GetOnly),
        trane.Route("/urls", Urls),
        trane.Mount("/orgs/{org}", org, name="org"),
        trane.Mount("/legacy", ASGI2App, name="legacy"),
        trane.Mount("/modern/", asgi3_app),
        trane.Route("/route3", asgi3_app),
        trane.WebSocketRoute("/ws/{room}", RawSocket, name="ws"),
    ]
)


def _json(body: bytes) -> Any:
    return json.loads(body)


# -- matching and converters -------------------------------------------------


def test_router_is_a_double_callable_returning_the_view() -> None:
    assert trane.Router._asgi_double_callable is True
    scope = make_scope("GET", "/users/ann")
    view = router(scope)
    assert isinstance(view, UserByName)
    assert view.scope["path_params"] == {"name": "ann"}
    assert "path_params" not in scope  # the caller's scope is left as it was (ASGI: copy)
    assert "trane.router" not in scope
    assert view.scope["trane.router"] is router


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/int/42", {"v": ["42", "int"]}),
        ("/float/1.5", {"v": ["1.5", "float"]}),
        ("/float/2", {"v": ["2.0", "float"]}),
        (
            "/uuid/12345678-1234-5678-1234-567812345678",
            {"v": [repr(uuid.UUID("12345678-1234-5678-1234-567812345678")), "UUID"]},
        ),
        ("/path/a/b/c.txt", {"v": ["'a/b/c.txt'", "str"]}),
        ("/path/", {"v": ["''", "str"]}),
        ("/str/a%20b/c", {"v": ["'a%20b'", "str"], "w": ["'c'", "str"]}),
        ("/hex/ff", {"v": ["255", "int"]}),
        ("/mixed/7-x.json", {"a": ["7", "int"], "b": ["'x'", "str"]}),
    ],
)
async def test_router_converters(path: str, expected: dict[str, Any]) -> None:
    result = await request(router, "GET", path)
    assert result.status == 200
    assert _json(result.body) == expected


@pytest.mark.parametrize(
    "path",
    [
        "/int/-1",
        "/int/x",
        "/int/1.5",
        "/float/x",
        "/float/1.",
        "/uuid/123",
        "/hex/FG",
        "/str/a/b/c",
        "/users",
        "/users/",
        "/users/a/b",
        "/nope",
        "/int",
        "/route3/x",
        "//",
        "/mixed/7-x.json\n",
        "/mixed/7-x.json/",
        "/mixed/x-7.json",
        "users/me",
        "*",
    ],
)
async def test_router_no_match_is_404(path: str) -> None:
    result = await request(router, "GET", path)
    assert (result.status, result.body) == (404, b"Not Found")
    assert result.header("content-type") == "text/plain; charset=utf-8"


async def test_router_static_route_beats_parameter_route() -> None:
    me = await request(router, "GET", "/users/me")
    other = await request(router, "GET", "/users/meg")
    assert (me.body, other.body) == (b"Me", b"UserByName")


async def test_router_root_route() -> None:
    result = await request(router, "GET", "/")
    assert (result.status, result.body) == (200, b"Named")


async def test_router_path_method_mismatch_is_405_with_allow() -> None:
    result = await request(router, "POST", "/get-only")
    assert result.status == 405
    assert result.header("allow") == "GET, HEAD, OPTIONS"


async def test_router_head_and_options_are_automatic() -> None:
    head = await request(router, "HEAD", "/get-only")
    assert (head.status, head.body, head.header("content-length")) == (200, b"", "3")
    options = await request(router, "OPTIONS", "/get-only")
    assert (options.status, options.header("allow")) == (204, "GET, HEAD, OPTIONS")


async def test_router_routes_to_asgi3_apps_for_any_method() -> None:
    result = await request(router, "DELETE", "/route3")
    assert _json(result.body) == {"root_path": "", "path": "/route3"}


async def test_router_strips_root_path_from_path() -> None:
    modern = await request(router, "GET", "/prefix/users/me", root_path="/prefix")
    legacy = await request(router, "GET", "/users/me", root_path="/prefix")
    assert (modern.body, legacy.body) == (b"Me", b"Me")


@pytest.mark.parametrize(
    ("path", "status", "body"),
    [
        ("/api/users/me", 200, b"Me"),
        ("/api", 200, b"Named"),  # equal to root_path: the root route
        ("/api/", 200, b"Named"),
        ("/apix/users/me", 404, b"Not Found"),  # "/api" + "x/users/me": not under /api
        ("/api-users/me", 404, b"Not Found"),
        ("/apiusers/me", 404, b"Not Found"),
    ],
)
async def test_router_strips_root_path_only_at_a_segment_boundary(
    path: str, status: int, body: bytes
) -> None:
    result = await request(router, "GET", path, root_path="/api")
    assert (result.status, result.body) == (status, body)


async def test_mounted_router_strips_its_prefix_only_at_a_segment_boundary() -> None:
    # What a mounted router sees when something other than a trane Mount calls it.
    root_path = "/orgs/acme/teams/red"
    result = await request(team, "GET", "/orgs/acme/teams/redx/lead", root_path=root_path)
    assert result.status == 404
    result = await request(team, "GET", "/orgs/acme/teams/red/lead", root_path=root_path)
    assert (result.status, result.body) == (200, b"Named")


def test_url_counts_root_path_in_path_only_at_a_segment_boundary() -> None:
    under = make_scope("GET", "/api/x", root_path="/api")
    beside = make_scope("GET", "/apix", root_path="/api")  # a path an older server sent
    assert trane.URL.from_scope(under).path == "/api/x"
    assert trane.URL.from_scope(make_scope("GET", "/api", root_path="/api")).path == "/api"
    assert trane.URL.from_scope(beside).path == "/api/apix"


def test_root_path_under_hypercorn(tmp_path: Path) -> None:
    (tmp_path / "hello.txt").write_text("hello")
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "hello.txt").write_text("x hello")
    with (
        serve(
            "hypercorn",
            "tests.root_path_app:app",
            "--root-path",
            "/api",
            env={"ROOT_PATH_APP_STATIC": str(tmp_path)},
        ) as server,
        httpx.Client(base_url=server.url, timeout=10) as client,
    ):
        admin = client.get("/api/admin")
        home = client.get("/api")
        static = client.get("/api/static/hello.txt")
        beside = client.get("/apix/admin")
        beside_static = client.get("/apix/static/x/hello.txt")
        beside_static_too = client.get("/api/staticx/hello.txt")
    assert admin.status_code == 200
    assert admin.json() == {
        "root_path": "/api",
        "path": "/api/admin",
        "url": f"{server.url}/api/admin",
        "url_for": "/api/admin",
    }
    assert (home.status_code, home.json()["path"]) == (200, "/api")
    assert (static.status_code, static.text) == (200, "hello")
    # hypercorn hands these on with root_path "/api": "/apix..." is not under it.
    assert (beside.status_code, beside.text) == (404, "Not Found")
    assert beside_static.status_code == 404
    assert beside_static_too.status_code == 404


def test_router_matching_does_not_scan_every_route(monkeypatch: pytest.MonkeyPatch) -> None:
    many = trane.Router([trane.Route(f"/route{i}/{{name}}", Params) for i in range(1000)])
    tried: list[BaseRoute] = []
    original = BaseRoute.match_kind

    def counting(self: BaseRoute, scope: Scope) -> Match:
        tried.append(self)
        return original(self, scope)

    monkeypatch.setattr(BaseRoute, "match_kind", counting)
    found = many.resolve("/route999/x", make_scope())
    assert found is not None
    assert found[0] is many.routes[999]
    assert found[1] == {"name": "x"}
    assert all(route is many.routes[999] for route in tried)
    assert many.resolve("/route1000/x", make_scope()) is None
    assert all(route is many.routes[999] for route in tried)
    # A partial match (wrong method) takes the full search: still one route.
    assert many.resolve("/route5/x", make_scope("DELETE")) is not None
    assert {id(route) for route in tried} <= {id(many.routes[999]), id(many.routes[5])}


# -- templates ---------------------------------------------------------------


def test_compile_path() -> None:
    regex, fmt, convs = trane.compile_path("/users/{id:int}/{slug}")
    assert regex.pattern == "^/users/(?P<id>[0-9]+)/(?P<slug>[^/]+)$"
    assert fmt == "/users/{id}/{slug}"
    assert sorted(convs) == ["id", "slug"]
    regex, fmt, convs = trane.compile_path("/a.b+")
    assert regex.match("/a.b+")
    assert not regex.match("/axb+")
    assert (fmt, convs) == ("/a.b+", {})


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("/x/{id:nope}", "unknown converter 'nope'"),
        ("/x/{a}/{a}", "duplicate parameter 'a'"),
        ("/x/{1a}", "invalid parameter name '1a'"),
        ("/x/{}", "invalid parameter name ''"),
        ("/x/{a", "unbalanced braces"),
        ("/x/a}", "unbalanced braces"),
        ("/x/{a}{{/{b}", "unbalanced braces"),
        ("/x/{a}{b}", "parameters {a} and {b} need literal text between them"),
        ("/x/{a:int}{b}.json", "parameters {a} and {b} need literal text"),
        ("/{a:path}/{b:path}", "at most one path parameter"),
    ],
)
def test_route_rejects_bad_templates(template: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        trane.Route(template, Named)


def test_mount_refuses_a_path_parameter() -> None:
    # What would be the remainder for the mounted app? Nothing tells.
    with pytest.raises(ValueError, match="cannot take a path parameter"):
        trane.Mount("/files/{p:path}", team)


def test_route_and_mount_need_a_leading_slash() -> None:
    with pytest.raises(ValueError, match="must start with '/'"):
        trane.Route("users", Named)
    with pytest.raises(ValueError, match="must start with '/'"):
        trane.Mount("api", team)


def test_route_needs_an_app() -> None:
    with pytest.raises(TypeError, match="expected an ASGI application"):
        trane.Route("/x", "not an app")


def test_register_converter_validates() -> None:
    with pytest.raises(ValueError, match="invalid converter name"):
        trane.register_converter("bad-name", Hex())
    with pytest.raises(ValueError, match="invalid parameter name"):
        trane.Route("/{bad-name}", Named)


def test_router_rejects_duplicate_names_and_non_routes() -> None:
    with pytest.raises(ValueError, match="duplicate route name 'a'"):
        trane.Router([trane.Route("/a", Named, name="a"), trane.Route("/b", Named, name="a")])
    with pytest.raises(TypeError, match="expected a Route"):
        trane.Router([Named])  # type: ignore[list-item]


def test_router_add_appends_a_route() -> None:
    extra = trane.Router()
    extra.add(trane.Route("/late", Named, name="late"))
    assert extra.url_for("late") == "/late"
    assert isinstance(extra(make_scope("GET", "/late")), Named)


# -- url_for -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "params", "url"),
    [
        ("top", {}, "/"),
        ("user", {"name": "ann"}, "/users/ann"),
        ("me", {}, "/users/me"),
        ("path", {"v": "a/b"}, "/path/a/b"),
        ("hex", {"v": 255}, "/hex/ff"),
        ("mixed", {"a": 1, "b": "z"}, "/mixed/1-z.json"),
        ("org:member", {"org": "acme", "id": 3}, "/orgs/acme/members/3"),
        ("org:team:lead", {"org": "acme", "team": "red"}, "/orgs/acme/teams/red/lead"),
        ("ws", {"room": "lobby"}, "/ws/lobby"),
    ],
)
def test_router_url_for(name: str, params: dict[str, Any], url: str) -> None:
    assert router.url_for(name, **params) == url


@pytest.mark.parametrize(
    ("name", "params", "message"),
    [
        ("nope", {}, "no route named 'nope'"),
        ("user", {}, "takes parameters \\['name'\\], got \\[\\]"),
        ("user", {"name": "a", "x": 1}, "takes parameters"),
        ("user", {"name": "a/b"}, "without '/'"),
        ("user", {"name": ""}, "non-empty"),
        ("org:member", {"org": "acme", "id": -1}, "non-negative int"),
        ("org:member", {"org": "acme", "id": "3"}, "non-negative int"),
        ("org:nope", {"org": "acme"}, "no route named 'nope'"),
        ("legacy:x", {}, "no route named 'legacy:x'"),
        ("org", {"org": "acme"}, "no route named 'org'"),
    ],
)
def test_router_url_for_errors(name: str, params: dict[str, Any], message: str) -> None:
    with pytest.raises(trane.NoMatch, match=message):
        router.url_for(name, **params)


@pytest.mark.parametrize(
    ("name", "params", "url", "decoded"),
    [
        # "//evil.com" is scheme-relative: in a Location header, another host.
        ("anywhere", {"p": "/evil.com"}, "/%2Fevil.com", "//evil.com"),
        ("anywhere", {"p": "//evil.com/x"}, "/%2F/evil.com/x", "///evil.com/x"),
        ("anywhere", {"p": "\\evil.com"}, "/%5Cevil.com", "/\\evil.com"),  # browsers: "\\" is "/"
        ("path", {"v": "/evil.com"}, "/path//evil.com", "/path//evil.com"),
        ("float", {"v": 1e-20}, "/float/0.00000000000000000001", None),
        ("float", {"v": 0.1 + 0.2}, "/float/0.30000000000000004", None),
        ("float", {"v": 1e22}, "/float/10000000000000000000000", None),
        ("float", {"v": -0.0}, "/float/0", None),
        ("float", {"v": 2.0}, "/float/2", None),
        ("mixed", {"a": 1, "b": "x.json"}, "/mixed/1-x.json.json", None),
        ("mixed", {"a": 1, "b": "x-y"}, "/mixed/1-x-y.json", None),  # the split from the left
    ],
)
def test_router_url_for_builds_urls_that_lead_back(
    name: str, params: dict[str, Any], url: str, decoded: str | None
) -> None:
    r = trane.Router(
        [
            trane.Route("/{p:path}", Params, name="anywhere"),
            *[route for route in router.routes if route.name in ("path", "mixed")],
            trane.Route("/float/{v:float}", Params, name="float"),
        ]
    )
    assert r.url_for(name, **params) == url
    scope = make_scope("GET", unquote(url))
    if decoded is not None:
        assert scope["path"] == decoded
    assert r(scope).scope["path_params"] == params  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("name", "params", "message"),
    [
        ("user", {"name": ".."}, "'.' or '..' segment"),  # a client would go up to /
        ("user", {"name": "."}, "'.' or '..' segment"),
        ("path", {"v": "a/../../admin"}, "'.' or '..' segment"),
        ("path", {"v": "./x"}, "'.' or '..' segment"),
        ("user", {"name": None}, "not be None"),
        ("path", {"v": None}, "not be None"),
        ("user", {"name": "\ud800"}, "cannot build a URL"),  # no UTF-8 for a lone surrogate
        ("float", {"v": None}, "must be a number"),
        ("float", {"v": float("inf")}, "finite"),
        ("float", {"v": float("nan")}, "finite"),
        ("float", {"v": 10**400}, "must be a number"),  # OverflowError
        ("float", {"v": -1.5}, "non-negative"),
        ("hex", {"v": None}, "cannot build a URL"),  # a user converter's TypeError
        ("hex", {"v": -1}, "would not match"),  # "-1": the converter's regex refuses it
        ("file", {"name": "a", "ext": "tar.gz"}, "would not match"),  # "a.tar", "gz"
    ],
)
def test_router_url_for_refuses_what_would_not_lead_back(
    name: str, params: dict[str, Any], message: str
) -> None:
    r = trane.Router(
        [
            *[route for route in router.routes if route.name in ("user", "path", "hex")],
            trane.Route("/float/{v:float}", Params, name="float"),
            trane.Route("/f/{name}.{ext}", Params, name="file"),
        ]
    )
    with pytest.raises(trane.NoMatch, match=message):
        r.url_for(name, **params)


@pytest.mark.parametrize(
    ("route", "path", "texts"),
    [
        (trane.Route("/users/{name}", Named), "/users/ann", {"name": "ann"}),
        (trane.Route("/users/{name}", Named), "users/ann", None),
        (trane.Route("/users/{name}", Named), "/users", None),
        (trane.Route("/users/{name}", Named), "/user/ann", None),
        (trane.Route("/users/{name}", Named), "/users/ann/x", None),
        (trane.Route("/e/{v:half}", Named), "/e/4", {"v": "4"}),
        (trane.Route("/e/{v:half}", Named), "/e/3", None),  # the converter refuses
        (trane.Route("/e/{v:half}", Named), "/e/x", None),  # its regex does
        (trane.Mount("/m/{a}.{b}", team), "/m/x.y", {"a": "x", "b": "y"}),
        (trane.Mount("/m/{a}.{b}", team), "/m/x.y/lead", None),  # a Mount's own path only
        (trane.Mount("/m/{a}.{b}", team), "/m/xy", None),
        (trane.Mount("/", team), "", {}),
    ],
)
def test_route_split_path(route: BaseRoute, path: str, texts: dict[str, str] | None) -> None:
    assert route.split_path(path) == texts


async def test_router_float_converter_refuses_what_reads_as_infinity() -> None:
    assert (await request(router, "GET", "/float/" + "9" * 400)).status == 404
    assert (await request(router, "GET", "/float/" + "9" * 300)).status == 200


async def test_view_url_for_reaches_every_route() -> None:
    result = await request(router, "GET", "/urls")
    assert _json(result.body) == {
        "top": "/",
        "member": "/orgs/acme/members/2",
        "deep": "/orgs/acme/teams/red/lead",
    }


# -- Mount ------------------------------------------------------------------


async def test_mount_sub_router_merges_params_and_sets_root_path() -> None:
    result = await request(router, "GET", "/orgs/acme/members/9")
    assert _json(result.body) == {
        "org": "acme",
        "id": 9,
        "root_path": "/orgs/acme",
        "path": "/orgs/acme/members/9",
        "url": "http://testserver/orgs/acme/members/9",
    }


async def test_mount_nested_root_path_grows() -> None:
    result = await request(router, "GET", "/orgs/acme/teams/red/lead")
    assert (result.status, result.body) == (200, b"Named")
    scope = make_scope("GET", "/orgs/acme/teams/red/lead")
    view = router(scope)
    assert isinstance(view, Named)
    assert view.scope["root_path"] == "/orgs/acme/teams/red"
    assert view.scope["path"] == "/orgs/acme/teams/red/lead"
    assert view.scope["path_params"] == {"org": "acme", "team": "red"}


async def test_mount_under_outer_root_path() -> None:
    result = await request(router, "GET", "/app/legacy/x", root_path="/app")
    assert _json(result.body) == {"root_path": "/app/legacy", "path": "/app/legacy/x"}


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/legacy/a/b", {"root_path": "/legacy", "path": "/legacy/a/b"}),
        ("/legacy", {"root_path": "/legacy", "path": "/legacy"}),
        ("/legacy/", {"root_path": "/legacy", "path": "/legacy/"}),
        ("/modern/x", {"root_path": "/modern", "path": "/modern/x"}),
    ],
)
async def test_mount_asgi2_and_asgi3_apps(path: str, expected: dict[str, str]) -> None:
    result = await request(router, "POST", path)
    assert result.status == 200
    assert _json(result.body) == expected


async def test_mount_does_not_match_longer_segment() -> None:
    assert (await request(router, "GET", "/legacyx")).status == 404
    assert (await request(router, "GET", "/orgs/acme/members/x")).status == 404


async def test_mount_at_root_gets_everything() -> None:
    catch_all = trane.Router([trane.Route("/x", Named), trane.Mount("/", ASGI2App)])
    assert (await request(catch_all, "GET", "/x")).body == b"Named"
    result = await request(catch_all, "GET", "/any/thing")
    assert _json(result.body) == {"root_path": "", "path": "/any/thing"}


async def test_mount_of_adapted_router_keeps_names() -> None:
    outer = trane.Router([trane.Mount("/orgs/{org}", trane.as_asgi3(org), name="org")])
    assert outer.url_for("org:member", org="a", id=1) == "/orgs/a/members/1"
    result = await request(outer, "GET", "/orgs/a/members/1")
    assert _json(result.body)["root_path"] == "/orgs/a"


def test_mount_exposes_child_routes() -> None:
    mount = trane.Mount("/t", team)
    assert mount.routes == team.routes
    assert trane.Mount("/l", ASGI2App).routes == []


# -- WebSocketRoute and Channels --------------------------------------------


async def test_websocket_route_gets_websocket_scopes() -> None:
    scope = make_scope("GET", "/ws/lobby", kind="websocket")
    communicator = Communicator(router, scope)
    await communicator.send_input({"type": "websocket.connect"})
    assert await communicator.receive_output(1) == {"type": "websocket.accept"}
    assert (await communicator.receive_output(1))["text"] == "ws {'room': 'lobby'}"
    await communicator.wait(1)


async def test_websocket_without_route_is_closed() -> None:
    scope = make_scope("GET", "/users/me", kind="websocket")
    communicator = Communicator(router, scope)
    await communicator.send_input({"type": "websocket.connect"})
    assert await communicator.receive_output(1) == {"type": "websocket.close", "code": 1000}
    await communicator.wait(1)


async def test_http_to_websocket_route_is_404() -> None:
    assert (await request(router, "GET", "/ws/lobby")).status == 404


async def test_view_reads_channels_url_route_kwargs() -> None:
    # Under Channels' URLRouter there is no trane router: params come from url_route.
    url_route = {"args": (), "kwargs": {"org": "o", "id": 4}}
    result = await request(Member, "GET", "/x", url_route=url_route)
    assert _json(result.body)["org"] == "o"
    assert _json(result.body)["id"] == 4


async def test_router_under_a_channels_prefix_routes_on_path_remaining() -> None:
    # As URLRouter's re_path(r"^api/", ...) calls it: path whole, the rest in path_remaining.
    inner = trane.Router([trane.Route("/users/{name}", Named, name="user")])
    scope = make_scope("GET", "/srv/api/users/ann", root_path="/srv", path_remaining="users/ann")
    view = inner(scope)
    assert view.scope["root_path"] == "/srv/api"  # type: ignore[attr-defined]
    assert scope["root_path"] == "/srv"  # the caller's scope is left as it was
    result = await request(inner, "GET", "/api/users/ann", path_remaining="users/ann")
    assert result.status == 200
    # A path_remaining that does not end the path: the whole path was matched.
    odd = await request(inner, "GET", "/api/users/ann", path_remaining="elsewhere")
    assert odd.status == 404


@pytest.mark.parametrize(
    ("name", "value", "url"),
    [
        ("user", "a b?c#d%e", "/users/a%20b%3Fc%23d%25e"),
        ("user", "café", "/users/caf%C3%A9"),
        ("user", "a:b@c+d", "/users/a:b@c+d"),
        ("path", "dir/a b.txt", "/path/dir/a%20b.txt"),
    ],
)
async def test_router_url_for_quotes_values_and_round_trips(
    name: str, value: str, url: str
) -> None:
    params = {"name": value} if name == "user" else {"v": value}
    assert router.url_for(name, **params) == url
    # A server decodes the path before the app sees it: the value comes back intact.
    scope = make_scope("GET", unquote(url))
    assert router(scope).scope["path_params"] == params  # type: ignore[attr-defined]


async def test_router_backtracks_from_a_static_dead_end_to_a_parameter() -> None:
    class Static(trane.Application):
        async def get(self) -> str:
            return "static"

    class Param(trane.Application):
        async def get(self, a: str, b: str) -> str:
            return f"param {a} {b}"

    class Files(trane.Application):
        async def get(self, p: str) -> str:
            return f"path {p}"

    r = trane.Router(
        [
            trane.Route("/x/y/z", Static),
            trane.Route("/x/{a}/{b}", Param),
            trane.Route("/files/{p:path}", Files),
            trane.Route("/files/{p}.txt", Param),
        ]
    )
    assert (await request(r, "GET", "/x/y/z")).body == b"static"
    # "/x/y" leads into the static branch, which has no "w": back up to {a}.
    assert (await request(r, "GET", "/x/y/w")).body == b"param y w"
    assert (await request(r, "GET", "/files/a/b.txt")).body == b"path a/b.txt"
    assert (await request(r, "GET", "/files/")).body == b"path "


async def test_router_tries_later_parameter_routes_when_a_converter_refuses() -> None:
    class Num(trane.Application):
        async def get(self, n: int) -> str:
            return f"int {n!r}"

    class Name(trane.Application):
        async def get(self, n: str) -> str:
            return f"str {n!r}"

    r = trane.Router([trane.Route("/v/{n:int}", Num), trane.Route("/v/{n}", Name)])
    assert (await request(r, "GET", "/v/42")).body == b"int 42"
    assert (await request(r, "GET", "/v/4x")).body == b"str '4x'"


async def test_routes_on_one_path_split_the_methods_in_registration_order() -> None:
    class Reader(trane.Application):
        async def get(self) -> str:
            return "reader"

    class Writer(trane.Application):
        async def get(self) -> str:
            return "writer get"

        async def post(self) -> str:
            return "writer post"

    async def any_method(scope: Scope, receive: Receive, send: Send) -> None:
        await trane.PlainTextResponse(f"any {scope['method']}")(scope, receive, send)

    r = trane.Router(
        [
            trane.Route("/x", Reader),
            trane.Route("/x", Writer),  # GET is Reader's already: only POST is Writer's
            trane.Route("/x", any_method),  # every method no route above serves
            trane.Route("/x", Writer),  # never reached
            trane.Route("/y", any_method),
            trane.Route("/y", Reader),  # never reached: the app above takes every method
        ]
    )
    for method, path, body in [
        ("GET", "/x", b"reader"),
        ("HEAD", "/x", b""),
        ("POST", "/x", b"writer post"),
        ("DELETE", "/x", b"any DELETE"),
        ("GET", "/y", b"any GET"),
    ]:
        result = await request(r, method, path)
        assert (result.status, result.body) == (200, body), (method, path)
    # The fast walk and the complete search agree.
    assert r.resolve("/x", make_scope("POST"))[0] is r.routes[1]  # type: ignore[index]
    assert r.resolve("/x", make_scope("PUT"))[0] is r.routes[2]  # type: ignore[index]


# -- lifespan and debug of mounted routers -----------------------------------


class Crash(trane.Application):
    async def get(self) -> str:
        raise RuntimeError("kaput")


class LinkHome(trane.Application):
    async def get(self) -> str:
        return self.url_for("home")


async def test_mounted_router_debug_applies_to_its_views_only(
    caplog: pytest.LogCaptureFixture,
) -> None:
    dev = trane.Router([trane.Route("/crash", Crash), trane.Route("/link", LinkHome)], debug=True)
    quiet = trane.Router([trane.Route("/crash", Crash)])
    outer = trane.Router(
        [
            trane.Route("/", GetOnly, name="home"),
            trane.Route("/crash", Crash),
            trane.Mount("/dev", dev),
            trane.Mount("/quiet", quiet),
        ]
    )
    assert (await request(outer, "GET", "/crash")).body == b"Internal Server Error"
    assert (await request(outer, "GET", "/quiet/crash")).body == b"Internal Server Error"
    traceback = await request(outer, "GET", "/dev/crash")
    assert traceback.status == 500
    assert b"RuntimeError: kaput" in traceback.body
    # url_for under the debug mount still starts at the outermost router.
    assert (await request(outer, "GET", "/dev/link", root_path="")).body == b"/"
    # The outer router's debug reaches every view below it, mounted or not.
    loud = trane.Router([trane.Mount("/quiet", quiet)], debug=True)
    assert b"RuntimeError: kaput" in (await request(loud, "GET", "/quiet/crash")).body


async def test_router_raises_on_an_unknown_scope_type() -> None:
    router = trane.Router([trane.Route("/", GetOnly)])
    with pytest.raises(ValueError, match="unknown ASGI scope type 'webtransport'"):
        router({"type": "webtransport", "path": "/"})


# -- several parameters in a segment: linear-time matching -------------------


@pytest.mark.parametrize(
    ("template", "path", "params"),
    [
        # Literals placed from the right: each parameter takes the longest text.
        ("/{name}.{ext}", "/archive.tar.gz", {"name": "archive.tar", "ext": "gz"}),
        ("/{y}-{m}-{d}", "/2024-01-02", {"y": "2024", "m": "01", "d": "02"}),
        ("/{slug}-{id:int}", "/my-first-post-42", {"slug": "my-first-post", "id": 42}),
        # "42-my-first" is no int: the split from the left serves.
        ("/{id:int}-{slug}", "/42-my-first-post", {"id": 42, "slug": "my-first-post"}),
        ("/v{n:int}.json", "/v12.json", {"n": 12}),
        ("/d/{a}.{b}/{c}-{d}/e", "/d/x.y.z/1-2-3/e", {"a": "x.y", "b": "z", "c": "1-2", "d": "3"}),
        ("/files/{p:path}.txt", "/files/a/b.c.txt", {"p": "a/b.c"}),
        ("/files/{p:path}.txt", "/files/.txt", {"p": ""}),
        ("/x/{a}-{p:path}-{b}/y", "/x/1-2/3-4-5/y", {"a": "1", "p": "2/3-4", "b": "5"}),
        ("/x/{a}-{p:path}-{b}/y", "/x/1-2-3/y", {"a": "1", "p": "2", "b": "3"}),
        ("/x/{a}-{p:path}-{b}/y", "/x/1--3/y", {"a": "1", "p": "", "b": "3"}),
        ("/{p:path}/edit", "/a/edit/edit", {"p": "a/edit"}),
        ("/{p:path}/edit", "/a\nb/edit", {"p": "a\nb"}),  # any text, a newline too
    ],
)
def test_router_splits_segments_with_several_parameters(
    template: str, path: str, params: dict[str, Any]
) -> None:
    r = trane.Router([trane.Route(template, Params)])
    scope = make_scope("GET", path)
    view = r(scope)
    assert isinstance(view, Params)
    assert view.scope["path_params"] == params


@pytest.mark.parametrize(
    ("template", "path"),
    [
        ("/{a:int}-{b}-{c:int}", "/1-x-y-2"),  # neither split suits both ints
        ("/{name}.{ext}", "/archive"),
        ("/{name}.{ext}", "/.x"),
        ("/x/{a}-{p:path}-{b}/y", "/x/1-2/y"),
        ("/x/{a}-{p:path}-{b}/y", "/x/1/2-3/y"),
        ("/x/{a}-{p:path}-{b:int}/y", "/x/1-2/3-z/y"),
        ("/files/{p:path}.txt", "/files/a/b.txt/"),
    ],
)
def test_router_refuses_what_no_split_suits(template: str, path: str) -> None:
    r = trane.Router([trane.Route(template, Params)])
    assert type(r(make_scope("GET", path))).__name__ == "_NotFound"


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/h/4-2", {"a": 2, "b": 1}),
        ("/h/3-2", None),
        ("/h/2-3", None),
        ("/p/4/5-6", {"q": "4/5", "b": 3}),
        ("/p/4/5-7", None),
    ],
)
def test_router_tail_converters_may_refuse(path: str, params: dict[str, Any] | None) -> None:
    r = trane.Router(
        [trane.Route("/h/{a:half}-{b:half}", Params), trane.Route("/p/{q:path}-{b:half}", Params)]
    )
    scope = make_scope("GET", path)
    view = r(scope)
    if params is None:
        assert type(view).__name__ == "_NotFound"
    else:
        assert view.scope["path_params"] == params  # type: ignore[attr-defined]


async def test_router_hostile_paths_against_several_parameters_are_answered() -> None:
    # A regex of adjacent [^/]+ groups took 1.2 s for 1 KB of "-" before "/"
    # (O(n^3)); with four groups, hours. These are read in linear time now.
    r = trane.Router(
        [
            trane.Route("/{a}-{b}-{c}-{d}", Params),
            trane.Route("/n/{name}.{ext}", Params),
            trane.Route("/m/{x}-{y:int}.{z}", Params),
            trane.Mount("/t/{a}-{b}-{c}", ASGI2App),
        ]
    )
    for path in [
        "/" + "-" * 16384 + "/",
        "/n/" + "." * 16384 + "/",
        "/m/" + "-1." * 5000 + "/x",
        "/t/" + "a" * 16384,
        "/" + "-" * 16383 + "a/",
    ]:
        assert (await request(r, "GET", path)).status == 404, path[:20]
    long = await request(r, "GET", "/" + "a-" * 8000 + "z")
    assert long.status == 200
    assert _json(long.body)["d"] == ["'z'", "str"]
    mounted = await request(r, "GET", "/t/" + "-" * 16384 + "/x")
    assert _json(mounted.body)["root_path"] == "/t/" + "-" * 16384


async def test_mount_tail_with_several_parameters_hands_on_the_remainder() -> None:
    r = trane.Router([trane.Mount("/t/{a}-{b}/c", ASGI2App)])
    assert _json((await request(r, "GET", "/t/1-2-3/c/d/e")).body) == {
        "root_path": "/t/1-2-3/c",
        "path": "/t/1-2-3/c/d/e",
    }
    assert (await request(r, "GET", "/t/1-2-3/x")).status == 404
    view = r(make_scope("GET", "/t/1-2-3/c"))
    assert isinstance(view, ASGI2App)
    assert view.scope["path_params"] == {"a": "1-2", "b": "3"}


def test_route_tail_of_a_route_without_one_is_the_end_of_the_path() -> None:
    route = trane.Route("/a", Named)
    assert route.match_tail(["", "a"], 2) == ({}, "")
    assert route.match_tail(["", "a", "b"], 2) is None


class StrictPath:
    """A path converter that refuses text with a space in it."""

    regex = ".*"

    def convert(self, value: str) -> str:
        if " " in value:
            raise ValueError("a space")
        return value

    def to_string(self, value: str) -> str:
        return value


def test_router_path_converter_may_refuse_the_whole_text(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(trane.routing.CONVERTERS, "path", StrictPath())
    r = trane.Router([trane.Route("/f/{p:path}.txt", Params)])
    scope = make_scope("GET", "/f/a/b c/d.txt")
    assert type(r(scope)).__name__ == "_NotFound"
    scope = make_scope("GET", "/f/a/b/d.txt")
    assert r(scope).scope["path_params"] == {"p": "a/b/d"}  # type: ignore[attr-defined]


def test_route_repr() -> None:
    assert repr(trane.Route("/a", Named, name="a")) == f"Route('/a', {Named!r}, name='a')"
