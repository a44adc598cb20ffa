"""Matching what the route trie leaves over, in time linear in the path.

How this works
--------------
The router's trie matches a template segment by segment while a segment is
static text or one parameter alone. What is left, the *tail*
(``{name}.{ext}``, ``v{n:int}``, ``{p:path}`` and every segment after the
first such one), is matched here by hand. It used to be a regex, and a regex
of adjacent ``[^/]+`` groups backtracks: a 1 KiB path took 2.5 s to refuse
with three parameters, over a minute with four (benchmarks/route_redos.py).

A segment template is literals and parameters in turn::

    "{y}-{m}-{d}.json"  ->  literals "", "-", "-", ".json"; parameters y, m, d

Two parameters with no literal between them are refused when the route is
made (nothing could tell where one ends). A segment matches text that starts
with its first literal and ends with its last; the literals between are
found with ``str.rfind`` from the right, each as far right as it fits, so
each parameter takes the longest text it can, left to right: the split the
greedy regex made::

    "{name}.{ext}"  on "archive.tar.gz"   ->  name "archive.tar", ext "gz"

Each piece then meets its converter: the converter's regex with
``fullmatch`` on that piece alone, then ``convert``. If a converter refuses,
the split is made once more from the left (``str.find``, each literal as far
left as it fits, each parameter but the last as short as it can be), which
is what ``{id:int}-{slug}`` needs::

    "{id:int}-{slug}"  on "42-my-post"  ->  "42-my" is no int; from the left: 42, "my-post"

If a converter refuses a piece of that split too, the segment does not
match; no third split is tried. A parameter takes at least one character,
``path`` any number. Every search starts left (or right) of where the last
one stopped, so each split reads the text about once per literal character:
linear in the path. (A converter's own regex runs on its one piece; a
user's converter should keep that regex free of nested repeats.)

A tail of several segments meets the request's segments one to one, since
only a ``path`` parameter holds a "/" (at most one per template). Segments
before a ``path`` parameter's own are matched from the left, those after it
from the right, and its segment is the text between, slashes and all: the
literals before the parameter lie in that text's first "/"-piece, those
after it in its last. A Mount's tail may be followed by more segments:
they are the remainder the mounted app routes on.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

#: (each parameter's text, each parameter's converted value), in template order.
Found = tuple[list[str], list[Any]]


class Param:
    """One ``{name:converter}``; ``spans``: a ``path`` parameter (may hold "/", may be empty)."""

    __slots__ = ("convert", "fullmatch", "least", "name", "spans")

    def __init__(self, name: str, converter: Any, spans: bool = False) -> None:
        self.name = name
        self.spans = spans
        self.least = 0 if spans else 1  # the fewest characters it takes
        self.convert: Callable[[str], Any] = converter.convert
        # PERF: "[^/]+" accepts every piece a split gives (non-empty, no "/").
        regex = converter.regex
        self.fullmatch: Callable[[str], object] | None = (
            None if spans or regex == "[^/]+" else re.compile(regex).fullmatch
        )


class _Fragment:
    """A ``path`` parameter's part within one "/"-piece: converted once whole."""

    regex = ".*"

    @staticmethod
    def convert(value: str) -> str:
        return value


