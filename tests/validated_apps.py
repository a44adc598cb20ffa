"""trane's example apps wrapped in ``trane.validate``, for the real-server tests.

Served by uvicorn, daphne, hypercorn and granian in test_servers.py and
test_delegation.py. Strict: a message that breaks the ASGI spec, in either
direction, raises ``ASGIViolation`` inside the server, and the request it
belongs to fails the test. granian gets the lenient ones (``strict=False``,
violations logged to its output, which the tests read): it breaks one rule
itself, ``scope.field``, by giving the client's port as a str.
"""

from __future__ import annotations

from examples import demo, gateway

import trane

demo_app = trane.validate(demo.app)
demo_router = trane.validate(demo.router)  # still ASGI 2: validate keeps the style
gateway_app = trane.validate(gateway.app)

demo_app_lenient = trane.validate(demo.app, strict=False)
gateway_app_lenient = trane.validate(gateway.app, strict=False)
