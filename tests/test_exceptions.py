"""The exceptions users catch: their text and the built-in bases they extend."""

from __future__ import annotations

import trane


def test_websocket_disconnect_fields_and_text() -> None:
    going = trane.WebSocketDisconnect(1001, "server restarting")
    assert (going.code, going.reason) == (1001, "server restarting")
    assert str(going) == "WebSocket disconnected with code 1001: server restarting"
    assert str(trane.WebSocketDisconnect()) == "WebSocket disconnected with code 1000"


def test_exceptions_extend_the_built_ins_they_stand_for() -> None:
    # ``except RuntimeError`` / ``except LookupError`` in user code catch them.
    assert issubclass(trane.ResponseStateError, RuntimeError)
    assert issubclass(trane.NoMatch, LookupError)
    assert issubclass(trane.BodyNotWanted, trane.ClientDisconnect)
    for error in (trane.HTTPError, trane.WebSocketDisconnect, trane.ClientDisconnect):
        assert issubclass(error, trane.TraneError)
