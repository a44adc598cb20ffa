"""Headers, QueryParams, MultiDict and URL: small read-mostly views over ASGI scope data.

``Headers`` wraps the raw ``[(name, value), ...]`` byte pairs of a scope. It
builds its lookup dict on first use only, since most requests read one or two
headers or none. ``MutableHeaders`` is what a response collects; it validates
every name and value as it is set, so a bad header raises in the view, long
before anything reaches the wire.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlencode

RawHeaders = list[tuple[bytes, bytes]]

# RFC 9110 token characters: what a header name may be made of.
_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_BAD_VALUE = re.compile(rb"[\x00\r\n]")


def encode_header(name: str, value: str) -> tuple[bytes, bytes]:
    """Validate and encode one header pair.

    >>> encode_header("X-Id", "7")
    (b'x-id', b'7')
    >>> encode_header("X-Id", "7\\r\\nSet-Cookie: a=b")
    Traceback (most recent call last):
    ...
    ValueError: header value for 'X-Id' contains CR, LF or NUL: '7\\r\\nSet-Cookie: a=b'
    """
    try:
        raw_name = name.encode("latin-1")
    except (UnicodeEncodeError, AttributeError):
        raise ValueError(f"header name must be a Latin-1 string, got {name!r}") from None
    if not _TOKEN.fullmatch(raw_name):
        raise ValueError(f"invalid header name {name!r}")
    try:
        raw_value = str(value).encode("latin-1")
    except UnicodeEncodeError:
        raise ValueError(f"header value for {name!r} is not Latin-1: {value!r}") from None
    if _BAD_VALUE.search(raw_value):
        raise ValueError(f"header value for {name!r} contains CR, LF or NUL: {value!r}")
    return raw_name.lower(), raw_value


class Headers(Mapping[str, str]):
    """Case-insensitive, multi-valued request headers.

    ``headers["accept"]`` and ``headers.get(...)`` give the first value;
    ``headers.getlist("cookie")`` gives them all.
    """

    __slots__ = ("_index", "raw")

    def __init__(self, raw: Iterable[tuple[bytes, bytes]] = ()) -> None:
        self.raw: RawHeaders = raw if isinstance(raw, list) else list(raw)
        self._index: dict[str, list[str]] | None = None

    def _lookup(self) -> dict[str, list[str]]:
        index = self._index
        if index is None:
            index = {}
            for name, value in self.raw:
                key = name.decode("latin-1").lower()
                index.setdefault(key, []).append(value.decode("latin-1"))
            self._index = index
        return index

    def __getitem__(self, key: str) -> str:
        return self._lookup()[key.lower()][0]

    def get(self, key: str, default: Any = None) -> Any:
        values = self._lookup().get(key.lower())
        return values[0] if values else default

    def getlist(self, key: str) -> list[str]:
        return list(self._lookup().get(key.lower(), ()))

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key.lower() in self._lookup()

    def __iter__(self) -> Iterator[str]:
        return iter(self._lookup())

    def __len__(self) -> int:
        return len(self._lookup())

    def multi_items(self) -> list[tuple[str, str]]:
        return [(k.decode("latin-1"), v.decode("latin-1")) for k, v in self.raw]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.multi_items()!r})"


class MutableHeaders(Headers):
    """Response headers: validated on every write.

    ``headers["x-a"] = "1"`` replaces every ``x-a``; ``headers.add("x-a", "2")``
    appends another one (as ``set-cookie`` needs).
    """

    __slots__ = ()

    def __setitem__(self, key: str, value: str) -> None:
        name, raw_value = encode_header(key, value)
        self.raw = [pair for pair in self.raw if pair[0] != name]
        self.raw.append((name, raw_value))
        self._index = None

    def __delitem__(self, key: str) -> None:
        name = key.lower().encode("latin-1")
        kept = [pair for pair in self.raw if pair[0] != name]
        if len(kept) == len(self.raw):
            raise KeyError(key)
        self.raw = kept
        self._index = None

    def add(self, key: str, value: str) -> None:
        self.raw.append(encode_header(key, value))
        self._index = None

    def setdefault(self, key: str, value: str) -> str:
        existing: str | None = self.get(key)
        if existing is None:
            self[key] = value
            return value
        return existing

    def update(self, other: Mapping[str, str]) -> None:
        for key, value in other.items():
            self[key] = value


V = TypeVar("V")


class MultiDict(Mapping[str, V]):
    """A read-only mapping where a key may come more than once.

    ``d[key]`` and ``d.get(key)`` give the first value, ``d.getlist(key)``
    all of them, ``d.multi_items()`` every pair in order.
    """

    __slots__ = ("_dict", "_list")

    def __init__(self, items: Iterable[tuple[str, V]] = ()) -> None:
        self._list = list(items)
        self._dict: dict[str, list[V]] = {}
        for key, value in self._list:
            self._dict.setdefault(key, []).append(value)

    def __getitem__(self, key: str) -> V:
        return self._dict[key][0]

    def getlist(self, key: str) -> list[V]:
        return list(self._dict.get(key, ()))

    def __iter__(self) -> Iterator[str]:
        return iter(self._dict)

    def __len__(self) -> int:
        return len(self._dict)

    def multi_items(self) -> list[tuple[str, V]]:
        return list(self._list)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._list!r})"


class QueryParams(MultiDict[str]):
    """Multi-valued query string: ``query["tag"]`` is the first, ``getlist`` all.

    >>> q = QueryParams(b"tag=a&tag=b&x=%20y")
    >>> q["tag"], q.getlist("tag"), q["x"]
    ('a', ['a', 'b'], ' y')
    """

    __slots__ = ()

    def __init__(self, query: bytes | str | Iterable[tuple[str, str]] = b"") -> None:
        if isinstance(query, bytes):
            query = query.decode("latin-1")
        if isinstance(query, str):
            query = parse_qsl(query, keep_blank_values=True)
        super().__init__(query)

    def __str__(self) -> str:
        return urlencode(self._list)

    def __repr__(self) -> str:
        return f"QueryParams({str(self)!r})"


class URL:
    """The request URL, rebuilt from the scope the way a client sent it."""

    __slots__ = ("netloc", "path", "query", "scheme")

    def __init__(self, scheme: str, netloc: str, path: str, query: str = "") -> None:
        self.scheme = scheme
        self.netloc = netloc
        self.path = path
        self.query = query

    @classmethod
    def from_scope(cls, scope: Mapping[str, Any]) -> URL:
        scheme = scope.get("scheme") or ("ws" if scope["type"] == "websocket" else "http")
        host = Headers(scope.get("headers", [])).get("host")
        if host is None:
            server = scope.get("server")
            if server:
                address, port = server[0], server[1]
                default = {"http": 80, "ws": 80, "https": 443, "wss": 443}.get(scheme)
                host = address if port in (default, None) else f"{address}:{port}"
            else:
                host = ""
        # NOTE: path includes root_path (ASGI) when it continues it at a "/";
        # "/apix" under "/api" is a path an older server sent without it.
        root_path, path = scope.get("root_path", ""), scope["path"]
        if not (path.startswith(root_path) and path[len(root_path) :][:1] in ("", "/")):
            path = root_path + path
        return cls(scheme, host, path, scope.get("query_string", b"").decode("latin-1"))

    def __str__(self) -> str:
        url = f"{self.scheme}://{self.netloc}{self.path}" if self.netloc else self.path
        return f"{url}?{self.query}" if self.query else url

    def __eq__(self, other: object) -> bool:
        return str(self) == str(other)

    def __hash__(self) -> int:
        return hash(str(self))

    def __repr__(self) -> str:
        return f"URL({str(self)!r})"
