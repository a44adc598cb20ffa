"""The OpenAPI 3.1 document of a route table, and an app that serves it.

How this works
--------------
``build_document(routes, title=..., version=...)`` (``Router.openapi()``)
walks the routes depth first: a ``Route`` to an ``Application`` subclass is a
path item, a ``Mount`` of a ``Router`` adds its prefix (and its parameters)
and its name (``"api:item"``) to everything under it; WebSocket routes and
foreign apps are not described. Path templates lose their converters
(``/items/{id:int}`` -> ``/items/{id}``), which become the parameters'
schemas. Each verb the class serves (its own or inherited: a subclass's route
shows its base's verbs) is an operation, described from what params.py read
from its signature: path, query, header and cookie parameters, the request
body, the return annotation (the success response), ``@operation(...)`` and
the class's ``responses`` (declared errors, answered as problem+json), and
the 4xx answers trane itself gives (422, 400, 413, 415; 404 where a path
parameter may not match its converter). The class docstring describes the
path item, the verb docstring the operation (first paragraph: summary).
All types go through one ``msgspec.json.schema_components`` call, so each
Struct is one entry of ``components.schemas`` however often it is used.

``OpenAPIDocs`` is a mountable app: ``Mount("/docs", OpenAPIDocs(title=...,
version=...))`` serves ``/docs/openapi.json`` (the document of the router it
is mounted in, built on first request) and, at ``/docs/``, a Swagger UI page
whose files come from the ``swagger-ui-bundle-v2`` package (``pip install
'trane[openapi]'``): nothing is fetched from a CDN.
"""

from __future__ import annotations

import html
import importlib
import inspect
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import msgspec

from .applications import HTTP_VERBS, Application, ViewClass
from .forms import UploadFile
from .params import (
    EMPTY,
    PROBLEM_JSON,
    Param,
    ProblemDetails,
    VerbSignature,
    read_signature,
    status_phrase,
)
from .responses import HTMLResponse, Response
from .staticfiles import StaticFiles
from .types import ASGI2Instance, Scope

OPENAPI_VERSION: Final = "3.1.0"
_REF: Final = "#/components/schemas/{name}"
_PROBLEM: Final = {"$ref": _REF.format(name="ProblemDetails")}
_UUID: Final = "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"

#: The schema of a path parameter, by its converter's regex (routing's converters).
_CONVERTER_SCHEMAS: Final[dict[str, dict[str, Any]]] = {
    "[^/]+": {"type": "string", "pattern": "^[^/]+$"},
    ".*": {"type": "string"},
    "[0-9]+": {"type": "integer", "minimum": 0},
    r"[0-9]+(?:\.[0-9]+)?": {"type": "number", "minimum": 0},
    _UUID: {"type": "string", "format": "uuid"},
}
#: Annotations a converter gives already: the converter's schema says it all.
_PLAIN: Final = (EMPTY, str, int, float, Any, object)


@dataclass
class _Operation:
    template: str
    method: str
    cls: Any
    signature: VerbSignature | None
    name: str  # the route's qualified name or the class name
    converters: dict[str, Any]


def _routes(
    routes: Iterable[Any], prefix: str = "", names: str = "", converters: Any = None
) -> Iterator[tuple[str, str, Any, dict[str, Any]]]:
    """(OpenAPI path template, qualified name, view class, converters) of each HTTP route."""
    for route in routes:
        if "http" not in route.scope_types:
            continue
        name = f"{names}{route.name}" if route.name else ""
        found = {**(converters or {}), **route.converters}
        template = prefix + route.format
        if isinstance(route.app, ViewClass):
            yield template or "/", name, route.app, found
        elif hasattr(route, "routes"):  # a Mount: a Router's routes, else nothing
            inner = f"{name}:" if route.name else names
            yield from _routes(route.routes, template.rstrip("/"), inner, found)


def _operations(routes: Iterable[Any]) -> list[_Operation]:
    found = []
    for template, name, cls, converters in _routes(routes):
        methods = cls.allowed_methods()
        for method, attr in HTTP_VERBS.items():
            if method not in methods or not callable(getattr(cls, attr, None)):
                continue  # the automatic HEAD and OPTIONS answers are not operations
            function = inspect.getattr_static(cls, attr, None)
            signature = read_signature(function) if inspect.isfunction(function) else None
            found.append(_Operation(template, method, cls, signature, name, converters))
    return found


