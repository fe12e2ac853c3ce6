"""``/api/openapi.json``: a valid OpenAPI 3.1 document that documents every API route with its
request schema, so client authors can rely on it."""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web
from openapi_spec_validator import OpenAPIV31SpecValidator

from server.api.routes import api
from tests.server.test_workflow import Client

METHODS = ("get", "post", "put", "patch", "delete")


def api_routes(app: web.Application) -> set[tuple[str, str]]:
    """``(method, path template)`` of every route the app serves under /api/ (and /healthz)."""
    routes: set[tuple[str, str]] = set()
    for route in app.router.routes():
        info = route.resource.get_info() if route.resource is not None else {}
        path = info.get("path") or info.get("formatter")
        if not isinstance(path, str) or route.method == "HEAD":
            continue
        if path.startswith("/api/") or path == "/healthz":
            routes.add((route.method.lower(), re.sub(r"\{(\w+)(:[^}]*)?\}", r"{\1}", path)))
    return routes


def resolve(doc: dict[str, Any], ref: str) -> dict[str, Any]:
    """The object a local ``$ref`` points to."""
    assert ref.startswith("#/"), ref
    node: Any = doc
    for part in ref[2:].split("/"):
        node = node[part]
    assert isinstance(node, dict)
    return node


def refs(node: Any) -> list[str]:
    """Every ``$ref`` anywhere below ``node``."""
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [r for value in node.values() for r in refs(value)]
    if isinstance(node, list):
        return [r for value in node for r in refs(value)]
    return []


async def fetch(client: Client) -> dict[str, Any]:
    response = await client.get("/api/openapi.json")
    assert response.status == 200
    assert response.content_type == "application/json"
    doc = await response.json()
    assert isinstance(doc, dict)
    return doc


async def test_document_is_valid_openapi_3_1(client: Client) -> None:
    doc = await fetch(client)
    assert doc["openapi"].startswith("3.1")
    errors = [f"{list(e.path)}: {e.message}" for e in OpenAPIV31SpecValidator(doc).iter_errors()]
    assert errors == []
    for ref in refs(doc):
        resolve(doc, ref)  # every reference points at something
    assert doc["components"]["securitySchemes"]["session"]["name"] == "bilin_session"


async def test_every_api_route_is_documented(client: Client) -> None:
    doc = await fetch(client)
    documented = {
        (method, path)
        for path, item in doc["paths"].items()
        for method in item
        if method in METHODS
    }
    served = api_routes(client.app)
    assert len(served) >= 20
    assert sorted(served - documented) == [], "served but not documented"
    assert sorted(documented - served) == [], "documented but not served"
    operation_ids = [item[m]["operationId"] for item in doc["paths"].values() for m in item]
    assert len(operation_ids) == len(set(operation_ids))


async def test_every_operation_documents_its_request_and_answers(client: Client) -> None:
    doc = await fetch(client)
    for op in api.operations:
        path = re.sub(r"\{(\w+)(:[^}]*)?\}", r"{\1}", op.path)
        item = doc["paths"][path][op.method.lower()]
        label = f"{op.method} {op.path}"
        params = {(p["in"], p["name"]): p for p in item.get("parameters", [])}
        for name in re.findall(r"\{(\w+)\}", path):
            assert params[("path", name)]["required"] is True, label
        if op.body is not None:
            schema_ref = item["requestBody"]["content"]["application/json"]["schema"]["$ref"]
            schema = resolve(doc, schema_ref)
            model = op.body.model_json_schema()
            assert set(schema["properties"]) == set(model["properties"]), label
            assert set(schema.get("required", [])) == set(model.get("required", [])), label
            # Unknown fields are refused, and the document says so.
            assert schema.get("additionalProperties") is False, label
        else:
            assert "requestBody" not in item, label
        if op.query is not None:
            # Query parameters go by their aliases (``from``/``to``), as the API reads them.
            for name in op.query.model_json_schema()["properties"]:
                assert ("query", name) in params, (label, name)
        assert str(op.status) in item["responses"], label
        if op.body is not None:
            assert "422" in item["responses"], label
        if op.auth == "staff":
            assert item["security"] == [{"session": []}], label
            assert "401" in item["responses"], label
        if op.method != "GET":
            assert "403" in item["responses"], label


async def test_documented_schemas_match_what_the_api_answers(client: Client) -> None:
    doc = await fetch(client)
    centres = doc["paths"]["/api/public/centres"]["get"]["responses"]["200"]["content"]
    item_schema = resolve(doc, centres["application/json"]["schema"]["items"]["$ref"])
    response = await client.get("/api/public/centres")
    answered = await response.json()
    assert answered == []  # no organisations in this database
    assert set(item_schema["required"]) == {"code", "name", "kind", "parent_code"}
    health = await (await client.get("/healthz")).json()
    health_schema = doc["paths"]["/healthz"]["get"]["responses"]["200"]["content"]
    schema = health_schema["application/json"]["schema"]
    if "$ref" in schema:
        schema = resolve(doc, schema["$ref"])
    assert set(schema["properties"]) == set(health)
