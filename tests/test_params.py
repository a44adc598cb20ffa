"""Typed verbs: every annotation form, every error location, inheritance, returns."""

from __future__ import annotations

import dataclasses
import functools
import json
import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypedDict

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import trane
from asgi import Result, request
from trane.applications import HTTP_VERBS
from trane.forms import UploadFile
from trane.params import EMPTY, decode_message, read_signature, split_markers, status_phrase
from trane.testing import TestClient

JSON = (b"content-type", b"application/json")


class Dimensions(msgspec.Struct):
    w: Annotated[float, msgspec.Meta(gt=0)]
    h: Annotated[float, msgspec.Meta(gt=0)]


class Item(msgspec.Struct):
    name: str
    dimensions: Dimensions
    tags: list[str] = []


@dataclasses.dataclass
class Point:
    x: int
    y: int


class Pair(TypedDict):
    left: int
    right: int


class Upload(msgspec.Struct):
    title: str
    files: list[UploadFile] = []
    age: int = 0


class Person(msgspec.Struct):
    name: str
    age: Annotated[int, msgspec.Meta(ge=0)] = 0
    nick: list[str] = []


calls: list[str] = []


class Items(trane.Application):
    @trane.operation(201)
    async def post(self, item: Item) -> Item:
        return item

    async def put(self, items: list[Item]) -> list[Item]:
        return items[::-1]

    async def patch(self, items: dict[str, Item]) -> dict[str, int]:
        return {key: len(item.tags) for key, item in items.items()}


class Shapes(trane.Application):
    async def post(self, point: Point) -> Point:
        return Point(point.y, point.x)

    async def put(self, pair: Pair) -> Pair:
        return {"left": pair["right"], "right": pair["left"]}

    async def patch(self, numbers: Annotated[list[int], trane.Body()]) -> int:
        return sum(numbers)

    async def delete(self, point: Point | None = None) -> str:
        return "no body" if point is None else f"{point.x},{point.y}"


class Small(trane.Application):
    max_body_size = 20

    async def post(self, point: Point) -> Point:
        return point


class Search(trane.Application):
    async def get(
        self,
        *,
        limit: Annotated[int, msgspec.Meta(ge=1, le=100)] = 10,
        tags: list[str] = [],  # noqa: B006  (decoded per request: a new list each time)
        ids: Annotated[list[int], trane.Query("id")] = [],  # noqa: B006
        page_size: Annotated[int, trane.Query("page-size")] = 20,
        flag: bool = False,
        q: Annotated[str, trane.Query()],
    ) -> dict[str, Any]:
        tags.append("seen")  # the default is never shared between requests
        return {"limit": limit, "tags": tags, "ids": ids, "size": page_size, "q": q, "flag": flag}


class Headed(trane.Application):
    async def get(
        self,
        *,
        token: Annotated[str, trane.Header("X-Token")],
        x_request_id: Annotated[int, trane.Header()] = 0,
        accept_language: Annotated[list[str], trane.Header()] = [],  # noqa: B006
        session: Annotated[str | None, trane.Cookie()] = None,
        theme: Annotated[str, trane.Cookie("ui-theme")] = "light",
    ) -> dict[str, Any]:
        return {
            "token": token,
            "id": x_request_id,
            "languages": accept_language,
            "session": session,
            "theme": theme,
        }


class Paths(trane.Application):
    async def get(self, item_id: Annotated[int, msgspec.Meta(ge=1)]) -> dict[str, int]:
        return {"item_id": item_id}


class Converted(trane.Application):
    """A str route parameter converted to the annotation."""

    async def get(self, when: int, *, double: bool = False) -> dict[str, int]:
        return {"when": when * 2 if double else when}


class Scalars(trane.Application):
    async def get(
        self, key: uuid.UUID, ratio: float, on: bool, name: str, raw: Any, **rest: Any
    ) -> dict[str, Any]:
        return {"key": str(key), "ratio": ratio, "on": on, "name": name, "raw": raw, **rest}


class Loose(trane.Application):
    """Unannotated and positional-only-by-star parameters in a typed verb."""

    async def get(self, name, *args: Any, n: int = 1):  # type: ignore[no-untyped-def]
        return name * n


class Suffix(trane.Application):
    async def get(self, name: str, suffix: str = "!", *, loud: bool = False) -> str:
        text = f"{name}{suffix}"
        return text.upper() if loud else text