class SegmentPattern:
    """One template segment: ``literals[0] {params[0]} literals[1] ... literals[-1]``.

    >>> class Int:  # a converter: its regex, and convert()
    ...     regex, convert = "[0-9]+", int
    >>> date = SegmentPattern(["", "-", "-", ""], [Param(n, Int) for n in "ymd"])
    >>> date.match("2024-01-02")
    (['2024', '01', '02'], [2024, 1, 2])
    >>> date.match("2024-01") is None
    True
    """

    __slots__ = ("after", "before", "least", "literals", "params", "room", "shortest", "spans")

    def __init__(
        self, literals: Sequence[str], params: Sequence[Param], halves: bool = True
    ) -> None:
        # NOTE: the router checks templates first: one literal more than
        # parameters, none empty between two parameters, at most one path.
        self.literals = tuple(literals)
        self.params = tuple(params)
        # least[i]: where literals[i] starts at the earliest; room[i]: the
        # fewest characters after it ends.
        self.least, at = [0], len(literals[0])
        for param, literal in zip(params, literals[1:], strict=True):
            at += param.least
            self.least.append(at)
            at += len(literal)
        self.shortest = at
        self.room = [
            at - start - len(literal) for start, literal in zip(self.least, literals, strict=True)
        ]
        #: The index of the path parameter, or -1; with its halves (see ``match_parts``).
        self.spans = next((i for i, param in enumerate(params) if param.spans), -1)
        self.before = self.after = self
        if self.spans >= 0 and halves:
            b = self.spans
            fragment = Param(params[b].name, _Fragment, spans=True)
            before = [*literals[: b + 1], ""], [*params[:b], fragment]
            after = ["", *literals[b + 1 :]], [fragment, *params[b + 1 :]]
            self.before = SegmentPattern(*before, halves=False)
            self.after = SegmentPattern(*after, halves=False)

    def match(self, text: str) -> Found | None:
        """The pieces of ``text`` and their converted values, or None."""
        literals = self.literals
        if (
            len(text) < self.shortest
            or not text.startswith(literals[0])
            or not text.endswith(literals[-1])
        ):
            return None
        if not self.params:
            return ([], []) if len(text) == self.shortest else None
        pieces = self._from_right(text)
        if pieces is None:  # no literal fits: from the left none does either
            return None
        values = self._convert(pieces)
        if values is not None:
            return pieces, values
        again = self._from_left(text)
        if again == pieces:
            return None
        values = self._convert(again)
        return (again, values) if values is not None else None

    def _from_right(self, text: str) -> list[str] | None:
        literals, least, params = self.literals, self.least, self.params
        k = len(params)
        pieces = [""] * k
        end = len(text) - len(literals[k])  # where the last literal starts
        for i in range(k - 1, 0, -1):
            start = text.rfind(literals[i], least[i], end - params[i].least)
            if start < 0:
                return None
            pieces[i] = text[start + len(literals[i]) : end]
            end = start
        pieces[0] = text[len(literals[0]) : end]
        return pieces

    def _from_left(self, text: str) -> list[str]:
        # NOTE: only called once _from_right found every literal, so every find succeeds.
        literals, room, params = self.literals, self.room, self.params
        k = len(params)
        pieces = [""] * k
        begin = len(literals[0])  # where the current parameter starts
        for i in range(1, k):
            start = text.find(literals[i], begin + params[i - 1].least, len(text) - room[i])
            pieces[i - 1] = text[begin:start]
            begin = start + len(literals[i])
        pieces[k - 1] = text[begin : len(text) - len(literals[k])]
        return pieces

    def _convert(self, pieces: list[str]) -> list[Any] | None:
        values = []
        for param, piece in zip(self.params, pieces, strict=True):
            if param.fullmatch is not None and param.fullmatch(piece) is None:
                return None
            try:
                values.append(param.convert(piece))
            except ValueError:
                return None
        return values

    def match_parts(self, parts: Sequence[str]) -> Found | None:
        """Match a path parameter's segment: ``parts``, one or more "/"-pieces."""
        if len(parts) == 1:
            return self.match(parts[0])
        head, tail = self.before.match(parts[0]), self.after.match(parts[-1])
        if head is None or tail is None:
            return None
        text = "/".join([head[0][-1], *parts[1:-1], tail[0][0]])
        try:
            value = self.params[self.spans].convert(text)
        except ValueError:
            return None
        return (
            [*head[0][:-1], text, *tail[0][1:]],
            [*head[1][:-1], value, *tail[1][1:]],
        )


class TailPattern:
    """A route's tail: segment patterns, matched against the request's segments."""

    __slots__ = ("mount", "names", "segments", "span")

    def __init__(self, segments: Sequence[SegmentPattern], mount: bool = False) -> None:
        self.segments = tuple(segments)
        self.mount = mount  # more segments may follow: the remainder (no path parameter then)
        #: The segment with the path parameter, or -1.
        self.span = next((j for j, segment in enumerate(segments) if segment.spans >= 0), -1)
        self.names = [param.name for segment in segments for param in segment.params]

    def match(
        self, parts: Sequence[str], i: int
    ) -> tuple[dict[str, str], dict[str, Any], str] | None:
        """For ``parts[i:]``: each parameter's text, its value, and the remainder."""
        segments, span = self.segments, self.span
        m, n = len(segments), len(parts) - i
        if n < m or (n > m and span < 0 and not self.mount):
            return None
        pieces: list[str] = []
        values: list[Any] = []
        after = len(parts) - m  # parts[after + j] is segment j's, for j past the span
        for j, segment in enumerate(segments):
            if j == span:
                found = segment.match_parts(parts[i + j : after + j + 1])
            else:
                found = segment.match(parts[i + j] if span < 0 or j < span else parts[after + j])
            if found is None:
                return None
            pieces += found[0]
            values += found[1]
        remainder = "/" + "/".join(parts[i + m :]) if n > m and span < 0 else ""
        return (
            dict(zip(self.names, pieces, strict=True)),
            dict(zip(self.names, values, strict=True)),
            remainder,
        )


__all__ = ["Param", "SegmentPattern", "TailPattern"]
