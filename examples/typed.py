"""A typed CRUD API: each verb's signature says what it takes and gives.

Serve it with ``python -m trane serve examples.typed:app`` and try::

    curl -H 'content-type: application/json' http://127.0.0.1:8000/items -d '{"name": "Desk",
         "price": 120, "dimensions": {"width": 140, "depth": 70, "height": 75}}'
    curl 'http://127.0.0.1:8000/items?limit=10&offset=0&tag=office'
    curl http://127.0.0.1:8000/items/1
    curl http://127.0.0.1:8000/items/99          # 404, application/problem+json
    curl 'http://127.0.0.1:8000/items?limit=0'   # 422: query.limit

or open http://127.0.0.1:8000/docs/ for the OpenAPI document in Swagger UI.
"""

from __future__ import annotations

import itertools
from typing import Annotated, Literal

import msgspec

import trane

# The models: msgspec Structs, validated in one pass as the JSON is decoded.
Size = Annotated[float, msgspec.Meta(gt=0, le=10_000, description="A length in `unit`")]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
Tag = Annotated[str, msgspec.Meta(min_length=1, max_length=30)]


class Dimensions(msgspec.Struct):
    width: Size
    depth: Size
    height: Size
    unit: Literal["cm", "in"] = "cm"


class NewItem(msgspec.Struct):
    """An item as a client sends it."""

    name: Name
    price: Annotated[float, msgspec.Meta(ge=0, le=1_000_000)]
    dimensions: Dimensions
    tags: Annotated[list[Tag], msgspec.Meta(max_length=10)] = []


class Item(msgspec.Struct):
    """An item as the catalogue keeps it."""

    id: int
    name: str
    price: float
    dimensions: Dimensions
    tags: list[str]


class Page(msgspec.Struct):
    items: list[Item]
    total: int
    limit: int
    offset: int


class Catalogue:
    """The items, in memory; the oldest go once there are ``size`` of them."""

    def __init__(self, size: int = 1000) -> None:
        self.items: dict[int, Item] = {}
        self.ids = itertools.count(1)
        self.size = size

    def add(self, new: NewItem) -> Item:
        item = Item(next(self.ids), new.name, new.price, new.dimensions, new.tags)
        self.items[item.id] = item
        while len(self.items) > self.size:  # NOTE: bounded, whatever clients send
            del self.items[next(iter(self.items))]
        return item


catalogue = Catalogue()


# The resource: a base class holds what its routes share; its policies,
# errors and docstrings are inherited by each route's class.
class ItemResource(trane.Application):
    """Items of the catalogue."""

    responses = {404: "No such item"}  # declared for the OpenAPI document
    max_body_size = 16 * 1024  # larger bodies: 413

    def find(self, item_id: int) -> Item:
        item = catalogue.items.get(item_id)
        if item is None:
            raise trane.Problem(404, f"No item {item_id}")  # application/problem+json
        return item


class Items(ItemResource):
    """The catalogue: list items, add one."""

    async def get(
        self,
        *,
        limit: Annotated[int, msgspec.Meta(ge=1, le=100)] = 20,
        offset: Annotated[int, msgspec.Meta(ge=0)] = 0,
        tag: Tag | None = None,
    ) -> Page:
        """List items, a page at a time.

        Oldest first; ``tag`` keeps the items that carry it.
        """
        found = [i for i in catalogue.items.values() if tag is None or tag in i.tags]
        return Page(found[offset : offset + limit], len(found), limit, offset)

    @trane.operation(201)
    async def post(self, item: NewItem) -> Item:
        """Add an item."""
        return catalogue.add(item)


class OneItem(ItemResource):
    """One item, by its id."""

    async def get(self, item_id: int) -> Item:
        """Read an item."""
        return self.find(item_id)

    async def put(self, item_id: int, item: NewItem) -> Item:
        """Replace an item."""
        old = self.find(item_id)
        new = Item(old.id, item.name, item.price, item.dimensions, item.tags)
        catalogue.items[item_id] = new
        return new

    async def delete(self, item_id: int) -> None:
        """Remove an item."""
        self.find(item_id)
        del catalogue.items[item_id]


router = trane.Router(
    [
        trane.Route("/items", Items, name="items"),
        trane.Route("/items/{item_id:int}", OneItem, name="item"),
        # /docs/openapi.json is the document of this router; /docs/ shows it.
        trane.Mount("/docs", trane.OpenAPIDocs(title="Catalogue", version="1.0")),
    ]
)
app = trane.as_asgi3(router)
