"""An app to serve behind a prefix: ``hypercorn tests.root_path_app:app --root-path /api``.

``/admin`` says what it saw; ``/static`` serves the directory named by the
``ROOT_PATH_APP_STATIC`` environment variable (this folder when unset).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import trane


class Seen(trane.Application):
    async def get(self) -> dict[str, Any]:
        return {
            "root_path": self.scope["root_path"],
            "path": self.path,
            "url": str(self.url),
            "url_for": self.url_for("admin"),
        }


static = os.environ.get("ROOT_PATH_APP_STATIC", str(Path(__file__).parent))
router = trane.Router(
    [
        trane.Route("/", Seen, name="home"),
        trane.Route("/admin", Seen, name="admin"),
        trane.Mount("/static", trane.StaticFiles(directory=static)),
    ]
)
app = trane.as_asgi3(router)
