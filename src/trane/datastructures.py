"""Headers, QueryParams, MultiDict and URL: small read-mostly views over ASGI scope data.

``Headers`` wraps the raw ``[(name, value), ...]`` byte pairs of a scope. One
name is looked up by scanning those pairs; the dict of every decoded name is
built only when something needs them all, since most requests read one or
two headers or none. ``MutableHeaders`` is what a response collects; it validates
every name and value as it is set, so a bad header raises in the view, long
before anything reaches the wire.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Final, TypeVar
from urllib.parse import parse_qsl, urlencode

RawHeaders = list[tuple[bytes, bytes]]

# RFC 9110 token characters: what a header name may be made of.
_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# RFC 9110 field-value: visible ASCII and obs-text, with SP and HTAB inside
# (the ends are stripped). Anything else is a control character.
_BAD_VALUE = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")
_CR_LF_NUL = re.compile(rb"[\x00\r\n]")


def encode_header(name: str, value: str) -> tuple[bytes, bytes]:
    """Validate and encode one header pair: an RFC 9110 token and field value.

    >>> encode_header("X-Id", " 7 ")
    (b'x-id', b'7')
    >>> encode_header("X-Id", "7\\r\\nSet-Cookie: a=b")
    Traceback (most recent call last):
    ...
    ValueError: header value for 'X-Id' contains CR, LF or NUL: '7\\r\\nSet-Cookie: a=b'
    >>> encode_header("X-Id", "7\\x7f")
    Traceback (most recent call last):
    ...
    ValueError: header value for 'X-Id' contains a control character: '7\\x7f'

    Leading and trailing spaces and tabs are stripped, as RFC 9110 says a
    field value has none.
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
        what = "CR, LF or NUL" if _CR_LF_NUL.search(raw_value) else "a control character"
        raise ValueError(f"header value for {name!r} contains {what}: {value!r}")
    return raw_name.lower(), raw_value.strip(b" \t")


# What Headers.get() gives for an absent name, where None would be a value.
_MISSING: Final = object()