class KeywordPath(trane.Application):
    async def put(self, *, name: str, count: int = 1) -> str:  # name: a path parameter
        return name * count


class Plain(trane.Application):
    """Untyped: converter annotations only."""

    async def get(self, name: str, n: int) -> dict[str, Any]:
        return {"name": name, "n": n}


class TypedBase(trane.Application):
    """A base whose typed verb every subclass serves."""

    responses = {404: "Missing"}

    async def post(self, point: Point, *, scale: int = 1) -> Point:
        return Point(point.x * scale, point.y * scale)


class TypedChild(TypedBase):
    async def get(self) -> str:
        return "child"


class Prepared(trane.Application):
    async def prepare(self) -> None:
        calls.append("prepare")

    async def post(self, point: Point, *, scale: int = 1) -> Point:
        calls.append("post")
        return Point(point.x * scale, point.y * scale)


class Returns(trane.Application):
    async def get(self, kind: str, *, n: int = 1) -> Any:
        if kind == "none":
            return None
        if kind == "text":
            return "text"
        if kind == "response":
            return trane.PlainTextResponse("made", status=202)
        return [Point(n, n)]

    async def post(self, kind: str, point: Point) -> None:
        return None


class Untyped(trane.Application):
    async def get(self, kind: str) -> Any:
        if kind == "struct":
            return Item("a", Dimensions(1, 2))
        if kind == "dataclass":
            return Point(1, 2)
        if kind == "nested":
            return {"points": [Point(1, 2)], "uuid": uuid.UUID(int=1)}
        if kind == "problem":
            raise trane.Problem(409, "Taken", title="Conflict!", headers={"x-why": "taken"})
        if kind == "bad-nested":
            return {"x": object()}
        return object()


