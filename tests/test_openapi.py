"""The OpenAPI 3.1 document from the route table, and the app that serves it."""

from __future__ import annotations

import json
import uuid
from typing import Annotated, Any, Literal

import msgspec
import pytest
from examples import typed
from openapi_spec_validator import validate

import trane
from asgi import request
from trane.forms import UploadFile
from trane.openapi import build_document


class Size(msgspec.Struct):
    w: Annotated[float, msgspec.Meta(gt=0)]


class Thing(msgspec.Struct):
    """A thing."""

    name: str
    size: Size
    kind: Literal["a", "b"] = "a"


class Picture(msgspec.Struct):
    caption: str
    image: UploadFile


class Note(msgspec.Struct):
    text: str


class Resource(trane.Application):
    """Things of the shop.

    Every verb of this class and its subclasses.
    """

    responses = {404: "No such thing", "not a status": "ignored"}
    openapi_tags = ["things"]

    async def get(self, thing_id: int, *, verbose: bool = False) -> Thing:
        """Read a thing.

        With ``verbose``, more of it.
        """
        return Thing("x", Size(1))

    @trane.operation(responses={409: "Taken"}, tags=["write"], deprecated=True)
    async def put(self, thing_id: int, thing: Thing) -> Thing:
        return thing

    async def delete(self, thing_id: int) -> None:
        return None


class Child(Resource):
    """A subclass route: the inherited verbs are its operations too."""

    async def head(self, thing_id: int) -> None:
        return None


OPAQUE = object()


class Things(trane.Application):
    @trane.operation(201, operation_id="createThing", summary="Make one", description="Long")
    async def post(
        self,
        thing: Thing,
        *,
        token: Annotated[str, trane.Header("x-token")],
        session: Annotated[str | None, trane.Cookie()] = None,
        tags: list[str] = [],  # noqa: B006  (decoded per request: never shared)
        since: Annotated[int, msgspec.Meta(ge=0)] = 0,
        when: uuid.UUID | None = None,
        opaque: Annotated[Any, trane.Query()] = OPAQUE,
    ) -> list[Thing]:
        return [thing]

    async def get(self) -> str:
        return "text"

    async def options(self) -> bytes:
        return b""


class Forms(trane.Application):
    async def post(self, note: Annotated[Note, trane.Form()]) -> dict[str, str]:
        return {"text": note.text}

    async def put(self, picture: Annotated[Picture, trane.Form()]) -> trane.Response:
        return trane.Response(b"")


class Loose(trane.Application):
    async def get(self, **params: Any) -> Any:
        return params

    async def post(self, name, value: Annotated[int, msgspec.Meta(ge=1)]):  # type: ignore[no-untyped-def]
        return None

    put = staticmethod(lambda: None)  # not a plain function: no signature read


class Colour:
    """A type msgspec cannot describe: any value in the document."""


class Report(msgspec.Struct):
    colour: Colour


@trane.operation(202)
async def accept(self: Any, **params: Any) -> Any:
    return None


accept.__annotations__["return"] = 3  # not a type: no success content


class Checked(trane.Application):
    async def get(self, code: Annotated[int, msgspec.Meta(ge=100)], slug: int) -> Report:
        return Report(Colour())

    post = accept


class Tagged:
    regex = "[a-z]+"
    schema = {"type": "string", "pattern": "^[a-z]+$", "description": "lower case"}

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: Any) -> str:
        return str(value)


class Other:
    regex = "[A-Z]{2}"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: Any) -> str:
        return str(value)


trane.register_converter("lower", Tagged())
trane.register_converter("twoupper", Other())


class Chat(trane.WebSocketApplication):
    async def receive_text(self, text: str) -> None: ...


async def legacy(scope: Any, receive: Any, send: Any) -> None: ...


api = trane.Router(
    [
        trane.Route("/things/{thing_id:int}", Resource, name="thing"),
        trane.Route("/things", Things, name="things"),
    ]
)

