"""The typed POST case: decode and validate a ~300-byte JSON item, return it.

Every app answers ``POST /items`` with the item it was sent (JSON), after
checking it against the same model: a name, a price above 0, tags, and
nested dimensions above 0. One module for all frameworks, so the model and
the body are the same for each; each app is a module attribute:

* ``trane_typed``: ``async def post(self, item: Item) -> Item`` (msgspec, generated wrapper)
* ``trane_untyped``: ``await self.json()``, a dict returned (no validation)
* ``fastapi_app``: a pydantic model, FastAPI's own validation
* ``litestar_app``: the same msgspec Struct, Litestar's ``data: Item``
* ``falcon_app``: Falcon with a hand-written msgspec recipe (decoder made once)
* ``starlette_app``: ``await request.json()`` in a JSONResponse (no validation)

``app`` is trane's typed router, for ``uvicorn benchmarks.apps.typed_post:app --interface asgi2``.
"""

# NOTE: no `from __future__ import annotations`: FastAPI and Litestar read the
# annotations of handlers defined inside functions, which strings would hide.
from typing import Annotated, Any

import msgspec

import benchmarks.apps  # noqa: F401  (puts src/ on sys.path if needed)
import trane

BODY = (
    b'{"name":"Widget Pro 3000","description":"A very useful widget with a long name '
    b'and a longer description, for benchmarks","price":129.5,"tax":12.95,'
    b'"tags":["tools","hardware","garden","sale","new"],'
    b'"dimensions":{"width":12.5,"height":8.25,"depth":3.0,"unit":"cm"},'
    b'"in_stock":true,"sku":"WP-3000-XL-BLUE"}'
)
PATH = "/items"


class Dimensions(msgspec.Struct):
    width: Annotated[float, msgspec.Meta(gt=0)]
    height: Annotated[float, msgspec.Meta(gt=0)]
    depth: Annotated[float, msgspec.Meta(gt=0)]
    unit: str = "cm"


class Item(msgspec.Struct):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    price: Annotated[float, msgspec.Meta(gt=0)]
    dimensions: Dimensions
    description: str | None = None
    tax: float | None = None
    tags: list[str] = []
    in_stock: bool = True
    sku: str | None = None


# -- trane ---------------------------------------------------------------------


class TypedItems(trane.Application):
    async def post(self, item: Item) -> Item:
        return item


class UntypedItems(trane.Application):
    async def post(self) -> Any:
        return await self.json()


trane_typed = trane.Router([trane.Route(PATH, TypedItems)])
trane_untyped = trane.Router([trane.Route(PATH, UntypedItems)])
app = trane_typed


# -- Falcon with msgspec by hand -------------------------------------------------


def make_falcon() -> Any:
    import falcon
    import falcon.asgi

    decoder = msgspec.json.Decoder(Item)
    encoder = msgspec.json.Encoder()

    class ItemsResource:
        async def on_post(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
            data = await req.stream.read()
            try:
                item = decoder.decode(data)
            except msgspec.ValidationError as exc:
                raise falcon.HTTPUnprocessableEntity(description=str(exc)) from None
            except msgspec.DecodeError as exc:
                raise falcon.HTTPBadRequest(description=str(exc)) from None
            resp.data = encoder.encode(item)
            resp.content_type = falcon.MEDIA_JSON

    falcon_app = falcon.asgi.App()
    falcon_app.add_route(PATH, ItemsResource())
    return falcon_app


# -- Starlette: request.json(), no validation ------------------------------------


def make_starlette() -> Any:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def items(request: Request) -> JSONResponse:
        return JSONResponse(await request.json())

    return Starlette(routes=[Route(PATH, items, methods=["POST"])])


# -- FastAPI: pydantic -------------------------------------------------------------


def make_fastapi() -> Any:
    from fastapi import FastAPI
    from pydantic import BaseModel, Field

    class DimensionsModel(BaseModel):
        width: float = Field(gt=0)
        height: float = Field(gt=0)
        depth: float = Field(gt=0)
        unit: str = "cm"

    class ItemModel(BaseModel):
        name: str = Field(min_length=1, max_length=100)
        price: float = Field(gt=0)
        dimensions: DimensionsModel
        description: str | None = None
        tax: float | None = None
        tags: list[str] = []
        in_stock: bool = True
        sku: str | None = None

    fastapi_app = FastAPI()

    @fastapi_app.post(PATH)
    async def items(item: ItemModel) -> ItemModel:
        return item

    return fastapi_app


# -- Litestar: msgspec ---------------------------------------------------------------


def make_litestar() -> Any:
    from litestar import Litestar, post

    @post(PATH, status_code=200)
    async def items(data: Item) -> Item:
        return data

    return Litestar([items], openapi_config=None)


#: label -> a function making the app and whether it is an ASGI 2 double-callable.
FRAMEWORKS: dict[str, tuple[Any, bool]] = {
    "trane typed (msgspec)": (lambda: trane_typed, True),
    "trane self.json() (no validation)": (lambda: trane_untyped, True),
    "Falcon + msgspec by hand": (make_falcon, False),
    "Starlette request.json() (no validation)": (make_starlette, False),
    "FastAPI (pydantic)": (make_fastapi, False),
    "Litestar (msgspec)": (make_litestar, False),
}