def logged(function: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    @functools.wraps(function)
    async def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append("logged")
        return await function(self, *args, **kwargs)

    return wrapper


class Decorated(trane.Application):
    @logged
    async def post(self, point: Point, *, scale: int = 1) -> Point:
        return Point(point.x * scale, point.y * scale)


class Forms(trane.Application):
    async def post(self, person: Annotated[Person, trane.Form()]) -> Person:
        return person

    async def put(self, upload: Annotated[Upload, trane.Form()]) -> dict[str, Any]:
        names = [f.filename for f in upload.files]
        contents = [await f.read() for f in upload.files]
        return {"title": upload.title, "names": names, "sizes": [len(c) for c in contents]}


class StatusOnly(trane.Application):
    @trane.operation(202)
    async def post(self) -> str:
        return "accepted"


router = trane.Router(
    [
        trane.Route("/items", Items),
        trane.Route("/shapes", Shapes),
        trane.Route("/small", Small),
        trane.Route("/search", Search),
        trane.Route("/headed", Headed),
        trane.Route("/paths/{item_id:int}", Paths),
        trane.Route("/converted/{when}", Converted),
        trane.Route("/scalars/{key:uuid}/{ratio:float}/{on}/{name}/{raw}/{extra}", Scalars),
        trane.Route("/loose/{name}", Loose),
        trane.Route("/suffix/{name}", Suffix),
        trane.Route("/suffix/{name}/{suffix}", Suffix),
        trane.Route("/keyword/{name}", KeywordPath),
        trane.Route("/plain/{name}/{n:int}", Plain),
        trane.Route("/base", TypedBase),
        trane.Route("/child", TypedChild),
        trane.Route("/prepared", Prepared),
        trane.Route("/returns/{kind}", Returns),
        trane.Route("/untyped/{kind}", Untyped),
        trane.Route("/decorated", Decorated),
        trane.Route("/forms", Forms),
        trane.Route("/status", StatusOnly),
    ]
)


async def call(
    method: str, path: str, body: Any = None, *, raw: bytes | None = None, **options: Any
) -> Result:
    headers = list(options.pop("headers", [JSON] if body is not None else []))
    content = raw if raw is not None else json.dumps(body).encode() if body is not None else b""
    query = options.pop("query", b"")
    return await request(router, method, path, body=content, headers=headers, query=query)


def problem(result: Result) -> dict[str, Any]:
    assert result.header("content-type") == "application/problem+json", result.text
    document: dict[str, Any] = json.loads(result.body)
    assert document["status"] == result.status
    return document


def location(result: Result) -> str:
    errors = problem(result)["errors"]
    assert len(errors) == 1
    return str(errors[0]["location"])


ITEM = {"name": "box", "dimensions": {"w": 1, "h": 2}}


# -- bodies ----------------------------------------------------------------


async def test_struct_body_is_decoded_and_returned_with_the_declared_status() -> None:
    result = await call("POST", "/items", ITEM)
    assert result.status == 201
    assert result.header("content-type") == "application/json"
    assert json.loads(result.body) == {
        "name": "box",
        "dimensions": {"w": 1.0, "h": 2.0},
        "tags": [],
    }


async def test_list_and_dict_of_structs_are_bodies() -> None:
    result = await call("PUT", "/items", [ITEM, {**ITEM, "name": "bag"}])
    assert [i["name"] for i in json.loads(result.body)] == ["bag", "box"]
    result = await call("PATCH", "/items", {"a": {**ITEM, "tags": ["x", "y"]}})
    assert json.loads(result.body) == {"a": 2}


async def test_dataclass_typeddict_and_marked_bodies() -> None:
    assert json.loads((await call("POST", "/shapes", {"x": 1, "y": 2})).body) == {"x": 2, "y": 1}
    result = await call("PUT", "/shapes", {"left": 1, "right": 2})
    assert json.loads(result.body) == {"left": 2, "right": 1}
    assert (await call("PATCH", "/shapes", [1, 2, 3])).text == "6"


async def test_optional_body_takes_its_default_when_empty() -> None:
    assert (await call("DELETE", "/shapes")).text == "no body"
    assert (await call("DELETE", "/shapes", {"x": 3, "y": 4})).text == "3,4"


@pytest.mark.parametrize(
    ("body", "where", "message"),
    [
        ({**ITEM, "dimensions": {"w": -1, "h": 2}}, "body.dimensions.w", "Expected `float` > 0.0"),
        ({"dimensions": {"w": 1, "h": 2}}, "body.name", "Object missing required field `name`"),
        ({"name": "a", "dimensions": {"w": 1}}, "body.dimensions.h", "missing required field"),
        ({**ITEM, "tags": ["a", 2]}, "body.tags[1]", "Expected `str`, got `int`"),
        ([1], "body", "Expected `object`, got `array`"),
    ],
)
async def test_invalid_body_is_422_naming_the_field(body: Any, where: str, message: str) -> None:
    result = await call("POST", "/items", body)
    assert result.status == 422
    document = problem(result)
    assert document["title"] == "Unprocessable Entity"
    assert document["errors"][0]["location"] == where
    assert message in document["errors"][0]["message"]
    assert document["detail"].startswith(f"{where}: ")


async def test_invalid_item_in_a_list_body_names_its_index() -> None:
    result = await call("PUT", "/items", [ITEM, {"name": 1, "dimensions": {"w": 1, "h": 1}}])
    assert location(result) == "body[1].name"


@pytest.mark.parametrize("raw", [b"{", b"", b"\xff", b'{"name": "a",}'])
async def test_malformed_json_is_400(raw: bytes) -> None:
    result = await call("POST", "/items", raw=raw, headers=[JSON])
    assert result.status == 400
    assert location(result) == "body"


@pytest.mark.parametrize(
    ("content_type", "status"),
    [
        (b"text/plain", 415),
        (b"application/x-www-form-urlencoded", 415),
        (b"application/json; charset=utf-8", 201),
        (b"application/merge-patch+json", 201),
        (b"APPLICATION/JSON", 201),
    ],
)
async def test_body_media_type(content_type: bytes, status: int) -> None:
    headers = [(b"content-type", content_type)]
    result = await call("POST", "/items", raw=json.dumps(ITEM).encode(), headers=headers)
    assert result.status == status
    if status == 415:
        assert location(result) == "header.content-type"
        assert repr(content_type.decode()) in problem(result)["detail"]


async def test_body_without_content_type_is_read_as_json() -> None:
    assert (await call("POST", "/items", raw=json.dumps(ITEM).encode(), headers=[])).status == 201


async def test_body_past_max_body_size_is_413() -> None:
    body = json.dumps({"x": 1, "y": 10**30}).encode()
    result = await call("POST", "/small", raw=body, headers=[JSON])
    assert result.status == 413
    assert location(result) == "body"
    declared = [JSON, (b"content-length", b"1000")]
    assert (await call("POST", "/small", raw=b"{}", headers=declared)).status == 413


@settings(max_examples=60, deadline=None)
@given(
    st.one_of(
        st.binary(max_size=64),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
            lambda inner: (
                st.lists(inner, max_size=3)
                | st.dictionaries(st.sampled_from(["name", "dimensions", "w", "h", "tags"]), inner)
            ),
            max_leaves=8,
        ).map(lambda value: json.dumps(value).encode()),
    )
)
async def test_any_body_is_answered_201_400_or_422_never_500(raw: bytes) -> None:
    result = await call("POST", "/items", raw=raw, headers=[JSON])
    assert result.status in (201, 400, 422), result.text
    if result.status != 201:
        assert problem(result)["errors"][0]["location"].startswith("body")


