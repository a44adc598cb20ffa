"""The legacy app named by ``$LEGACY_APP`` (``module:attr``), through ``trane.as_asgi3``.

What a modern server is given: ``uvicorn legacy_asgi3:app --interface asgi3``
or ``hypercorn legacy_asgi3:app``, neither of which calls an ASGI 2 app right
by itself (hypercorn would take it for WSGI).
"""

import importlib
import os

from trane import as_asgi3

_module, _, _attr = os.environ["LEGACY_APP"].partition(":")
app = as_asgi3(getattr(importlib.import_module(_module), _attr))