class _Schemas:
    """Collects the types of a document, then makes all their schemas at once."""

    def __init__(self) -> None:
        self.types: list[Any] = [ProblemDetails]
        self.schemas: list[dict[str, Any]] = []
        self.components: dict[str, Any] = {}

    def add(self, annotation: Any) -> int:
        self.types.append(annotation)
        return len(self.types) - 1

    def build(self) -> None:
        schemas, self.components = msgspec.json.schema_components(
            self.types, schema_hook=_schema_hook, ref_template=_REF
        )
        self.schemas = list(schemas)

    def __getitem__(self, index: int) -> dict[str, Any]:
        return self.schemas[index]


def _schema_hook(cls: type) -> dict[str, Any]:
    if cls is UploadFile:
        return {"type": "string", "format": "binary"}
    return {"title": cls.__name__}  # a type msgspec cannot describe: any value


def _converter_schema(converter: Any) -> dict[str, Any]:
    own = getattr(converter, "schema", None)
    if isinstance(own, Mapping):
        return dict(own)
    regex = converter.regex
    return dict(_CONVERTER_SCHEMAS.get(regex) or {"type": "string", "pattern": f"^(?:{regex})$"})


def _is_upload(annotation: Any) -> bool:
    """Whether a form model has an ``UploadFile`` field (then it is multipart only)."""
    for field in getattr(msgspec.inspect.type_info(annotation), "fields", ()):
        kind = getattr(field.type, "item_type", field.type)
        if isinstance(kind, msgspec.inspect.CustomType) and kind.cls is UploadFile:
            return True
    return False


def _media_type(returns: Any) -> str | None:
    """The success response's media type for a return annotation; None: unknown/no body."""
    if returns is EMPTY:
        return None
    if returns is str:
        return "text/plain"
    if returns is bytes:
        return "application/octet-stream"
    try:
        info = msgspec.inspect.type_info(returns)
    except (TypeError, ValueError):
        return None
    if isinstance(info, msgspec.inspect.NoneType | msgspec.inspect.AnyType):
        return None
    if isinstance(info, msgspec.inspect.CustomType):
        return None  # a Response, an iterator...
    return "application/json"


def _json_default(value: Any) -> tuple[bool, Any]:
    try:
        return True, msgspec.to_builtins(value)
    except TypeError:
        return False, None