class Headers(Mapping[str, str]):
    """Case-insensitive, multi-valued request headers.

    ``headers["accept"]`` and ``headers.get(...)`` give the first value;
    ``headers.getlist("cookie")`` gives them all.

    PERF: looking up one name scans the raw pairs for its lower-case bytes
    and decodes only the values it returns; the name-to-values dict is built
    only for what needs every header (iteration, ``len``, ``keys()``...).
    ASGI servers send names in lower case, so the scan's first comparison
    finds them; a name in another case (a hand-built list) is still found,
    by a second comparison made only for names of the same length.
    Measured (callgrind) on benchmarks' POST /post, 7 headers, two lookups:
    127,174 -> 111,714 instructions per request in-process.
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

    def get(self, key: str, default: Any = None) -> Any:
        if self._index is None and key.isascii():
            # NOTE: for a non-ASCII key str.lower() and bytes.lower() differ:
            # the dict below answers it (never with a match from a server).
            name = key.lower().encode("ascii")
            size = len(name)
            for raw_name, value in self.raw:
                if raw_name == name or (len(raw_name) == size and raw_name.lower() == name):
                    return value.decode("latin-1")
            return default
        values = self._lookup().get(key.lower())
        return values[0] if values else default

    def __getitem__(self, key: str) -> str:
        value = self.get(key, _MISSING)
        if value is _MISSING:
            raise KeyError(key)
        found: str = value
        return found

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.get(key, _MISSING) is not _MISSING

    def getlist(self, key: str) -> list[str]:
        if self._index is None and key.isascii():
            name = key.lower().encode("ascii")
            size = len(name)
            return [
                value.decode("latin-1")
                for raw_name, value in self.raw
                if raw_name == name or (len(raw_name) == size and raw_name.lower() == name)
            ]
        return list(self._lookup().get(key.lower(), ()))

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
            if "%" in query or "+" in query:
                query = parse_qsl(query, keep_blank_values=True)
            else:
                # PERF: with nothing escaped, parse_qsl only splits: at "&", then
                # at the first "=" (a property test holds the two to the same
                # pairs). QueryParams(b"x=1"): 21,346 -> 9,930 instructions.
                pairs = []
                for part in query.split("&"):
                    if part:
                        name, _, value = part.partition("=")
                        pairs.append((name, value))
                query = pairs
        super().__init__(query)

    def __str__(self) -> str:
        return urlencode(self._list)

    def __repr__(self) -> str:
        return f"QueryParams({str(self)!r})"


# RFC 3986 host as a Host header may carry it: a DNS-style name or IPv4
# address, or a bracketed IPv6 address; then an optional port.
_HOST = re.compile(r"(?:([A-Za-z0-9._-]+)|\[([0-9A-Fa-f:.]+)\])(?::([0-9]{1,5}))?")


def split_host(value: str) -> tuple[str, int | None] | None:
    """``(hostname, port)`` of a Host header value; None if it is no valid host.

    The hostname is lower-cased and IPv6 loses its brackets, as
    ``urllib.parse.urlsplit`` gives it.

    >>> split_host("Example.com:8080"), split_host("[::1]")
    (('example.com', 8080), ('::1', None))
    >>> split_host("evil.com:80@good.com"), split_host("example.com/admin?x=")
    (None, None)
    """
    match = _HOST.fullmatch(value)
    if match is None:
        return None
    name, ipv6, port = match.groups()
    if ipv6 is not None:
        try:
            ipaddress.IPv6Address(ipv6)
        except ValueError:
            return None
        name = ipv6
    number = None if port is None else int(port)
    if number is not None and number > 65535:
        return None
    return name.lower(), number


def host_allowed(hostname: str, allowed: str | Iterable[str]) -> bool:
    """Whether ``hostname`` (from ``split_host``) matches one of ``allowed``.

    ``"*"`` matches any host, ``"*.example.com"`` any subdomain of
    example.com (not example.com itself); others match exactly. Case and a
    trailing dot do not count; IPv6 may be written with or without brackets.
    A single string is one pattern, not a list of letters.

    >>> host_allowed("api.example.com", ["*.example.com"])
    True
    >>> host_allowed("example.com", ["*.example.com"]), host_allowed("::1", ["[::1]"])
    (False, True)
    """
    hostname = hostname.rstrip(".")
    for pattern in (allowed,) if isinstance(allowed, str) else allowed:
        pattern = pattern.lower().rstrip(".").strip("[]")
        if pattern == "*" or pattern == hostname:
            return True
        if pattern.startswith("*.") and hostname.endswith(pattern[1:]):
            return True
    return False


class URL:
    """The request URL, rebuilt from the scope the way a client sent it.

    The netloc is the Host header when it is a valid host (see
    ``split_host``), else the server's address: a Host header such as
    ``example.com/admin?x=`` or ``evil.com:80@good.com`` never becomes part
    of the URL.
    """

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
        if host is None or split_host(host) is None:
            server = scope.get("server")
            if server:
                address, port = server[0], server[1]
                if ":" in address:
                    address = f"[{address}]"
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

    @property
    def hostname(self) -> str | None:
        """The host, lower-cased, IPv6 without brackets; None if there is none."""
        host = split_host(self.netloc)
        return None if host is None else host[0]

    @property
    def port(self) -> int | None:
        """The port given in the netloc, if any."""
        host = split_host(self.netloc)
        return None if host is None else host[1]

    def __str__(self) -> str:
        url = f"{self.scheme}://{self.netloc}{self.path}" if self.netloc else self.path
        return f"{url}?{self.query}" if self.query else url

    def __eq__(self, other: object) -> bool:
        return str(self) == str(other)

    def __hash__(self) -> int:
        return hash(str(self))

    def __repr__(self) -> str:
        return f"URL({str(self)!r})"
