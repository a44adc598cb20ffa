"""The router's fast path, compiled to Python source from its trie.

How this works
--------------
``Router.__call__`` first follows the likeliest branch of the trie with no
looking back: at each segment the static child of that text, else the first
parameter child. A full match where that walk ends is the match the complete
search (``Router.resolve``) would find first, so it can be used at once.

Walking the trie node by node in a loop costs an attribute read, a dict
lookup and a few tests per segment. Instead, this module writes that walk
out as one Python function, specialised to the routes registered (Falcon's
``CompiledRouter`` does the same)::

    def walk(scope, parts, n, method):     # for "/hello/{name}" and "/"
        try:
            pass
            p0 = parts[0]                    # "" for any path starting with "/"
            if p0 == '':
                p1 = parts[1]
                if p1 == 'hello':
                    p2 = parts[2]
                    if p2:                   # {name}: any non-empty segment
                        if n == 3:           # the path ends here
                            if method == 'GET' or method == 'HEAD':  # its route for them
                                scope['path_params'] = {'name': p2}
                                return R0
                            return None      # no route here for the method
                        return None
                    return None
                if p1 == '':
                    ...                      # "/"
                return None
        except IndexError:                   # the path ended before the branch did
            pass
        return None

Where a Mount's prefix ends, a path going on that no static child takes
(and with no parameter child there to try) is the Mount's, as the complete
search would find::

            if p1 == 'api':                  # Mount("/api", api_router)
                scope['path_params'] = {}
                E1(scope, '/api')            # extend_root_path: root_path += "/api"
                return M2

A node with many static children dispatches through a dict of functions,
one per child, so 1000 routes cost one lookup, not 1000 tests. Each function
names its constants (routes, method tables, converters) in a namespace of
its own, so children of one shape, ``/route{i}/{name}`` say, share one
source and it is compiled once. ``None`` means "no quick answer": the caller
then runs the complete search. The Router compiles at lifespan startup, and
again on the first request after a route is added; ``router._walk_source``
holds what was compiled.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from types import CodeType
from typing import TYPE_CHECKING, Any

from .delegation import extend_root_path

if TYPE_CHECKING:
    from .routing import BaseRoute, Mount, _Node
    from .types import Scope

#: ``walk(scope, parts, n, method)``: the route found (``scope["path_params"]``
#: set), or None. ``parts`` is ``path.split("/")`` and ``n`` its length.
Walk = Callable[["Scope", list[str], int, str], "BaseRoute | None"]

#: Up to this many static children (or methods) are tested one by one; more use a dict.
MAX_CHAINED = 8
#: The methods tested first, in this order; the rest follow in alphabetical order.
_LIKELY = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")


def _method_order(method: str) -> tuple[int, str]:
    return (_LIKELY.index(method) if method in _LIKELY else len(_LIKELY), method)


class _Function:
    """Writes the source of one walk function, and the namespace it runs in."""

    def __init__(self, compiler: _Compiler, bound: Sequence[tuple[str, str]]) -> None:
        self.compiler = compiler
        self.args = ", ".join(["scope", "parts", "n", "method", *(var for _, var in bound)])
        self.lines = [f"def walk({self.args}):", "    try:"]
        self.namespace: dict[str, Any] = {}

    def name(self, prefix: str, value: Any) -> str:
        """A global name in the generated code that stands for ``value``."""
        name = f"{prefix}{len(self.namespace)}"
        self.namespace[name] = value
        return name

    def node(self, node: _Node, depth: int, bound: Sequence[tuple[str, str]], ind: str) -> None:
        """Code that goes on from ``node``, ``depth`` segments in; may fall through."""
        out = self.lines.append
        if node.by_method or node.any_method is not None:
            out(f"{ind}if n == {depth}:")
            self.end(node, bound, ind + "    ")
        if not node.children and not node.params:
            if node.mount is not None:  # nothing else here: the Mount takes the rest
                self.enter(node.mount, depth, bound, ind)
            return
        p = f"p{depth}"
        out(f"{ind}{p} = parts[{depth}]")
        if len(node.children) <= MAX_CHAINED:
            for text, child in node.children.items():
                out(f"{ind}if {p} == {text!r}:")
                self.node(child, depth + 1, bound, ind + "    ")
                out(f"{ind}    return None")
        else:
            table = {
                text: self.compiler.function(child, depth + 1, bound)
                for text, child in node.children.items()
            }
            out(f"{ind}f = {self.name('D', table)}.get({p})")
            out(f"{ind}if f is not None:")
            out(f"{ind}    return f({self.args})")
        if node.params:
            segment, child = node.params[0]
            if segment.pattern is None:  # a str parameter: any non-empty segment
                var = p
                out(f"{ind}if {p}:")
            else:
                var = f"v{depth}"
                match = self.name("P", segment.pattern.fullmatch)
                convert = self.name("C", segment.converter.convert)
                out(f"{ind}if {p} and {match}({p}) is not None:")
                out(f"{ind}    try:")
                out(f"{ind}        {var} = {convert}({p})")
                out(f"{ind}    except ValueError:")
                out(f"{ind}        return None")
            self.node(child, depth + 1, [*bound, (segment.name, var)], ind + "    ")
            out(f"{ind}    return None")
        elif node.mount is not None:
            # The path goes on, and no static child took it: with no parameter
            # child to try either, the complete search also falls to this
            # Mount, whose prefix is the path so far.
            self.enter(node.mount, depth, bound, ind)

    def enter(self, mount: Mount, depth: int, bound: Sequence[tuple[str, str]], ind: str) -> None:
        """Code that hands the rest of the path to ``mount`` (see ``extend_root_path``)."""
        out = self.lines.append
        matched = repr(mount.prefix) if not bound else f"'/'.join(parts[:{depth}])"
        out(f"{ind}scope['path_params'] = {self.params(bound)}")
        out(f"{ind}{self.name('E', extend_root_path)}(scope, {matched})")
        out(f"{ind}return {self.name('M', mount)}")

    def params(self, bound: Sequence[tuple[str, str]]) -> str:
        """The ``path_params`` dict display for the parameters ``bound``."""
        return "{" + ", ".join(f"{name!r}: {var}" for name, var in bound) + "}"

    def end(self, node: _Node, bound: Sequence[tuple[str, str]], ind: str) -> None:
        """Code for a path that ends at ``node``: its first route for the method."""
        out = self.lines.append
        params = self.params(bound)
        if len(node.by_method) > MAX_CHAINED:
            by_method = self.name("B", node.by_method)
            any_method = self.name("A", node.any_method)
            out(f"{ind}r = {by_method}.get(method, {any_method})")
            out(f"{ind}if r is not None:")
            out(f"{ind}    scope['path_params'] = {params}")
            out(f"{ind}return r")
            return
        # PERF: a few methods are tested one by one (a string comparison each,
        # the commonest first), not looked up in a dict: ~300 instructions less
        # a request (python -m benchmarks.count).
        methods: dict[BaseRoute, list[str]] = {}
        for method in sorted(node.by_method, key=_method_order):
            methods.setdefault(node.by_method[method], []).append(method)
        for route, names in methods.items():
            test = " or ".join(f"method == {name!r}" for name in names)
            out(f"{ind}if {test}:")
            out(f"{ind}    scope['path_params'] = {params}")
            out(f"{ind}    return {self.name('R', route)}")
        if node.any_method is None:
            out(f"{ind}return None")
        else:  # then any_method serves what no route here took
            out(f"{ind}scope['path_params'] = {params}")
            out(f"{ind}return {self.name('A', node.any_method)}")

    def source(self) -> str:
        # PERF: a path shorter than the branch it follows ends with an
        # IndexError here, rather than every node without routes testing n.
        ending = ["    except IndexError:", "        pass", "    return None", ""]
        return "\n".join([*self.lines, *ending])


class _Compiler:
    def __init__(self) -> None:
        self.code: dict[str, CodeType] = {}  # source -> compiled, shared by same-shaped nodes
        self.sources: list[str] = []

    def function(self, node: _Node, depth: int, bound: Sequence[tuple[str, str]]) -> Walk:
        """The walk from ``node``, ``depth`` segments in, with parameters ``bound`` so far."""
        function = _Function(self, bound)
        function.lines.append("        pass")  # for a node with nothing to test
        function.node(node, depth, bound, "        ")
        source = function.source()
        code = self.code.get(source)
        if code is None:
            code = self.code[source] = compile(source, "<trane.route_compiler>", "exec")
            self.sources.append(source)
        exec(code, function.namespace)
        walk: Walk = function.namespace["walk"]
        return walk


def compile_walk(top: _Node) -> tuple[Walk, str]:
    """The greedy walk from ``top`` as a function, and its source (for reading)."""
    compiler = _Compiler()
    walk = compiler.function(top, 0, [])
    return walk, "\n".join(reversed(compiler.sources))