# -- query, headers, cookies ---------------------------------------------------


async def test_query_parameters_are_converted_with_defaults() -> None:
    for _ in range(2):
        result = await call("GET", "/search", query=b"q=hi")
    assert json.loads(result.body) == {
        "limit": 10,
        "tags": ["seen"],
        "ids": [],
        "size": 20,
        "q": "hi",
        "flag": False,
    }
    query = b"q=x&limit=5&tags=a&tags=b&id=1&id=2&page-size=3&flag=true"
    result = await call("GET", "/search", query=query)
    assert json.loads(result.body) == {
        "limit": 5,
        "tags": ["a", "b", "seen"],
        "ids": [1, 2],
        "size": 3,
        "q": "x",
        "flag": True,
    }


@pytest.mark.parametrize(
    ("query", "where"),
    [
        (b"q=x&limit=0", "query.limit"),
        (b"q=x&limit=many", "query.limit"),
        (b"q=x&limit=", "query.limit"),
        (b"limit=5", "query.q"),
        (b"q=x&id=1&id=two", "query.id[1]"),
        (b"q=x&page-size=big", "query.page-size"),
    ],
)
async def test_invalid_query_is_422_naming_the_parameter(query: bytes, where: str) -> None:
    result = await call("GET", "/search", query=query)
    assert result.status == 422
    assert location(result) == where


async def test_headers_and_cookies() -> None:
    headers = [
        (b"x-token", b"secret"),
        (b"x-request-id", b"7"),
        (b"accept-language", b"en"),
        (b"accept-language", b"fr"),
        (b"cookie", b"session=abc; ui-theme=dark"),
    ]
    result = await call("GET", "/headed", headers=headers)
    assert json.loads(result.body) == {
        "token": "secret",
        "id": 7,
        "languages": ["en", "fr"],
        "session": "abc",
        "theme": "dark",
    }
    result = await call("GET", "/headed", headers=[(b"x-token", b"t")])
    assert json.loads(result.body)["session"] is None


@pytest.mark.parametrize(
    ("headers", "where"),
    [
        ([], "header.x-token"),
        ([(b"x-token", b"t"), (b"x-request-id", b"seven")], "header.x-request-id"),
    ],
)
async def test_invalid_header_is_422(headers: list[tuple[bytes, bytes]], where: str) -> None:
    result = await call("GET", "/headed", headers=headers)
    assert result.status == 422
    assert location(result) == where


# -- path parameters -----------------------------------------------------------


async def test_path_parameter_checked_against_its_annotation() -> None:
    assert json.loads((await call("GET", "/paths/3")).body) == {"item_id": 3}
    result = await call("GET", "/paths/0")
    assert result.status == 422
    assert location(result) == "path.item_id"


async def test_str_route_parameter_is_converted_to_the_annotation() -> None:
    assert json.loads((await call("GET", "/converted/21", query=b"double=1")).body) == {"when": 42}
    result = await call("GET", "/converted/soon")
    assert result.status == 422
    assert location(result) == "path.when"


async def test_scalar_path_parameters_and_extra_keywords() -> None:
    key = uuid.UUID(int=5)
    result = await call("GET", f"/scalars/{key}/1.5/true/n/r/more")
    assert json.loads(result.body) == {
        "key": str(key),
        "ratio": 1.5,
        "on": True,
        "name": "n",
        "raw": "r",
        "extra": "more",
    }
    assert location(await call("GET", f"/scalars/{key}/1.5/maybe/n/r/x")) == "path.on"


