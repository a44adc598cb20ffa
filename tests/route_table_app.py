"""The app test_route_compiler.py runs under real servers: a wide route table.

The root has more static children than the compiled walk tests one by one,
so requests go through its dict dispatch, shared per-shape code, a converter
and the fall back to the complete search.
"""

from __future__ import annotations

import trane


class Hello(trane.Application):
    async def get(self, name: str) -> str:
        return f"Hello, {name}!"


class Item(trane.Application):
    async def get(self, id: int) -> dict[str, int]:
        return {"id": id}

    async def delete(self, id: int) -> dict[str, int]:
        return {"deleted": id}


class AnyItem(trane.Application):
    """Only reached by the complete search: /items/{id:int} comes first."""

    async def get(self, key: str) -> dict[str, str]:
        return {"key": key}


router = trane.Router(
    [
        *(trane.Route(f"/route{i}/{{name}}", Hello) for i in range(200)),
        trane.Route("/items/{id:int}", Item),
        trane.Route("/items/{key}", AnyItem),
    ]
)
