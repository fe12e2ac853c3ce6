"""Declare API operations once; the same declaration validates requests, serialises responses
and produces the OpenAPI document."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from pydantic import BaseModel, TypeAdapter

from server.context import party, staff
from server.errors import FieldError, InvalidInput
from server.validation import parse

ApiHandler = Callable[..., Awaitable[Any]]

LANG_PARAMETER = "lang"


@dataclass(frozen=True)
class Operation:
    """One API operation: method, path, models and the handler."""

    method: str
    path: str
    handler: ApiHandler
    summary: str
    tag: str
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    response: Any = None
    status: int = 200
    auth: str = "staff"  # "staff", "party" or "none"
    errors: tuple[int, ...] = field(default=())


class ApiRegistry:
    """A table of operations (like aiohttp's ``RouteTableDef``), added to an app at start."""

    def __init__(self) -> None:
        self.operations: list[Operation] = []

    def operation(
        self,
        method: str,
        path: str,
        *,
        summary: str,
        tag: str,
        body: type[BaseModel] | None = None,
        query: type[BaseModel] | None = None,
        response: Any = None,
        status: int = 200,
        auth: str = "staff",
        errors: tuple[int, ...] = (),
    ) -> Callable[[ApiHandler], ApiHandler]:
        """Register ``handler(request[, body][, query])`` under ``method path``."""

        def decorate(handler: ApiHandler) -> ApiHandler:
            self.operations.append(
                Operation(
                    method,
                    path,
                    handler,
                    summary,
                    tag,
                    body,
                    query,
                    response,
                    status,
                    auth,
                    errors,
                )
            )
            return handler

        return decorate

    def add_routes(self, app: web.Application) -> None:
        """Add every operation to ``app``'s router."""
        for op in self.operations:
            app.router.add_route(op.method, op.path, _wrap(op))


async def read_json(request: web.Request) -> Any:
    """The request's JSON body, or a clear 422 when it is not JSON."""
    if request.content_type != "application/json":
        raise InvalidInput(fields={"body": FieldError("field.json_required")})
    raw = await request.read()
    try:
        return json.loads(raw or b"null")
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        # RecursionError: absurdly deep nesting ("[[[[…") is malformed input, not a crash.
        raise InvalidInput(fields={"body": FieldError("field.json_invalid")}) from None


def _wrap(op: Operation) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    adapter = TypeAdapter(op.response) if op.response is not None else None

    async def handle(request: web.Request) -> web.StreamResponse:
        # Who is asking comes first: without a session the answer is 401 (or 404 for a
        # party link), never a validation message about a body that would be refused anyway.
        if op.auth == "staff":
            staff(request)
        elif op.auth == "party":
            party(request)
        args: list[Any] = []
        if op.body is not None:
            args.append(parse(op.body, await read_json(request)))
        if op.query is not None:
            # ``lang`` chooses the language on every address (see the middleware); it is
            # not one of the operation's filters.
            query = {k: v for k, v in request.query.items() if k != LANG_PARAMETER}
            args.append(parse(op.query, query))
        result = await op.handler(request, *args)
        if isinstance(result, web.StreamResponse):
            return result
        if adapter is None:
            return web.Response(status=op.status)
        return web.json_response(
            adapter.dump_python(result, mode="json"),
            status=op.status,
            dumps=lambda obj: json.dumps(obj, ensure_ascii=False),
        )

    handle.__name__ = op.handler.__name__
    return handle