router = trane.Router(
    [
        trane.Mount("/orgs/{org:lower}/api", api, name="api"),
        trane.Route("/children/{thing_id:int}", Child),
        trane.Route("/forms", Forms),
        trane.Route("/loose/{name}/{value}", Loose),
        trane.Route("/checked/{code:int}/{slug}/{cc:twoupper}", Checked),
        trane.Route("/uuid/{key:uuid}/{ratio:float}/{rest:path}", Loose),
        trane.WebSocketRoute("/chat", Chat),
        trane.Mount("/legacy", legacy),
        trane.Route("/raw", legacy),
        trane.Mount("/docs", trane.OpenAPIDocs(title="Shop", version="2", description="All")),
    ]
)


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return router.openapi(title="Shop", version="2", description="The shop", servers=["/x"])


def test_document_validates_against_openapi_3_1(document: dict[str, Any]) -> None:
    validate(document)
    assert document["openapi"] == "3.1.0"
    assert document["info"] == {"title": "Shop", "version": "2", "description": "The shop"}
    assert document["servers"] == [{"url": "/x"}]


def test_example_document_validates() -> None:
    validate(typed.router.openapi(title="Catalogue", version="1"))


def test_paths_nest_mount_prefixes_and_drop_converters(document: dict[str, Any]) -> None:
    assert sorted(document["paths"]) == [
        "/checked/{code}/{slug}/{cc}",
        "/children/{thing_id}",
        "/forms",
        "/loose/{name}/{value}",
        "/orgs/{org}/api/things",
        "/orgs/{org}/api/things/{thing_id}",
        "/uuid/{key}/{ratio}/{rest}",
    ]


def test_operation_ids_follow_route_names(document: dict[str, Any]) -> None:
    item = document["paths"]["/orgs/{org}/api/things/{thing_id}"]
    assert item["get"]["operationId"] == "api:thing.get"
    assert document["paths"]["/orgs/{org}/api/things"]["post"]["operationId"] == "createThing"
    assert document["paths"]["/children/{thing_id}"]["get"]["operationId"] == "Child.get"
    assert document["paths"]["/uuid/{key}/{ratio}/{rest}"]["get"]["operationId"] == "Loose.get_2"


def test_docstrings_describe_path_items_and_operations(document: dict[str, Any]) -> None:
    item = document["paths"]["/orgs/{org}/api/things/{thing_id}"]
    assert item["summary"] == "Things of the shop."
    assert item["description"] == "Every verb of this class and its subclasses."
    assert item["get"]["summary"] == "Read a thing."
    assert item["get"]["description"] == "With ``verbose``, more of it."
    assert item["get"]["tags"] == ["things"]
    assert item["put"]["tags"] == ["write"]
    assert item["put"]["deprecated"] is True
    post = document["paths"]["/orgs/{org}/api/things"]["post"]
    assert (post["summary"], post["description"]) == ("Make one", "Long")
    assert "summary" not in document["paths"]["/forms"]


def test_inherited_verbs_appear_on_the_subclass_route(document: dict[str, Any]) -> None:
    item = document["paths"]["/children/{thing_id}"]
    assert sorted(item) == ["delete", "get", "head", "put", "summary"]
    assert item["summary"] == "A subclass route: the inherited verbs are its operations too."
    assert (
        item["put"]["requestBody"]
        == document["paths"]["/orgs/{org}/api/things/{thing_id}"]["put"]["requestBody"]
    )


def test_automatic_head_and_options_are_not_operations(document: dict[str, Any]) -> None:
    assert "head" not in document["paths"]["/orgs/{org}/api/things/{thing_id}"]
    assert "options" in document["paths"]["/orgs/{org}/api/things"]
    assert "options" not in document["paths"]["/forms"]