class _Builder:
    def __init__(self, operations: list[_Operation]) -> None:
        self.operations = operations
        self.schemas = _Schemas()
        self.indexes: dict[tuple[int, str], int] = {}

    def collect(self) -> None:
        for n, op in enumerate(self.operations):
            sig = op.signature
            if sig is None:
                continue
            for p in (*sig.path, *sig.params):
                if p.annotation not in _PLAIN or p.location != "path":
                    self.indexes[n, f"param:{p.name}"] = self.schemas.add(
                        Any if p.annotation is EMPTY else p.annotation
                    )
            if sig.body is not None:
                self.indexes[n, "body"] = self.schemas.add(sig.body.annotation)
            if _media_type(sig.returns) is not None:
                self.indexes[n, "return"] = self.schemas.add(sig.returns)
        self.schemas.build()

    def schema(self, n: int, key: str) -> dict[str, Any]:
        return self.schemas[self.indexes[n, key]]

    def parameters(self, n: int, op: _Operation) -> list[dict[str, Any]]:
        sig = op.signature
        by_name: dict[str, Param] = {p.name: p for p in sig.path} if sig else {}
        found = []
        for name, converter in op.converters.items():
            schema = _converter_schema(converter)
            param = by_name.get(name)
            if param is not None and param.annotation not in _PLAIN:
                typed = self.schema(n, f"param:{name}")
                # NOTE: a str converter's value is converted to the annotation:
                # the annotation says what it may be; other converters narrow it.
                plain = converter.regex in ("[^/]+", ".*")
                schema = typed if plain else {"allOf": [schema, typed]}
            found.append({"name": name, "in": "path", "required": True, "schema": schema})
        for p in sig.params if sig else ():
            entry: dict[str, Any] = {
                "name": p.key,
                "in": p.location,
                "required": p.required,
                "schema": dict(self.schema(n, f"param:{p.name}")),
            }
            if not p.required:
                ok, default = _json_default(p.default)
                if ok:
                    entry["schema"]["default"] = default
            found.append(entry)
        return found

    def operation(self, n: int, op: _Operation, operation_id: str) -> dict[str, Any]:
        sig = op.signature
        info = sig.operation if sig else None
        out: dict[str, Any] = {"operationId": operation_id}
        if sig is not None:
            if sig.summary:
                out["summary"] = sig.summary
            if sig.description:
                out["description"] = sig.description
        if info is not None and info.tags:
            out["tags"] = list(info.tags)
        elif getattr(op.cls, "openapi_tags", None):
            out["tags"] = list(op.cls.openapi_tags)
        if info is not None and info.deprecated:
            out["deprecated"] = True
        parameters = self.parameters(n, op)
        if parameters:
            out["parameters"] = parameters
        if sig is not None and sig.body is not None:
            schema = self.schema(n, "body")
            if not sig.body.form:
                content = {"application/json": {"schema": schema}}
            elif _is_upload(sig.body.annotation):
                content = {"multipart/form-data": {"schema": schema}}
            else:
                content = {
                    "application/x-www-form-urlencoded": {"schema": schema},
                    "multipart/form-data": {"schema": schema},
                }
            out["requestBody"] = {"required": sig.body.default is EMPTY, "content": content}
        out["responses"] = self.responses(n, op)
        return out

    def responses(self, n: int, op: _Operation) -> dict[str, Any]:
        sig = op.signature
        returns = sig.returns if sig else EMPTY
        status = (sig.operation.status if sig else None) or 200
        media = _media_type(returns)
        if returns is None or returns is type(None):
            status = 204 if status == 200 else status
        success: dict[str, Any] = {"description": status_phrase(status)}
        if media is not None:
            success["content"] = {media: {"schema": self.schema(n, "return")}}
        out: dict[str, Any] = {str(status): success}
        errors: dict[int, dict[str, Any]] = {}

        def problem(code: int, description: str, *extra: str) -> None:
            entry = errors.setdefault(code, {"description": description, "content": {}})
            entry["content"][PROBLEM_JSON] = {"schema": _PROBLEM}
            for media_type in extra:
                entry["content"][media_type] = {"schema": {"type": "string"}}

        declared: dict[int, str] = {}
        own = getattr(op.cls, "responses", None)
        if isinstance(own, Mapping):
            declared.update({k: v for k, v in own.items() if isinstance(k, int)})
        if sig is not None:
            declared.update(sig.operation.responses)
        for code, description in declared.items():
            problem(code, str(description))
        if op.converters:
            # The router answers 404 (text) when a value does not match its converter.
            problem(404, declared.get(404, "No route matches these path parameters"), "text/plain")
        if sig is not None and sig.call is not None:
            if sig.params or sig.body or _checked_path(sig):
                problem(422, "A parameter or the body is invalid")
            if sig.body is not None:
                problem(400, "The body is malformed")
                problem(413, "The body is too large")
                problem(415, "The body is not of the media type described")
        for code in sorted(errors):
            out[str(code)] = errors[code]
        return out


def _checked_path(sig: VerbSignature) -> bool:
    return any(p.annotation not in (EMPTY, str, Any, object) for p in sig.path)


def _doc(cls: type) -> tuple[str | None, str | None]:
    doc = cls.__dict__.get("__doc__")
    if not doc:
        return None, None
    first, _, rest = inspect.cleandoc(doc).partition("\n\n")
    return " ".join(first.split()), rest.strip() or None


def build_document(
    routes: Iterable[Any],
    *,
    title: str,
    version: str,
    description: str | None = None,
    servers: Sequence[str] = (),
) -> dict[str, Any]:
    """The OpenAPI 3.1 document of ``routes`` (see the module docstring)."""
    operations = _operations(routes)
    builder = _Builder(operations)
    builder.collect()
    paths: dict[str, dict[str, Any]] = {}
    used: set[str] = set()
    for n, op in enumerate(operations):
        item = paths.get(op.template)
        if item is None:
            item = paths[op.template] = {}
            summary, details = _doc(op.cls)
            if summary:
                item["summary"] = summary
            if details:
                item["description"] = details
        info = op.signature.operation if op.signature else None
        base = (info and info.operation_id) or f"{op.name or op.cls.__name__}.{op.method.lower()}"
        operation_id, k = base, 1
        while operation_id in used:
            k += 1
            operation_id = f"{base}_{k}"
        used.add(operation_id)
        item[op.method.lower()] = builder.operation(n, op, operation_id)
    info_object: dict[str, Any] = {"title": title, "version": version}
    if description:
        info_object["description"] = description
    document: dict[str, Any] = {"openapi": OPENAPI_VERSION, "info": info_object}
    if servers:
        document["servers"] = [{"url": url} for url in servers]
    document["paths"] = paths
    document["components"] = {"schemas": builder.schemas.components}
    return document