async def test_path_parameter_with_a_default_and_typed_query() -> None:
    assert (await call("GET", "/suffix/hi")).text == "hi!"
    assert (await call("GET", "/suffix/hi/?", query=b"loud=1")).text == "HI?"


async def test_unannotated_path_parameter_in_a_typed_verb() -> None:
    assert (await call("GET", "/loose/ab", query=b"n=3")).text == "ababab"


def test_annotation_msgspec_does_not_know_is_left_alone() -> None:
    async def get(self: Any, point: Point) -> Any:
        return point

    get.__annotations__["return"] = 3  # not a type: documents nothing, encodes nothing
    signature = read_signature(get)
    assert signature.returns == 3
    assert "_encode" not in signature.source


async def test_keyword_only_parameter_without_default_stays_a_path_parameter() -> None:
    assert (await call("PUT", "/keyword/ab", query=b"count=2")).text == "abab"
    signature = read_signature(KeywordPath.put)
    assert [p.name for p in signature.path] == ["name"]
    assert [p.name for p in signature.params] == ["count"]


async def test_channels_url_route_kwargs_reach_typed_path_parameters() -> None:
    route = {"args": (), "kwargs": {"when": "12"}}  # as Channels' URLRouter sets it
    result = await request(Converted, "GET", "/c/12", query=b"double=true", url_route=route)
    assert json.loads(result.body) == {"when": 24}
    route = {"args": (), "kwargs": {"item_id": "0"}}
    result = await request(Paths, "GET", "/paths/0", url_route=route)
    assert result.status == 422
    assert location(result) == "path.item_id"


# -- what stays untyped ------------------------------------------------------


def test_verbs_with_converter_annotations_only_are_not_wrapped() -> None:
    assert read_signature(Plain.get).call is None
    assert Plain._verbs.functions["GET"] == (Plain.get, "name")
    for cls in (Untyped, KeywordPath):
        for method, attr in HTTP_VERBS.items():
            if method in cls._verbs.functions and attr in vars(cls):
                entry = cls._verbs.functions[method][0]
                verb = getattr(cls, attr)
                assert (entry is verb) == (read_signature(verb).call is None)


async def test_untyped_verbs_still_answer() -> None:
    assert json.loads((await call("GET", "/plain/a/3")).body) == {"name": "a", "n": 3}


# -- inheritance, prepare, decorators ------------------------------------------


async def test_inherited_typed_verb_is_typed_on_the_subclass_route() -> None:
    result = await call("POST", "/child", {"x": 1, "y": 2}, query=b"scale=3")
    assert json.loads(result.body) == {"x": 3, "y": 6}
    result = await call("POST", "/child", {"x": "1", "y": 2})
    assert location(result) == "body.x"
    assert (await call("GET", "/child")).text == "child"
    assert TypedChild._verbs.functions["POST"] == TypedBase._verbs.functions["POST"]


async def test_prepare_runs_before_a_typed_verb() -> None:
    calls.clear()
    result = await call("POST", "/prepared", {"x": 1, "y": 1}, query=b"scale=2")
    assert json.loads(result.body) == {"x": 2, "y": 2}
    assert calls == ["prepare", "post"]
    calls.clear()
    assert location(await call("POST", "/prepared", {"x": 1})) == "body.y"
    assert calls == ["prepare"]


async def test_decorated_verb_is_typed_from_the_wrapped_signature() -> None:
    calls.clear()
    result = await call("POST", "/decorated", {"x": 1, "y": 2}, query=b"scale=2")
    assert json.loads(result.body) == {"x": 2, "y": 4}
    assert calls == ["logged"]


async def test_operation_status_without_inputs() -> None:
    result = await call("POST", "/status")
    assert (result.status, result.text) == (202, "accepted")


def test_mock_patched_typed_verb_is_called_as_it_is() -> None:
    from unittest import mock

    async def post(self: Any, point: Point) -> str:
        return "patched"

    with mock.patch.object(TypedBase, "post", post):
        assert TypedChild._verbs.functions["POST"][0] is read_signature(post).call
        assert read_signature(post).call is not None
    assert TypedBase._verbs.functions["POST"][0] is read_signature(TypedBase.post).call


