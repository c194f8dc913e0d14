"""The committed OpenAPI document is what the app generates, and documents every operation."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import msgspec
import pytest
from litestar import Litestar

from service import model
from service.api import prov as prov_api
from service.domain import prov as prov_domain
from service.openapi import document

COMMITTED = Path(__file__).resolve().parent.parent / "openapi" / "openapi.json"
DOCUMENT: dict[str, Any] = json.loads(COMMITTED.read_text(encoding="utf-8"))
SCHEMAS: dict[str, Any] = DOCUMENT["components"]["schemas"]

# The verbs of operation ids: verbNoun in camelCase, e.g. createClaim, listClaims, traceClaim.
VERBS = ("create", "list", "get", "update", "trace", "retract", "merge", "draw", "verify", "import", "extract")
OPERATION_ID = re.compile(rf"^(?:{'|'.join(VERBS)})(?:[A-Z][a-z0-9]*)+$")

# The answers an integrator reads first: their 2xx JSON responses carry examples.
MAIN_READS = {"getClaim", "listClaims", "traceClaim", "traceStatement", "getSource", "listSources"}


def operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, op)
        for path, item in doc["paths"].items()
        for method, op in item.items()
        if method in {"get", "post", "put", "patch", "delete"}
    ]


def by_operation_id() -> dict[str, dict[str, Any]]:
    return {op["operationId"]: op for _, _, op in operations(DOCUMENT)}


def has_examples(media_type: dict[str, Any]) -> bool:
    return bool(media_type.get("examples") or "example" in media_type)


def test_committed_document_matches_the_app() -> None:
    assert COMMITTED.read_text(encoding="utf-8") == document(), "run `make openapi`"


@pytest.mark.parametrize(("path", "method", "operation"), operations(DOCUMENT))
def test_every_operation_is_documented(path: str, method: str, operation: dict[str, Any]) -> None:
    assert operation.get("operationId"), f"{method} {path}"
    assert operation.get("summary")
    assert operation.get("tags")
    errors = {code: r for code, r in operation["responses"].items() if code.startswith(("4", "5"))}
    if path not in {"/health"}:
        assert errors, f"{method} {path} documents no error"
    for response in errors.values():
        assert list(response["content"]) == ["application/problem+json"]
        assert has_examples(response["content"]["application/problem+json"])


def test_operation_ids_are_unique() -> None:
    ids = [op["operationId"] for _, _, op in operations(DOCUMENT)]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("operation_id", sorted(by_operation_id()))
def test_operation_ids_are_verb_noun_in_camel_case(operation_id: str) -> None:
    assert OPERATION_ID.match(operation_id), operation_id


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_every_schema_and_every_property_is_described(name: str) -> None:
    schema = SCHEMAS[name]
    assert schema.get("description"), f"schema {name}"
    undescribed = [prop for prop, value in schema.get("properties", {}).items() if not value.get("description")]
    assert undescribed == [], f"properties of {name}"


@pytest.mark.parametrize(("path", "method", "operation"), operations(DOCUMENT))
def test_every_parameter_is_described(path: str, method: str, operation: dict[str, Any]) -> None:
    undescribed = [p["name"] for p in operation.get("parameters", []) if not p.get("description")]
    assert undescribed == [], f"{method} {path}"


@pytest.mark.parametrize(
    ("path", "method", "operation"), [(p, m, op) for p, m, op in operations(DOCUMENT) if "requestBody" in op]
)
def test_every_request_body_has_an_example(path: str, method: str, operation: dict[str, Any]) -> None:
    for media_type in operation["requestBody"]["content"].values():
        assert has_examples(media_type), f"{method} {path}"


@pytest.mark.parametrize("operation_id", sorted(MAIN_READS))
def test_main_reads_answer_with_an_example(operation_id: str) -> None:
    operation = by_operation_id()[operation_id]
    successes = [r for code, r in operation["responses"].items() if code.startswith("2")]
    assert successes, operation_id
    for response in successes:
        assert has_examples(response["content"]["application/json"]), operation_id


def request_examples() -> list[tuple[str, str, Any]]:
    """Every request body example, with the model Struct its schema names."""
    found = []
    for _, _, operation in operations(DOCUMENT):
        for media_type in operation.get("requestBody", {}).get("content", {}).values():
            if "$ref" not in media_type["schema"]:
                continue  # not one JSON body (NDJSON lines): tests/test_bulk_copy.py checks its example
            body = media_type["schema"]["$ref"].rsplit("/", 1)[-1]
            for key, example in media_type.get("examples", {}).items():
                found.append((f"{operation['operationId']}:{key}", body, example["value"]))
    return found


@pytest.mark.parametrize(("example", "body", "value"), request_examples())
def test_request_examples_are_bodies_the_service_accepts(example: str, body: str, value: Any) -> None:
    msgspec.json.decode(msgspec.json.encode(value), type=getattr(model, body))


@pytest.mark.parametrize(
    ("documented", "encoded"),
    [(prov_api.ProvJson, prov_domain.ProvJson), (prov_api.ProvLiteral, prov_domain.ProvLiteral)],
)
def test_documented_prov_json_has_the_fields_the_service_encodes(documented: type, encoded: type) -> None:
    def shape(struct: type) -> list[tuple[str, bool]]:
        info = msgspec.inspect.type_info(struct)
        assert isinstance(info, msgspec.inspect.StructType)
        return [(f.encode_name, f.required) for f in info.fields]

    assert shape(documented) == shape(encoded)


# Routes that are not API operations: the interactive docs, the workspace's pages (`/` sends a browser
# there), and the operators' metrics.
WORKSPACE_PATHS = ("/schema", "/ui", "/metrics")


async def test_live_routes_are_the_documented_operations(app: Litestar) -> None:
    live = {
        (route.path.replace(":str", ""), method.lower())
        for route in app.routes
        for method in getattr(route, "methods", ())
        if method not in {"HEAD", "OPTIONS"} and not route.path.startswith(WORKSPACE_PATHS) and route.path != "/"
    }
    documented = {(path, method) for path, method, _ in operations(DOCUMENT)}
    assert live == documented


# --- the document is as strict as the service (what Schemathesis checks, `make fuzz`) -------------

REQUEST_BODIES = sorted(
    name
    for name, value in vars(model).items()
    if isinstance(value, type) and issubclass(value, model.Base) and value is not model.Base
)
CONSTRAINTS = {"minLength", "maxLength", "pattern", "format", "minItems", "maxItems", "minProperties", "maxProperties"}


def constraints(schema: Any, where: str = "") -> dict[str, Any]:
    """Every constraint keyword under ``schema``, by where it sits (branches of unions merged)."""
    found: dict[str, Any] = {}
    if not isinstance(schema, dict) or "$ref" in schema:
        return found
    for key, value in schema.items():
        if key in CONSTRAINTS:
            found[f"{where}.{key}"] = value
        elif key == "properties":
            for name, sub in value.items():
                found |= constraints(sub, f"{where}.{name}")
        elif key in {"items", "additionalProperties", "propertyNames"}:
            found |= constraints(value, f"{where}[{key}]")
        elif key in {"anyOf", "oneOf"}:
            for sub in value:
                found |= constraints(sub, where)
    return found


@pytest.mark.parametrize("name", REQUEST_BODIES)
def test_request_bodies_document_that_unknown_fields_are_refused(name: str) -> None:
    assert SCHEMAS[name]["additionalProperties"] is False


@pytest.mark.parametrize("name", REQUEST_BODIES)
def test_request_bodies_document_every_constraint_msgspec_decodes_with(name: str) -> None:
    # Litestar left out the constraints of list items and dict keys and values, and formats:
    # schema-valid requests were refused (an identifier of "") and refused ones documented as valid.
    _, decoded = msgspec.json.schema_components([getattr(model, name)])
    assert constraints(decoded[name]).items() <= constraints(SCHEMAS[name]).items()


def given(*names: str) -> dict[str, Any]:
    return {"required": list(names), "properties": {n: {"not": {"type": "null"}} for n in names}}


@pytest.mark.parametrize(
    ("name", "fields"),
    [
        ("AffiliationIn", ["organization_id", "organization"]),
        ("ReviewIn", ["reviewer_id", "reviewer"]),
        ("HopIn", ["source_id", "source"]),
    ],
)
def test_fields_that_exclude_each_other_are_documented(name: str, fields: list[str]) -> None:
    assert SCHEMAS[name]["not"] == {"anyOf": [given(*fields)]}


@pytest.mark.parametrize(
    ("name", "others", "last"),
    [
        ("AffiliationIn", ["organization_id"], "organization"),
        ("ReviewIn", ["reviewer_id"], "reviewer"),
        ("HopIn", ["source_id", "source"], "upstream_claim_id"),
    ],
)
def test_fields_of_which_one_is_needed_are_documented(name: str, others: list[str], last: str) -> None:
    # With if/then, not oneOf or anyOf: generated clients read those as unions and lose the fields.
    schema = SCHEMAS[name]
    assert schema["if"] == {"not": {"anyOf": [given(n) for n in others]}}
    assert schema["then"] == given(last)
    assert "oneOf" not in schema and "anyOf" not in schema


@pytest.mark.parametrize("operation_id", ["updateClaim", "updateSource"])
def test_edits_document_if_match_as_required(operation_id: str) -> None:
    (if_match,) = [p for p in by_operation_id()[operation_id]["parameters"] if p["name"] == "If-Match"]
    assert if_match["required"] is True


@pytest.mark.parametrize(("path", "method", "operation"), operations(DOCUMENT))
def test_id_parameters_are_documented_as_uuids(path: str, method: str, operation: dict[str, Any]) -> None:
    ids = [p for p in operation.get("parameters", []) if p["name"].endswith("_id") or p["name"] in {"origin", "via"}]
    for parameter in ids:
        assert parameter["schema"]["format"] == "uuid", f"{method} {path} {parameter['name']}"


def test_the_not_blank_pattern_is_pythons_white_space_spelled_out() -> None:
    # `\S` is narrower in ECMA-262 (validators) than in Python (the service): "\x85" was valid to one only.
    pattern = re.compile(model.NOT_BLANK)
    assert all((pattern.search(chr(c)) is None) == chr(c).isspace() for c in range(0x110000))


def documented_patterns(schema: Any) -> list[str]:
    if isinstance(schema, dict):
        own = [schema["pattern"]] if isinstance(schema.get("pattern"), str) else []
        return own + [p for value in schema.values() for p in documented_patterns(value)]
    if isinstance(schema, list):
        return [p for value in schema for p in documented_patterns(value)]
    return []


@pytest.mark.parametrize("pattern", sorted(set(documented_patterns(DOCUMENT))))
def test_documented_patterns_mean_the_same_to_python_and_to_ecma_262(pattern: str) -> None:
    # The service searches with Python's re, validators of the document use ECMA-262: \s, \S, \w and
    # \d cover other characters there, and Python lets $ match before a final line feed.
    assert not re.search(r"\\[sSwWdD]", pattern)
    assert all(pattern[i + 1 :].startswith("(?!\\n)") for i, ch in enumerate(pattern) if ch == "$")
