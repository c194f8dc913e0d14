"""How msgspec Structs appear in the OpenAPI document, beyond what Litestar does by itself."""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any

import msgspec

# Litestar exports no public name for its Struct schema plugin; an upgrade may move it.
from litestar._openapi.schema_generation.plugins.struct import StructSchemaPlugin
from litestar.openapi.spec import OpenAPIFormat, OpenAPIType, Schema
from litestar.typing import FieldDefinition

if TYPE_CHECKING:
    from litestar._openapi.schema_generation import SchemaCreator

# JSON Schema keywords msgspec writes and Litestar leaves out below the top of a field (the items of
# a list, the keys and values of a dict), or never writes (a string's format), by Schema attribute.
_CONSTRAINTS = {
    "minLength": "min_length",
    "maxLength": "max_length",
    "pattern": "pattern",
    "minProperties": "min_properties",
    "maxProperties": "max_properties",
    "minItems": "min_items",
    "maxItems": "max_items",
}


class DescribedStructSchemaPlugin(StructSchemaPlugin):
    """Struct schemas described by their class docstrings, which Litestar leaves out, and the tag
    field of a tagged union described as the constant it is.

    Request bodies are documented as strictly as msgspec decodes them: unknown fields refused
    (``additionalProperties: false``), the constraints of list items and dict keys and values, id
    formats, and the fields of which a Struct needs at most or at least one (``given_at_most_one``,
    ``given_at_least_one``: given means present and not null)."""

    def to_openapi_schema(self, field_definition: FieldDefinition, schema_creator: SchemaCreator) -> Schema:
        schema = super().to_openapi_schema(field_definition, schema_creator)
        struct = field_definition.type_
        if schema.description is None and struct.__doc__:
            paragraphs = inspect.cleandoc(struct.__doc__).replace("``", "`").split("\n\n")
            schema.description = "\n\n".join(" ".join(p.split("\n")) for p in paragraphs)
        info = msgspec.inspect.type_info(struct)
        if isinstance(info, msgspec.inspect.StructType) and info.tag_field and schema.properties:
            tag = schema.properties.get(info.tag_field)
            if isinstance(tag, Schema) and tag.description is None:
                tag.description = f"The tag naming this type: always `{info.tag}`."
        if isinstance(info, msgspec.inspect.StructType):
            _as_msgspec_decodes(schema, struct, info)
        return schema


def _as_msgspec_decodes(schema: Schema, struct: type[msgspec.Struct], info: msgspec.inspect.StructType) -> None:
    """Tighten ``schema`` to what msgspec accepts for ``struct``."""
    if info.forbid_unknown_fields:
        schema.additional_properties = False
    _, components = msgspec.json.schema_components([struct])
    own = components[struct.__name__]
    properties = schema.properties or {}
    for name, spec in own.get("properties", {}).items():
        if isinstance(target := properties.get(name), Schema):
            _tighten(target, spec)
    at_most: tuple[str, ...] = getattr(struct, "given_at_most_one", ())
    at_least: tuple[str, ...] = getattr(struct, "given_at_least_one", ())
    # Said with `not` and `if`/`then` only: generated clients read a oneOf or anyOf beside
    # `properties` as a union of bare objects and lose the fields.
    if at_most:
        schema.schema_not = Schema(any_of=[_given(a, b) for i, a in enumerate(at_most) for b in at_most[i + 1 :]])
    if len(at_least) > 1:  # if none of the others is given, the last one is
        *others, last = at_least
        schema.schema_if = Schema(schema_not=Schema(any_of=[_given(name) for name in others]))
        schema.then = _given(last)


def _given(*names: str) -> Schema:
    """The fields ``names`` are present and not null."""
    return Schema(
        required=list(names), properties={name: Schema(schema_not=Schema(type=OpenAPIType.NULL)) for name in names}
    )


def _tighten(target: Schema, spec: dict[str, Any]) -> None:
    """Copy the constraints of msgspec's ``spec`` that ``target`` lacks, into lists and dicts too."""
    alternatives = [s for s in spec.get("anyOf", [spec]) if s.get("type") != "null"]
    if len(alternatives) != 1:
        return
    spec = alternatives[0]
    if "$ref" in spec:
        return
    # An optional field is a oneOf with null: Litestar puts some constraints beside it, the rest go in the branch.
    outer = target
    branches = [s for s in target.one_of or [] if isinstance(s, Schema) and s.type != OpenAPIType.NULL]
    if len(branches) == 1 and branches[0].type is not None:
        target = branches[0]
    for keyword, attribute in _CONSTRAINTS.items():
        if keyword in spec and getattr(target, attribute) is None and getattr(outer, attribute) is None:
            setattr(target, attribute, spec[keyword])
    if "format" in spec and target.format is None and outer.format is None:
        target.format = OpenAPIFormat(spec["format"])
    if isinstance(spec.get("items"), dict) and isinstance(target.items, Schema):
        _tighten(target.items, spec["items"])
    if isinstance(spec.get("additionalProperties"), dict) and isinstance(target.additional_properties, Schema):
        _tighten(target.additional_properties, spec["additionalProperties"])
    if isinstance(spec.get("propertyNames"), dict) and target.property_names is None:
        target.property_names = Schema()
        _tighten(target.property_names, spec["propertyNames"])
