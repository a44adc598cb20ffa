"""Typed verbs: a verb's signature, read once, becomes msgspec decoding steps.

How this works
--------------
When a view class is made, ``read_signature()`` reads each verb's signature
(with ``typing.get_type_hints``, following ``functools.wraps``) and sorts its
parameters::

    async def put(self, item_id: int, item: Item, *, dry_run: bool = False,
                  token: Annotated[str, Header("x-token")] = ""): ...

    item_id   path    a positional parameter (or keyword-only without default)
    item      body    a msgspec Struct, dataclass or TypedDict, or list/dict/...
                      of those, or any type marked Annotated[T, Body()] / Form()
    dry_run   query   a keyword-only parameter with a default, or one marked
    token     header  Annotated[T, Query(...)], Header(...) or Cookie(...)

A verb with a body, query/header/cookie parameters, a path parameter whose
annotation the route's converter cannot already guarantee (anything but
``str``, ``int``, ``float``, ``UUID``) or an ``@operation(status=...)`` is
*typed*: for it, Python source is generated once (kept in
``VerbSignature.source``) for a wrapper with the verb's path parameters as its
own, which ``Application`` calls in the verb's place::

    async def put(self, item_id):
        if type(item_id) is not _path_item_id: ...    # Channels gives str
        ...content type check, then: body = await self.body()
        item = _decode_item(body)                     # one msgspec pass
        params = _convert(_gather(self), _Params, strict=False)
        result = await _verb(self, item_id, item, dry_run=params.dry_run, ...)
        return EncodedJSON(_encode(result))           # if the return is typed

so an untyped verb is not touched and costs nothing more. What fails
validation is answered (not raised) as an RFC 9457 ``application/problem+json``
response naming where (``body.dimensions.w``, ``query.limit``): 422 for a
value, 400 for malformed JSON, 415 for a body of another media type, 413 past
``max_body_size``. A ``Problem`` raised in any view is answered the same way.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import re
import types
import typing
import uuid
import weakref
from collections.abc import Awaitable, Callable, Iterable, Mapping
from http import HTTPStatus
from typing import Annotated, Any, ClassVar, Final, get_args, get_origin

import msgspec
import msgspec.inspect as mi

from .delegation import Delegated
from .exceptions import HTTPError
from .forms import FormData, UploadFile
from .responses import EncodedJSON, Response

PROBLEM_JSON: Final = "application/problem+json"
EMPTY: Final = inspect.Parameter.empty

#: Path parameter annotations a route converter already guarantees.
_CONVERTER_TYPES: Final = (str, int, float, uuid.UUID)
#: Types whose value a wrapper checks with ``type(v) is T`` before converting.
_SCALARS: Final = (int, float, bool, uuid.UUID)
_MODELS: Final = (mi.StructType, mi.DataclassType, mi.TypedDictType, mi.NamedTupleType)
_SEQUENCES: Final = (mi.ListType, mi.SetType, mi.FrozenSetType, mi.VarTupleType)


# -- what a user writes ------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Source:
    """Where a parameter comes from; ``alias`` is its name on the wire."""

    alias: str | None = None
    location: ClassVar[str] = "query"

    def key(self, name: str) -> str:
        return self.alias if self.alias is not None else name


class Query(Source):
    """``Annotated[int, Query("page-size")]``: a query string parameter."""


class Header(Source):
    """``Annotated[str, Header("x-token")]``: a request header (default: the
    parameter name with ``_`` as ``-``)."""

    location = "header"

    def key(self, name: str) -> str:
        return self.alias.lower() if self.alias is not None else name.replace("_", "-")


class Cookie(Source):
    """``Annotated[str, Cookie("session")]``: a cookie."""

    location = "cookie"


@dataclasses.dataclass(frozen=True)
class Body:
    """``Annotated[T, Body()]``: the JSON body, whatever ``T`` is."""

    form: ClassVar[bool] = False


class Form(Body):
    """``Annotated[T, Form()]``: the body as a form (urlencoded or multipart);
    ``T`` is a Struct, dataclass or TypedDict; files are ``UploadFile`` fields."""

    form = True


@dataclasses.dataclass(frozen=True)
class Operation:
    """What ``@operation(...)`` says of a verb, beyond its signature."""

    status: int | None = None
    responses: Mapping[int, str] = dataclasses.field(default_factory=dict)
    summary: str | None = None
    description: str | None = None
    tags: tuple[str, ...] = ()
    deprecated: bool = False
    operation_id: str | None = None


F = typing.TypeVar("F", bound=Callable[..., Any])


def operation(
    status: int | None = None,
    *,
    responses: Mapping[int, str] | None = None,
    summary: str | None = None,
    description: str | None = None,
    tags: Iterable[str] = (),
    deprecated: bool = False,
    operation_id: str | None = None,
) -> Callable[[F], F]:
    """Say more of a verb: its success ``status``, the error ``responses`` it
    may give ({404: "No such item"}), and what the OpenAPI document shows
    (by default the docstring's first line is the summary, the rest the description).

    >>> @operation(201, responses={409: "Exists already"})
    ... async def post(self): ...
    >>> post.__trane_operation__.status
    201
    """
    if status is not None and not 100 <= status <= 399:
        raise ValueError(f"operation status must be 1xx-3xx, got {status!r}")
    info = Operation(
        status, dict(responses or {}), summary, description, tuple(tags), deprecated, operation_id
    )

    def mark(function: F) -> F:
        function.__trane_operation__ = info  # type: ignore[attr-defined]
        return function

    return mark


# -- problems ----------------------------------------------------------------


class FieldProblem(msgspec.Struct):
    """One thing wrong with a request: where (``body.dimensions.w``) and why."""

    location: str
    message: str


class ProblemDetails(msgspec.Struct, omit_defaults=True):
    """An RFC 9457 problem document."""

    title: str
    status: int
    type: str = "about:blank"
    detail: str | None = None
    errors: list[FieldProblem] = []


class Problem(HTTPError):
    """An HTTP error answered as ``application/problem+json`` (RFC 9457).

    ``Application.handle_error`` answers it with ``response()``.

    >>> Problem(404, "No item 7").response().body
    b'{"title":"Not Found","status":404,"detail":"No item 7"}'
    """

    def __init__(
        self,
        status: int,
        detail: str | None = None,
        *,
        title: str | None = None,
        type: str = "about:blank",
        errors: Iterable[FieldProblem] = (),
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(status, detail, headers)
        self.title = title or self.phrase
        self.type = type
        self.errors = list(errors)

    def response(self) -> Response:
        details = ProblemDetails(self.title, self.status, self.type, self.detail, self.errors)
        return Response(
            msgspec.json.encode(details), self.status, self.headers, media_type=PROBLEM_JSON
        )


_AT: Final = " - at `"
_MISSING: Final = re.compile(r"Object missing required field `(.*)`")


def _where(error: msgspec.ValidationError) -> tuple[str, str]:
    """(path after ``$``, message) of a msgspec validation error.

    >>> _where(msgspec.ValidationError("Expected `int`, got `str` - at `$.a[0]`"))
    ('.a[0]', 'Expected `int`, got `str`')
    >>> _where(msgspec.ValidationError("Object missing required field `w` - at `$.d`"))
    ('.d.w', 'Object missing required field `w`')
    """
    text = str(error)
    message, at, where = text.partition(_AT)
    path = where[1:-1] if at else ""
    missing = _MISSING.fullmatch(message)
    if missing:
        path += "." + missing.group(1)
    return path, message


def _problem(status: int, location: str, message: str) -> Response:
    error = FieldProblem(location, message)
    return Problem(status, f"{location}: {message}", errors=[error]).response()


def invalid_body(error: msgspec.ValidationError) -> Response:
    path, message = _where(error)
    return _problem(422, "body" + path, message)


def malformed_body(error: msgspec.DecodeError) -> Response:
    return _problem(400, "body", str(error))


def unreadable_body(error: HTTPError) -> Response:
    """A ``self.body()``/``self.form()`` failure (400, 413) as a problem."""
    return _problem(error.status, "body", error.detail or error.phrase)


def unsupported_body(content_type: bytes | None, expected: str) -> Response:
    got = "none" if content_type is None else repr(content_type.decode("latin-1"))
    return _problem(415, "header.content-type", f"Expected {expected}, got {got}")


def _is_json(content_type: bytes) -> bool:
    media = content_type.partition(b";")[0].strip().lower()
    return media == b"application/json" or media.endswith(b"+json")


def _is_form(content_type: bytes | None) -> bool:
    if content_type is None:
        return False
    media = content_type.partition(b";")[0].strip().lower()
    return media in (b"application/x-www-form-urlencoded", b"multipart/form-data")


# -- reading signatures ------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Param:
    """A path, query, header or cookie parameter of a verb."""

    name: str  #: the Python name
    location: str  #: "path", "query", "header" or "cookie"
    key: str  #: the name on the wire
    annotation: Any  #: its type (with any ``Annotated`` constraints), or EMPTY
    default: Any  #: EMPTY when required
    many: bool = False  #: every value of a repeated key, as a list

    @property
    def required(self) -> bool:
        return self.default is EMPTY


@dataclasses.dataclass(frozen=True)
class BodyParam:
    """The verb parameter that receives the request body."""

    name: str
    annotation: Any
    form: bool
    default: Any


@dataclasses.dataclass(frozen=True)
class VerbSignature:
    """What a verb accepts and returns, read once (see the module docstring)."""

    function: Callable[..., Awaitable[Any]]
    path: tuple[Param, ...]
    params: tuple[Param, ...]
    body: BodyParam | None
    returns: Any  #: the return annotation, or EMPTY
    operation: Operation
    #: The wrapper ``Application`` calls in the verb's place; None: untyped.
    call: Callable[..., Awaitable[Any]] | None = None
    #: The wrapper's first parameter, if it may be passed by position (else "").
    first: str = ""
    #: The wrapper's generated source, to read when debugging.
    source: str = ""

    @property
    def summary(self) -> str | None:
        return self.operation.summary or _doc(self.function)[0]

    @property
    def description(self) -> str | None:
        return self.operation.description or _doc(self.function)[1]


def _doc(function: Callable[..., Any]) -> tuple[str | None, str | None]:
    doc = inspect.getdoc(function)
    if not doc:
        return None, None
    first, _, rest = doc.partition("\n\n")
    return " ".join(first.split()), rest.strip() or None


def split_markers(annotation: Any) -> tuple[Any, Source | Body | None]:
    """The annotation without trane's marker, and the marker.

    >>> split_markers(Annotated[str, Header("x-token")])
    (<class 'str'>, Header(alias='x-token'))
    >>> split_markers(Annotated[int, msgspec.Meta(ge=1), Query()])
    (typing.Annotated[int, msgspec.Meta(ge=1)], Query(alias=None))
    """
    if get_origin(annotation) is not Annotated:
        return annotation, None
    base, *metadata = get_args(annotation)
    markers = [m for m in metadata if isinstance(m, Source | Body)]
    rest = [m for m in metadata if not isinstance(m, Source | Body)]
    if len(markers) > 1:
        raise TypeError(f"{annotation!r} has more than one of Query/Header/Cookie/Body/Form")
    if rest:
        base = Annotated[(base, *rest)]
    return base, markers[0] if markers else None


def _info(annotation: Any) -> mi.Type | None:
    """msgspec's description of ``annotation``; None if msgspec does not know it."""
    if annotation is EMPTY:
        return None
    try:
        return mi.type_info(annotation)
    except (TypeError, ValueError):
        return None


def _mentions_model(info: mi.Type | None) -> bool:
    """Whether a Struct, dataclass, TypedDict or NamedTuple is in ``info``."""
    if info is None:
        return False
    if isinstance(info, _MODELS):
        return True
    inner: list[Any] = []
    for attr in ("item_type", "key_type", "value_type"):
        inner.append(getattr(info, attr, None))
    inner += getattr(info, "item_types", ()) or getattr(info, "types", ())
    return any(_mentions_model(t) for t in inner if t is not None)


def _is_many(info: mi.Type | None) -> bool:
    if isinstance(info, mi.UnionType):
        return any(_is_many(t) for t in info.types)
    return isinstance(info, _SEQUENCES)


def _encodes(returns: Any) -> bool:
    """Whether a typed verb's result is encoded by msgspec (else passed on as is)."""
    info = _info(returns)
    plain = (mi.NoneType, mi.StrType, mi.BytesType, mi.AnyType, mi.CustomType)
    return info is not None and not isinstance(info, plain)


def _hints(function: Callable[..., Any]) -> dict[str, Any]:
    """The resolved annotations; an unresolvable return annotation is left out."""
    try:
        return typing.get_type_hints(function, include_extras=True)
    except Exception:
        pass
    hints: dict[str, Any] = {}
    namespace = getattr(function, "__globals__", {})
    for name, annotation in function.__annotations__.items():
        holder = types.SimpleNamespace(__annotations__={name: annotation})
        try:
            hints[name] = typing.get_type_hints(holder, namespace, include_extras=True)[name]
        except Exception as exc:
            if name == "return":
                continue  # a return annotation only documents
            raise TypeError(
                f"{function.__qualname__}: cannot resolve the annotation of {name!r}: {exc}"
            ) from exc
    return hints


_SIGNATURES: weakref.WeakKeyDictionary[Callable[..., Any], VerbSignature] = (
    weakref.WeakKeyDictionary()
)


def read_signature(function: Callable[..., Awaitable[Any]]) -> VerbSignature:
    """The ``VerbSignature`` of a verb function (read once per function)."""
    found = _SIGNATURES.get(function)
    if found is None:
        found = _SIGNATURES[function] = _read(function)
    return found


def _read(function: Callable[..., Awaitable[Any]]) -> VerbSignature:
    inner = inspect.unwrap(function)
    hints = _hints(inner)
    parameters = list(inspect.signature(inner).parameters.values())[1:]  # not self
    path: list[Param] = []
    params: list[Param] = []
    body: BodyParam | None = None
    for p in parameters:
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        annotation, marker = split_markers(hints.get(p.name, EMPTY))
        if isinstance(marker, Body) or (marker is None and _mentions_model(_info(annotation))):
            if body is not None:
                raise TypeError(
                    f"{function.__qualname__} has two body parameters, {body.name!r} and "
                    f"{p.name!r}: mark the others Annotated[T, Query()] (or Header, Cookie)"
                )
            body = BodyParam(p.name, annotation, isinstance(marker, Form), p.default)
        elif isinstance(marker, Source):
            key = marker.key(p.name)
            many = _is_many(_info(annotation))
            params.append(Param(p.name, marker.location, key, annotation, p.default, many))
        elif p.kind is p.KEYWORD_ONLY and p.default is not EMPTY:
            many = _is_many(_info(annotation))
            params.append(Param(p.name, "query", p.name, annotation, p.default, many))
        else:
            path.append(Param(p.name, "path", p.name, annotation, p.default))
    returns = hints.get("return", EMPTY)
    info = getattr(function, "__trane_operation__", None) or Operation()
    signature = VerbSignature(function, tuple(path), tuple(params), body, returns, info)
    checked = any(_checks(p.annotation) for p in path)
    if body is None and not params and not checked and info.status is None:
        return signature  # untyped: called as it is
    call, first, source = _generate(signature, parameters)
    return dataclasses.replace(signature, call=call, first=first, source=source)


def _checks(annotation: Any) -> bool:
    """Whether a path parameter so annotated needs a check the converter cannot do."""
    return annotation not in (EMPTY, Any, object, *_CONVERTER_TYPES)


# -- the generated wrapper -----------------------------------------------------


def _gatherer(params: tuple[Param, ...]) -> Callable[[Any], dict[str, Any]]:
    """A function that collects the raw query/header/cookie values of a view."""
    by_location: dict[str, list[tuple[str, str, bool]]] = {}
    for p in params:
        by_location.setdefault(p.location, []).append((p.name, p.key, p.many))
    sources = [(location, tuple(found)) for location, found in by_location.items()]

    def gather(view: Any) -> dict[str, Any]:
        raw: dict[str, Any] = {}
        for location, found in sources:
            values = view.query if location == "query" else view.headers
            if location == "cookie":
                values = view.cookies
            for name, key, many in found:
                if many:
                    if key in values:
                        raw[name] = values.getlist(key)
                elif key in values:
                    raw[name] = values[key]
        return raw

    return gather


def _params_struct(function: Callable[..., Any], params: tuple[Param, ...]) -> Any:
    fields = [
        (p.name, Any if p.annotation is EMPTY else p.annotation)
        if p.required
        else (p.name, Any if p.annotation is EMPTY else p.annotation, p.default)
        for p in params
    ]
    # NOTE: required fields first, as msgspec asks; the verb gets them by name.
    fields.sort(key=lambda field: len(field) == 3)
    return msgspec.defstruct(f"{function.__name__}_params", fields)


def _invalid_params(params: tuple[Param, ...]) -> Callable[[msgspec.ValidationError], Response]:
    where = {p.name: f"{p.location}.{p.key}" for p in params}

    def invalid(error: msgspec.ValidationError) -> Response:
        path, message = _where(error)
        name, _, rest = path[1:].partition(".")  # ".limit" / ".tags[1]"
        name, bracket, index = name.partition("[")
        rest = (bracket + index if bracket else "") + ("." + rest if rest else "")
        return _problem(422, where[name] + rest, message)

    return invalid


def _form_reader(annotation: Any) -> Callable[[FormData], dict[str, Any]]:
    info = _info(annotation)
    fields = getattr(info, "fields", None)
    if fields is None:
        raise TypeError(
            f"a Form() body must be a Struct, dataclass or TypedDict, not {annotation!r}"
        )
    keys = tuple((f.encode_name, _is_many(f.type)) for f in fields)

    def read(form: FormData) -> dict[str, Any]:
        return {key: form.getlist(key) if many else form[key] for key, many in keys if key in form}

    return read


def _invalid_path(name: str) -> Callable[[msgspec.ValidationError], Response]:
    def invalid(error: msgspec.ValidationError) -> Response:
        path, message = _where(error)
        return _problem(422, f"path.{name}{path}", message)

    return invalid


def _generate(
    signature: VerbSignature, parameters: list[inspect.Parameter]
) -> tuple[Callable[..., Awaitable[Any]], str, str]:
    """Source for the verb's wrapper, compiled (see the module docstring)."""
    function = signature.function
    ns: dict[str, Any] = {
        "_verb": function,
        "_convert": msgspec.convert,
        "_VE": msgspec.ValidationError,
        "_DE": msgspec.DecodeError,
        "_HTTPError": HTTPError,
        "_unreadable": unreadable_body,
    }
    own: list[str] = []  # the wrapper's parameters
    lines: list[str] = []
    args: list[str] = []  # the verb's arguments
    star = False
    for p in parameters:
        name = p.name
        if p.kind is p.VAR_POSITIONAL:
            continue
        if p.kind is p.VAR_KEYWORD:
            own.append(f"**{name}")
            args.append(f"**{name}")
            continue
        keyword = p.kind is p.KEYWORD_ONLY
        if any(q.name == name for q in signature.path):
            if keyword and not star:
                own.append("*")
                star = True
            if p.default is EMPTY:
                own.append(name)
            else:
                ns[f"_default_{name}"] = p.default
                own.append(f"{name}=_default_{name}")
            value = name
        elif signature.body is not None and name == signature.body.name:
            value = "_body_value"
        else:
            value = f"_params.{name}"
        args.append(f"{name}={value}" if keyword else value)
    for param in signature.path:
        if param.annotation in (EMPTY, str, Any, object):
            continue
        name = param.name
        ns[f"_path_{name}"] = param.annotation
        ns[f"_invalid_{name}"] = _invalid_path(name)
        test = f"type({name}) is not _path_{name}" if param.annotation in _SCALARS else "True"
        lines += [
            f"    if {test}:",
            "        try:",
            f"            {name} = _convert({name}, _path_{name}, strict=False)",
            "        except _VE as exc:",
            f"            return _invalid_{name}(exc)",
        ]
    body = signature.body
    if body is not None:
        lines += [
            "    content_type = None",
            "    for key, value in self.scope['headers']:",
            "        if key == b'content-type':",
            "            content_type = value",
            "            break",
        ]
        ns["_unsupported"] = unsupported_body
        if body.form:
            ns["_is_form"] = _is_form
            ns["_read_form"] = _form_reader(body.annotation)
            ns["_body_type"] = body.annotation
            ns["_invalid_body"] = invalid_body
            lines += [
                "    if not _is_form(content_type):",
                "        return _unsupported(content_type, 'a form')",
                "    try:",
                "        form = await self.form()",
                "    except _HTTPError as exc:",
                "        return _unreadable(exc)",
                "    try:",
                "        _body_value = _convert(_read_form(form), _body_type, strict=False)",
                "    except _VE as exc:",
                "        return _invalid_body(exc)",
            ]
        else:
            ns["_is_json"] = _is_json
            ns["_decode"] = msgspec.json.Decoder(body.annotation).decode
            ns["_invalid_body"] = invalid_body
            ns["_malformed"] = malformed_body
            decode = [
                "        try:",
                "            _body_value = _decode(raw)",
                "        except _VE as exc:",
                "            return _invalid_body(exc)",
                "        except _DE as exc:",
                "            return _malformed(exc)",
            ]
            if body.default is EMPTY:
                decode = [line[4:] for line in decode]
            else:
                ns["_body_default"] = body.default
                decode = [
                    "    if not raw:",
                    "        _body_value = _body_default",
                    "    else:",
                    *decode,
                ]
            lines += [
                "    if content_type is not None and content_type != b'application/json'"
                " and not _is_json(content_type):",
                "        return _unsupported(content_type, 'application/json')",
                "    try:",
                "        raw = await self.body()",
                "    except _HTTPError as exc:",
                "        return _unreadable(exc)",
                *decode,
            ]
    if signature.params:
        ns["_gather"] = _gatherer(signature.params)
        ns["_Params"] = _params_struct(function, signature.params)
        ns["_invalid_params"] = _invalid_params(signature.params)
        lines += [
            "    try:",
            "        _params = _convert(_gather(self), _Params, strict=False)",
            "    except _VE as exc:",
            "        return _invalid_params(exc)",
        ]
    if signature.operation.status is not None:
        lines.append(f"    self.status = {signature.operation.status}")
    lines.append(f"    result = await _verb(self, {', '.join(args)})")
    if _encodes(signature.returns):
        ns["_encode"] = msgspec.json.Encoder().encode
        ns["_EncodedJSON"] = EncodedJSON
        ns["_passed"] = (str, bytes, Response, Delegated)
        lines += [
            "    if result is None or isinstance(result, _passed):",
            "        return result",
            "    return _EncodedJSON(_encode(result))",
        ]
    else:
        lines.append("    return result")
    name = function.__name__
    header = f"async def {name}(self{''.join(', ' + p for p in own)}):"
    comment = f"    # typed {function.__qualname__}"
    source = "\n".join([header, comment, *lines]) + "\n"
    exec(compile(source, f"<trane typed {function.__qualname__}>", "exec"), ns)
    call = ns[name]
    # NOTE: the verb's names and docstring, not its annotations or __wrapped__:
    # the wrapper's own signature is the one trane calls.
    functools.update_wrapper(call, function, ("__module__", "__qualname__", "__doc__"), ())
    first = own[0].partition("=")[0] if own and own[0][0] != "*" else ""
    return call, first, source


def decode_message(decoder: msgspec.json.Decoder[Any], data: str | bytes) -> tuple[Any, str]:
    """A WebSocket message decoded and checked: (value, "") or (None, why not).

    The reason fits a close frame (123 bytes).

    >>> decode_message(msgspec.json.Decoder(list[int]), '[1, "a"]')
    (None, 'message[1]: Expected `int`, got `str`')
    """
    try:
        return decoder.decode(data), ""
    except msgspec.ValidationError as exc:
        path, message = _where(exc)
        why = f"message{path}: {message}"
    except msgspec.DecodeError:
        why = "invalid JSON"
    return None, why.encode()[:123].decode("utf-8", "ignore")


def message_decoder(function: Callable[..., Any]) -> msgspec.json.Decoder[Any] | None:
    """The decoder for the annotated data parameter of ``receive_json``; None if untyped."""
    hints = _hints(inspect.unwrap(function))
    for parameter in list(inspect.signature(function).parameters.values())[1:2]:
        annotation, _ = split_markers(hints.get(parameter.name, EMPTY))
        if annotation not in (EMPTY, Any, object):
            return msgspec.json.Decoder(annotation)
    return None


def status_phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Response"


__all__ = [
    "Body",
    "BodyParam",
    "Cookie",
    "FieldProblem",
    "Form",
    "Header",
    "Operation",
    "Param",
    "Problem",
    "ProblemDetails",
    "Query",
    "Source",
    "UploadFile",
    "VerbSignature",
    "operation",
    "read_signature",
    "split_markers",
]