# -- returns -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "status", "content_type", "body"),
    [
        ("none", 204, None, b""),
        ("text", 200, "text/plain; charset=utf-8", b"text"),
        ("response", 202, "text/plain; charset=utf-8", b"made"),
        ("list", 200, "application/json", b'[{"x":2,"y":2}]'),
    ],
)
async def test_typed_returns(kind: str, status: int, content_type: str | None, body: bytes) -> None:
    result = await call("GET", f"/returns/{kind}", query=b"n=2")
    assert (result.status, result.header("content-type"), result.body) == (
        status,
        content_type,
        body,
    )


async def test_typed_verb_returning_none_is_204() -> None:
    assert (await call("POST", "/returns/x", {"x": 1, "y": 1})).status == 204


@pytest.mark.parametrize(
    ("kind", "body"),
    [
        ("struct", {"name": "a", "dimensions": {"w": 1.0, "h": 2.0}, "tags": []}),
        ("dataclass", {"x": 1, "y": 2}),
        ("nested", {"points": [{"x": 1, "y": 2}], "uuid": str(uuid.UUID(int=1))}),
    ],
)
async def test_untyped_verbs_may_return_structs_and_dataclasses(kind: str, body: Any) -> None:
    result = await call("GET", f"/untyped/{kind}")
    assert result.header("content-type") == "application/json"
    assert json.loads(result.body) == body


