"""How msgspec Structs appear in the OpenAPI document, beyond what Litestar does by itself."""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING

import msgspec

# Litestar exports no public name for its Struct schema plugin; an upgrade may move it.
from litestar._openapi.schema_generation.plugins.struct import StructSchemaPlugin
from litestar.openapi.spec import Schema
from litestar.typing import FieldDefinition

if TYPE_CHECKING:
    from litestar._openapi.schema_generation import SchemaCreator


class DescribedStructSchemaPlugin(StructSchemaPlugin):
    """Struct schemas described by their class docstrings, which Litestar leaves out, and the tag
    field of a tagged union described as the constant it is."""

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
        return schema
