"""examples/typed.py: the typed CRUD API in-process, then live under uvicorn,
checked by schemathesis from its own ``/docs/openapi.json``.

schemathesis (``st run``) generates requests from the document, bounded in
examples per operation and in time, and checks every response: no 5xx, a
status the document declares, the declared content type, a body that
conforms to the declared schema, invalid input refused, and so on.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
from examples import typed

from servers import serve
from trane.testing import TestClient

DESK = {"name": "Desk", "price": 120, "dimensions": {"width": 140, "depth": 70, "height": 75}}


async def test_example_crud_in_process() -> None:
    typed.catalogue.items.clear()
    async with TestClient(typed.app) as client:
        created = await client.post("/items", json={**DESK, "tags": ["office"]})
        assert created.status_code == 201
        item = created.json()
        assert item["dimensions"]["unit"] == "cm"
        url = f"/items/{item['id']}"
        assert (await client.get(url)).json() == item
        page = (await client.get("/items", params={"tag": "office", "limit": 5})).json()
        assert (page["total"], page["limit"], page["offset"]) == (1, 5, 0)
        assert page["items"] == [item]
        replaced = await client.put(url, json={**DESK, "name": "Table"})
        assert replaced.json()["name"] == "Table"
        assert (await client.delete(url)).status_code == 204
        missing = await client.get(url)
        assert missing.status_code == 404
        assert missing.headers["content-type"] == "application/problem+json"
        assert missing.json()["detail"] == f"No item {item['id']}"
        bad = await client.post("/items", json={**DESK, "dimensions": {"width": 0}})
        assert bad.status_code == 422
        assert bad.json()["errors"][0]["location"] == "body.dimensions.width"
        assert (await client.get("/items", params={"limit": 0})).json()["errors"][0][
            "location"
        ] == "query.limit"
        big = await client.post("/items", json={**DESK, "name": "x" * 20_000})
        assert big.status_code == 413


def test_catalogue_stays_bounded() -> None:
    catalogue = typed.Catalogue(size=2)
    for name in "abc":
        catalogue.add(typed.NewItem(name, 1, typed.Dimensions(1, 1, 1)))
    assert [i.name for i in catalogue.items.values()] == ["b", "c"]


def test_example_under_uvicorn_passes_schemathesis(tmp_path: Path) -> None:
    st = shutil.which("st", path=str(Path(sys.executable).parent))
    assert st is not None, "schemathesis is a test dependency: pip install -e '.[test]'"
    with serve("uvicorn", "examples.typed:app") as server:
        schema = httpx.get(f"{server.url}/docs/openapi.json", timeout=10)
        assert schema.status_code == 200
        assert len(json.loads(schema.content)["paths"]) == 2
        done = subprocess.run(
            [
                st,
                "run",
                f"{server.url}/docs/openapi.json",
                "--checks",
                "all",
                "--max-examples",
                "25",
                "--max-time",
                "60",
                "--seed",
                "7",
                "--request-timeout",
                "10",
                "--workers",
                "1",
                "--no-shrink",
            ],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=240,
        )
        output = done.stdout + done.stderr
        assert done.returncode == 0, output[-6000:]
        assert "No issues found" in output, output[-6000:]
        assert "Traceback" not in server.output()


def test_example_docs_are_served_live() -> None:
    with serve("uvicorn", "examples.typed:app") as server:
        for path, media_type in [
            ("/docs/", "text/html"),
            ("/docs/swagger-ui.css", "text/css"),
            ("/docs/swagger-ui-bundle.js", "text/javascript"),
            ("/docs/trane-docs.js", "text/javascript"),
        ]:
            response = httpx.get(f"{server.url}{path}", timeout=10)
            assert response.status_code == 200, path
            assert response.headers["content-type"].startswith(media_type), path
