"""The OpenAPI 3.1 document, generated from the registered operations' pydantic models."""

from __future__ import annotations

import re
from typing import Any

from pydantic import TypeAdapter
from pydantic.json_schema import models_json_schema

from server.api.registry import ApiRegistry

_ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "fields": {"type": "object", "additionalProperties": {"type": "string"}},
            },
            "required": ["code", "message"],
        }
    },
    "required": ["error"],
}

_STATUS_TEXT = {
    401: "Not logged in",
    403: "Forbidden (role, or CSRF token missing)",
    404: "Not found or out of scope",
    409: "Not allowed in the case's current state",
    413: "Body too large",
    422: "Invalid input",
    429: "Too many attempts",
}


def build_openapi(registry: ApiRegistry, version: str) -> dict[str, Any]:
    """An OpenAPI 3.1 document for every operation in ``registry``."""
    models: set[Any] = set()
    for op in registry.operations:
        for model in (op.body, op.query):
            if model is not None:
                models.add(model)
    _, top = models_json_schema(
        [(m, "validation") for m in sorted(models, key=lambda m: m.__name__)],
        ref_template="#/components/schemas/{model}",
    )
    schemas: dict[str, Any] = dict(top.get("$defs", {}))
    paths: dict[str, Any] = {}
    for op in registry.operations:
        path = re.sub(r"\{(\w+)(:[^}]*)?\}", r"{\1}", op.path)
        item: dict[str, Any] = {
            "summary": op.summary,
            "tags": [op.tag],
            "operationId": op.handler.__name__,
            "responses": {},
        }
        params = [
            {"name": name, "in": "path", "required": True, "schema": {"type": "integer"}}
            for name in re.findall(r"\{(\w+)\}", path)
        ]
        if op.query is not None:
            query_schema = op.query.model_json_schema(ref_template="#/components/schemas/{model}")
            required = set(query_schema.get("required", []))
            for name, prop in query_schema.get("properties", {}).items():
                params.append(
                    {"name": name, "in": "query", "required": name in required, "schema": prop}
                )
        if params:
            item["parameters"] = params
        if op.body is not None:
            item["requestBody"] = {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {"$ref": f"#/components/schemas/{op.body.__name__}"}
                    }
                },
            }
        if op.response is not None:
            schema = TypeAdapter(op.response).json_schema(
                ref_template="#/components/schemas/{model}", mode="serialization"
            )
            schemas.update(schema.pop("$defs", {}))
            item["responses"][str(op.status)] = {
                "description": "OK",
                "content": {"application/json": {"schema": schema}},
            }
        else:
            item["responses"][str(op.status)] = {"description": "OK"}
        statuses = set(op.errors)
        if op.body is not None or op.query is not None:
            statuses.add(422)
        if op.auth != "none":
            statuses.update({401, 404})
        if op.method != "GET":
            statuses.add(403)
        for status in sorted(statuses):
            item["responses"][str(status)] = {
                "description": _STATUS_TEXT.get(status, "Error"),
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
            }
        if op.auth == "staff":
            item["security"] = [{"session": []}]
        paths.setdefault(path, {})[op.method.lower()] = item
    # The document itself is served outside the registry (it is built from it).
    paths["/api/openapi.json"] = {
        "get": {
            "summary": "This OpenAPI 3.1 document",
            "tags": ["meta"],
            "operationId": "openapi",
            "responses": {
                "200": {
                    "description": "OK",
                    "content": {"application/json": {"schema": {"type": "object"}}},
                }
            },
        }
    }
    schemas["Error"] = _ERROR_SCHEMA
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Bilin (比邻) API",
            "version": version,
            "description": (
                "Case workflow of the governance centres. Log in with POST /api/login; send "
                "the returned csrf_token as X-CSRF-Token on every state-changing call."
            ),
        },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "session": {"type": "apiKey", "in": "cookie", "name": "bilin_session"}
            },
        },
    }