# -- serving it ------------------------------------------------------------

_PAGE: Final = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="stylesheet" href="{base}/swagger-ui.css">
</head>
<body>
<div id="swagger-ui" data-url="{base}/openapi.json"></div>
<script src="{base}/swagger-ui-bundle.js"></script>
<script src="{base}/trane-docs.js"></script>
</body>
</html>
"""

# NOTE: a file of its own, not an inline script, so a strict Content-Security-Policy works.
_INIT_JS: Final = """window.addEventListener("load", function () {
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({url: root.dataset.url, dom_id: "#swagger-ui", deepLinking: true});
});
"""


def swagger_ui_directory() -> str:
    """Where the ``swagger-ui-bundle-v2`` package keeps Swagger UI's files."""
    try:
        swagger_ui_bundle = importlib.import_module("swagger_ui_bundle")
    except ImportError:
        raise ImportError(
            "the OpenAPI docs page needs Swagger UI's files: pip install 'trane[openapi]'"
        ) from None
    return str(swagger_ui_bundle.swagger_ui_path)


class OpenAPIDocs:
    """Serves ``/openapi.json`` and a Swagger UI page where it is mounted.

    ``Mount("/docs", OpenAPIDocs(title="Items", version="1.0"))``; the
    document is the one of the outermost router (or of ``router``), built
    when first asked for. ``page=False`` serves the document only.
    """

    _asgi_double_callable = True

    def __init__(
        self,
        *,
        title: str,
        version: str,
        description: str | None = None,
        router: Any = None,
        page: bool = True,
    ) -> None:
        self.title = title
        self.version = version
        self.description = description
        self.router = router
        self.assets = StaticFiles(directory=swagger_ui_directory()) if page else None
        self._documents: dict[str, bytes] = {}

    def document(self, router: Any, root_path: str = "") -> bytes:
        """The document of ``router`` as JSON (made once per outer ``root_path``)."""
        found = self._documents.get(root_path)
        if found is None:
            document = router.openapi(
                title=self.title,
                version=self.version,
                description=self.description,
                servers=[root_path] if root_path else (),
            )
            found = self._documents[root_path] = json.dumps(document).encode()
        return found

    def __call__(self, scope: Scope) -> ASGI2Instance:
        root_path: str = scope.get("root_path", "")
        path: str = scope["path"]
        rest = path[len(root_path) :] if path.startswith(root_path) else path
        if scope["type"] == "http" and rest == "/openapi.json":
            return _Document(scope, self)
        if self.assets is not None:
            if scope["type"] == "http" and rest in ("", "/"):
                return _Page(scope, self)
            if scope["type"] == "http" and rest == "/trane-docs.js":
                return _Script(scope, self)
            return self.assets(scope)
        return _Document(scope, self)  # 404 for anything else (see _Document.get)


class _DocsView(Application):
    def __init__(self, scope: Scope, docs: OpenAPIDocs) -> None:
        super().__init__(scope)
        self.docs = docs

    @property
    def base(self) -> str:
        return str(self.scope.get("root_path", ""))


class _Document(_DocsView):
    async def get(self) -> Response:
        if not self.path.endswith("/openapi.json"):
            return Response(b"Not Found", 404, media_type="text/plain")
        docs = self.docs
        router = docs.router or self.scope.get("trane.router")
        if router is None:
            raise RuntimeError("OpenAPIDocs needs a trane.Router around it (or router=...)")
        outer: str = self.scope.get("trane.root_path", "")
        return Response(docs.document(router, outer), media_type="application/json")


class _Page(_DocsView):
    async def get(self) -> HTMLResponse:
        title = html.escape(self.docs.title)
        return HTMLResponse(_PAGE.format(title=title, base=html.escape(self.base)))


class _Script(_DocsView):
    async def get(self) -> Response:
        return Response(_INIT_JS, media_type="text/javascript")


__all__ = ["OPENAPI_VERSION", "OpenAPIDocs", "build_document", "swagger_ui_directory"]