def test_parameters(document: dict[str, Any]) -> None:
    post = document["paths"]["/orgs/{org}/api/things"]["post"]
    by_name = {(p["in"], p["name"]): p for p in post["parameters"]}
    assert by_name["path", "org"] == {
        "name": "org",
        "in": "path",
        "required": True,
        "schema": {"type": "string", "pattern": "^[a-z]+$", "description": "lower case"},
    }
    assert by_name["header", "x-token"]["required"] is True
    assert by_name["cookie", "session"]["schema"] == {
        "anyOf": [{"type": "string"}, {"type": "null"}],
        "default": None,
    }
    assert by_name["query", "tags"]["schema"] == {
        "type": "array",
        "items": {"type": "string"},
        "default": [],
    }
    assert by_name["query", "since"]["schema"] == {"type": "integer", "minimum": 0, "default": 0}
    assert by_name["query", "when"]["schema"]["anyOf"][0]["format"] == "uuid"
    assert by_name["query", "opaque"]["schema"] == {}  # a default JSON cannot show


def test_path_parameter_schemas_from_converters_and_annotations(document: dict[str, Any]) -> None:
    def schemas(path: str, method: str = "get") -> dict[str, Any]:
        found = document["paths"][path][method]["parameters"]
        return {p["name"]: p["schema"] for p in found if p["in"] == "path"}

    assert schemas("/uuid/{key}/{ratio}/{rest}") == {
        "key": {"type": "string", "format": "uuid"},
        "ratio": {"type": "number", "minimum": 0},
        "rest": {"type": "string"},
    }
    assert schemas("/checked/{code}/{slug}/{cc}") == {
        "code": {"allOf": [{"type": "integer", "minimum": 0}, {"type": "integer", "minimum": 100}]},
        "slug": {"type": "string", "pattern": "^[^/]+$"},
        "cc": {"type": "string", "pattern": "^(?:[A-Z]{2})$"},
    }
    assert schemas("/loose/{name}/{value}", "post") == {
        "name": {"type": "string", "pattern": "^[^/]+$"},
        "value": {"type": "integer", "minimum": 1},  # a str converted to the annotation
    }


def test_request_bodies(document: dict[str, Any]) -> None:
    post = document["paths"]["/orgs/{org}/api/things"]["post"]
    assert post["requestBody"] == {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Thing"}}},
    }
    forms = document["paths"]["/forms"]
    assert sorted(forms["post"]["requestBody"]["content"]) == [
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    ]
    assert list(forms["put"]["requestBody"]["content"]) == ["multipart/form-data"]
    picture = document["components"]["schemas"]["Picture"]
    assert picture["properties"]["image"] == {"type": "string", "format": "binary"}


def test_responses(document: dict[str, Any]) -> None:
    item = document["paths"]["/orgs/{org}/api/things/{thing_id}"]
    get = item["get"]["responses"]
    assert sorted(get) == ["200", "404", "422"]
    assert get["200"]["content"] == {
        "application/json": {"schema": {"$ref": "#/components/schemas/Thing"}}
    }
    assert get["404"]["description"] == "No such thing"
    assert sorted(get["404"]["content"]) == ["application/problem+json", "text/plain"]
    assert sorted(item["put"]["responses"]) == ["200", "400", "404", "409", "413", "415", "422"]
    assert item["delete"]["responses"]["204"] == {"description": "No Content"}
    things = document["paths"]["/orgs/{org}/api/things"]
    assert things["post"]["responses"]["201"]["content"]["application/json"]["schema"] == {
        "type": "array",
        "items": {"$ref": "#/components/schemas/Thing"},
    }
    assert things["get"]["responses"]["200"]["content"] == {
        "text/plain": {"schema": {"type": "string"}}
    }
    assert "content" not in document["paths"]["/forms"]["put"]["responses"]["200"]
    loose = document["paths"]["/loose/{name}/{value}"]
    assert loose["get"]["responses"]["200"] == {"description": "OK"}
    assert "put" in loose
    assert "summary" not in loose["put"]
    assert sorted(document["components"]["schemas"]) == [
        "FieldProblem",
        "Note",
        "Picture",
        "ProblemDetails",
        "Report",
        "Size",
        "Thing",
    ]