@pytest.mark.parametrize("kind", ["object", "bad-nested"])
async def test_returning_what_json_cannot_encode_is_a_500(
    kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    assert (await call("GET", f"/untyped/{kind}")).status == 500
    assert "JSON cannot encode" in caplog.text or "returned object;" in caplog.text


async def test_problem_raised_in_any_view_is_problem_json() -> None:
    result = await call("GET", "/untyped/problem")
    assert result.status == 409
    assert result.header("x-why") == "taken"
    assert problem(result) == {"title": "Conflict!", "status": 409, "detail": "Taken"}


def test_problem_carries_its_fields() -> None:
    error = trane.Problem(418, type="https://example.com/teapot")
    assert (error.title, error.type, error.errors, str(error)) == (
        "I'm a Teapot",
        "https://example.com/teapot",
        [],
        "418 I'm a Teapot",
    )
    assert json.loads(error.response().body)["type"] == "https://example.com/teapot"


# -- forms -----------------------------------------------------------------------


async def test_urlencoded_form_body() -> None:
    headers = [(b"content-type", b"application/x-www-form-urlencoded")]
    result = await call("POST", "/forms", raw=b"name=Ada&age=36&nick=a&nick=b", headers=headers)
    assert json.loads(result.body) == {"name": "Ada", "age": 36, "nick": ["a", "b"]}
    result = await call("POST", "/forms", raw=b"name=Ada&age=-1", headers=headers)
    assert location(result) == "body.age"
    assert location(await call("POST", "/forms", raw=b"age=1", headers=headers)) == "body.name"


async def test_multipart_form_body_with_files() -> None:
    async with TestClient(router) as client:
        files = [("files", ("a.txt", b"hello")), ("files", ("b.txt", b"hi"))]
        response = await client.put("/forms", data={"title": "two"}, files=files)
        assert response.json() == {"title": "two", "names": ["a.txt", "b.txt"], "sizes": [5, 2]}
        response = await client.put("/forms", data={"title": "t", "age": "x"}, files=files)
        assert response.status_code == 422
        assert response.json()["errors"][0]["location"] == "body.age"


async def test_form_body_errors() -> None:
    result = await call("POST", "/forms", ITEM)
    assert result.status == 415
    assert "a form" in problem(result)["detail"]
    assert (await call("POST", "/forms", raw=b"name=x")).status == 415
    bad = [(b"content-type", b"multipart/form-data")]  # no boundary
    result = await call("POST", "/forms", raw=b"--x\r\n", headers=bad)
    assert result.status == 400
    assert location(result) == "body"


# -- signatures that cannot work ------------------------------------------------


def test_two_bodies_are_refused_when_the_class_is_made() -> None:
    with pytest.raises(TypeError, match="two body parameters, 'a' and 'b'"):

        class Two(trane.Application):
            async def post(self, a: Point, b: Item) -> None: ...


def test_two_markers_are_refused() -> None:
    with pytest.raises(TypeError, match="more than one of"):
        split_markers(Annotated[str, trane.Query(), trane.Header()])


def test_form_body_must_have_fields() -> None:
    with pytest.raises(TypeError, match="Form\\(\\) body must be"):

        class BadForm(trane.Application):
            async def post(self, data: Annotated[list[int], trane.Form()]) -> None: ...


def test_unresolvable_parameter_annotation_is_refused() -> None:
    async def post(self: Any, item: Missing) -> None:  # type: ignore[name-defined]  # noqa: F821
        return None

    with pytest.raises(TypeError, match="cannot resolve the annotation of 'item'"):
        read_signature(post)


def test_unresolvable_return_annotation_only_documents_nothing() -> None:
    async def get(self: Any, point: Point) -> Missing:  # type: ignore[name-defined]  # noqa: F821
        return None

    signature = read_signature(get)
    assert signature.returns is EMPTY
    assert signature.body is not None
    assert signature.body.annotation is Point


def test_operation_status_must_be_a_success() -> None:
    with pytest.raises(ValueError, match="1xx-3xx"):
        trane.operation(404)


def test_signature_text() -> None:
    async def get(self: Any) -> None:
        """One line.

        More text.
        """

    async def put(self: Any) -> None:
        """Only a summary."""

    assert (read_signature(get).summary, read_signature(get).description) == (
        "One line.",
        "More text.",
    )
    assert (read_signature(put).summary, read_signature(put).description) == (
        "Only a summary.",
        None,
    )
    assert read_signature(Items.post).summary is None
    assert "async def post(self):" in read_signature(Items.post).source
    assert status_phrase(299) == "Response"


# -- WebSockets: typed receive_json ---------------------------------------------


class Move(msgspec.Struct):
    x: int
    y: Annotated[int, msgspec.Meta(ge=0)]


class Board(trane.WebSocketApplication):
    encoding = "json"

    async def connect(self) -> None:
        await self.accept()

    async def receive_json(self, move: Move) -> None:
        await self.send_json({"x": move.x + move.y})


class Notes(trane.WebSocketApplication):
    async def connect(self) -> None:
        await self.accept()

    async def receive_json(self, data: Any) -> None:
        await self.send_json(data)


LongNames: Any = msgspec.defstruct("LongNames", [("k" * 200, int)])


class Long(trane.WebSocketApplication):
    encoding = "json"

    async def connect(self) -> None:
        await self.accept()

    async def receive_json(self, data: LongNames) -> None:
        await self.send_json(data)


ws_router = trane.Router(
    [
        trane.WebSocketRoute("/board", Board),
        trane.WebSocketRoute("/notes", Notes),
        trane.WebSocketRoute("/long", Long),
    ]
)


async def test_typed_receive_json_gets_a_struct() -> None:
    async with TestClient(ws_router) as client, client.websocket_connect("/board") as ws:
        await ws.send_json({"x": 1, "y": 2})
        assert await ws.receive_json() == {"x": 3}
        await ws.send_json({"x": 1, "y": -2})
        with pytest.raises(trane.WebSocketDisconnect) as closed:
            await ws.receive()
        assert (closed.value.code, closed.value.reason) == (1007, "message.y: Expected `int` >= 0")


async def test_typed_receive_json_closes_1007_on_bad_json() -> None:
    async with TestClient(ws_router) as client, client.websocket_connect("/board") as ws:
        await ws.send_text("{")
        with pytest.raises(trane.WebSocketDisconnect) as closed:
            await ws.receive()
        assert (closed.value.code, closed.value.reason) == (1007, "invalid JSON")


async def test_untyped_receive_json_is_unchanged() -> None:
    assert Notes._json_decoder is None
    assert Board._json_decoder is not None
    async with TestClient(ws_router) as client, client.websocket_connect("/notes") as ws:
        await ws.send_json([1, "two"])
        assert await ws.receive_json() == [1, "two"]


async def test_close_reason_fits_a_close_frame() -> None:
    async with TestClient(ws_router) as client, client.websocket_connect("/long") as ws:
        await ws.send_json({"k" * 200: "not an int"})
        with pytest.raises(trane.WebSocketDisconnect) as closed:
            await ws.receive()
        assert closed.value.code == 1007
        assert closed.value.reason.startswith("message.kkk")
        assert len(closed.value.reason.encode()) == 123


def test_decode_message_reports_where() -> None:
    decoder = msgspec.json.Decoder(list[Move])
    assert decode_message(decoder, b'[{"x": 1, "y": 1}]') == ([Move(1, 1)], "")
    assert decode_message(decoder, b'[{"x": 1}]') == (
        None,
        "message[0].y: Object missing required field `y`",
    )
