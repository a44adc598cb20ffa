"""trane WebSocket echo (``trane.WebSocketApplication``), served as the bare router."""

from __future__ import annotations

import benchmarks.apps  # noqa: F401  (puts src/ on sys.path if needed)
import trane


class Echo(trane.WebSocketApplication):
    async def connect(self) -> None:
        await self.accept()

    async def receive_text(self, text: str) -> None:
        await self.send_text(text)


router = trane.Router([trane.WebSocketRoute("/ws", Echo)])
app = router
app3 = trane.as_asgi3(router)