def test_odd_types_and_status_only_operations(document: dict[str, Any]) -> None:
    item = document["paths"]["/checked/{code}/{slug}/{cc}"]
    assert document["components"]["schemas"]["Report"]["properties"]["colour"] == {
        "title": "Colour"
    }
    assert item["post"]["responses"]["202"] == {"description": "Accepted"}
    assert sorted(item["post"]["responses"]) == ["202", "404"]  # no 422: nothing to check


def test_problem_schema_describes_the_problems_trane_sends(document: dict[str, Any]) -> None:
    schema = document["components"]["schemas"]["ProblemDetails"]
    assert schema["required"] == ["title", "status"]
    assert set(schema["properties"]) == {"title", "status", "type", "detail", "errors"}


# -- OpenAPIDocs -----------------------------------------------------------


async def test_docs_serve_the_document_of_the_outer_router() -> None:
    result = await request(router, "GET", "/docs/openapi.json")
    assert result.header("content-type") == "application/json"
    served = json.loads(result.body)
    assert served == json.loads(
        json.dumps(router.openapi(title="Shop", version="2", description="All"))
    )
    again = await request(router, "GET", "/docs/openapi.json")
    assert again.body == result.body


async def test_docs_page_and_its_assets() -> None:
    page = await request(router, "GET", "/docs/")
    assert page.header("content-type") == "text/html; charset=utf-8"
    assert "<title>Shop</title>" in page.text
    assert 'data-url="/docs/openapi.json"' in page.text
    assert 'src="/docs/swagger-ui-bundle.js"' in page.text
    script = await request(router, "GET", "/docs/trane-docs.js")
    assert script.header("content-type") == "text/javascript; charset=utf-8"
    assert b"SwaggerUIBundle" in script.body
    bundle = await request(router, "GET", "/docs/swagger-ui-bundle.js")
    assert bundle.status == 200
    assert len(bundle.body) > 100_000
    assert (await request(router, "GET", "/docs/nothing.js")).status == 404


async def test_docs_under_a_root_path_list_it_as_the_server() -> None:
    result = await request(router, "GET", "/app/docs/openapi.json", root_path="/app")
    assert json.loads(result.body)["servers"] == [{"url": "/app"}]
    page = await request(router, "GET", "/app/docs", root_path="/app")
    assert 'data-url="/app/docs/openapi.json"' in page.text


async def test_docs_without_page_serve_the_document_only() -> None:
    docs = trane.OpenAPIDocs(title="T", version="1", router=api, page=False)
    result = await request(docs, "GET", "/openapi.json")
    assert sorted(json.loads(result.body)["paths"]) == ["/things", "/things/{thing_id}"]
    assert (await request(docs, "GET", "/")).status == 404
    assert (await request(docs, "POST", "/openapi.json")).status == 405


async def test_docs_need_a_router(caplog: pytest.LogCaptureFixture) -> None:
    docs = trane.OpenAPIDocs(title="T", version="1", page=False)
    assert (await request(docs, "GET", "/openapi.json")).status == 500
    assert "needs a trane.Router" in caplog.text


def test_docs_page_needs_the_assets_package(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib

    real = importlib.import_module

    def missing(name: str, package: str | None = None) -> Any:
        if name == "swagger_ui_bundle":
            raise ImportError(name)
        return real(name, package)

    monkeypatch.setattr(importlib, "import_module", missing)
    with pytest.raises(ImportError, match=r"pip install 'trane\[openapi\]'"):
        trane.OpenAPIDocs(title="T", version="1")
    trane.OpenAPIDocs(title="T", version="1", page=False)  # the document needs nothing


def test_build_document_takes_any_routes() -> None:
    document = build_document([], title="Empty", version="0")
    assert document["paths"] == {}
    assert "servers" not in document
    assert "description" not in document["info"]
    validate(document)
