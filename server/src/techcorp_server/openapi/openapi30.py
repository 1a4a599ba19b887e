"""An OpenAPI 3.0 rendition of the 3.1 document, for the interactive docs.

The Swagger UI that `swagger-ui-bundle` 1.1.0 ships (4.15.5) renders only
documents whose `openapi` field starts with `3.0.`. The 3.1 document stays the
published one, and this rendition rewrites the JSON Schema 2020-12 keywords
that 3.0 lacks into their 3.0 forms.
"""

from __future__ import annotations

from typing import Any

OPENAPI_30_VERSION = "3.0.3"

# The Schema Object keywords of OpenAPI 3.0.3. Any other key in a schema,
# except `$ref` and `x-` extensions, makes a 3.0 document invalid.
SCHEMA_KEYWORDS = frozenset(
    {
        "title",
        "multipleOf",
        "maximum",
        "exclusiveMaximum",
        "minimum",
        "exclusiveMinimum",
        "maxLength",
        "minLength",
        "pattern",
        "maxItems",
        "minItems",
        "uniqueItems",
        "maxProperties",
        "minProperties",
        "required",
        "enum",
        "type",
        "allOf",
        "oneOf",
        "anyOf",
        "not",
        "items",
        "properties",
        "additionalProperties",
        "description",
        "format",
        "default",
        "nullable",
        "discriminator",
        "readOnly",
        "writeOnly",
        "example",
        "externalDocs",
        "deprecated",
        "xml",
    }
)

_NULL = {"type": "null"}


def downgrade_document(document: dict[str, Any]) -> dict[str, Any]:
    """Return a 3.0.3 copy of a 3.1 document, leaving the input unchanged."""
    downgraded: dict[str, Any] = _downgrade_node(document)
    downgraded["openapi"] = OPENAPI_30_VERSION
    return downgraded


def _downgrade_node(node: Any) -> Any:
    """Copy a non-schema part of the document, downgrading the schemas in it."""
    if isinstance(node, list):
        return [_downgrade_node(item) for item in node]
    if not isinstance(node, dict):
        return node

    copy: dict[str, Any] = {}
    for key, value in node.items():
        if key == "schema":
            copy[key] = downgrade_schema(value)
        elif key == "schemas" and isinstance(value, dict):
            copy[key] = {name: downgrade_schema(item) for name, item in value.items()}
        else:
            copy[key] = _downgrade_node(value)
    return copy


def downgrade_schema(schema: Any) -> Any:
    """Rewrite one JSON Schema 2020-12 schema, and those inside it, for 3.0."""
    if not isinstance(schema, dict):
        return schema

    schema = _downgrade_null(dict(schema))
    schema = _downgrade_keywords(schema)
    schema = _downgrade_children(schema)

    if "$ref" in schema and len(schema) > 1:
        # OpenAPI 3.0 ignores every sibling of `$ref`, so keep them on a wrapper.
        schema["allOf"] = [{"$ref": schema.pop("$ref")}]
    return {
        key: value
        for key, value in schema.items()
        if key in SCHEMA_KEYWORDS or key == "$ref" or key.startswith("x-")
    }


def _downgrade_null(schema: dict[str, Any]) -> dict[str, Any]:
    """Turn `null` in `type`, `anyOf` or `oneOf` into `nullable: true`."""
    types = schema.get("type")
    if isinstance(types, list):
        others = [kind for kind in types if kind != "null"]
        if len(others) < len(types):
            schema["nullable"] = True
        if len(others) == 1:
            schema["type"] = others[0]
        else:
            del schema["type"]
        if len(others) > 1:
            schema["anyOf"] = [{"type": kind} for kind in others]

    for keyword in ("anyOf", "oneOf"):
        choices = schema.get(keyword)
        if not isinstance(choices, list) or _NULL not in choices:
            continue
        others = [choice for choice in choices if choice != _NULL]
        schema["nullable"] = True
        del schema[keyword]
        if len(others) == 1:
            schema = {**others[0], **schema}
        else:
            schema[keyword] = others

    if schema.get("type") == "null":
        del schema["type"]
        schema["nullable"] = True
    return schema


def _downgrade_keywords(schema: dict[str, Any]) -> dict[str, Any]:
    if "const" in schema:
        schema["enum"] = [schema.pop("const")]

    examples = schema.pop("examples", None)
    if isinstance(examples, list) and examples and "example" not in schema:
        schema["example"] = examples[0]

    # In 3.0 the exclusive bounds are flags on `minimum` and `maximum`.
    for exclusive, bound in (
        ("exclusiveMinimum", "minimum"),
        ("exclusiveMaximum", "maximum"),
    ):
        value = schema.get(exclusive)
        if isinstance(value, int | float) and not isinstance(value, bool):
            schema[bound] = value
            schema[exclusive] = True

    prefix_items = schema.pop("prefixItems", None)
    if isinstance(prefix_items, list) and "items" not in schema:
        schema["items"] = {"anyOf": prefix_items} if prefix_items else {}
    if schema.get("type") == "array" and "items" not in schema:
        schema["items"] = {}
    return schema


def _downgrade_children(schema: dict[str, Any]) -> dict[str, Any]:
    for keyword in ("allOf", "anyOf", "oneOf"):
        if isinstance(schema.get(keyword), list):
            schema[keyword] = [downgrade_schema(item) for item in schema[keyword]]
    for keyword in ("items", "not", "additionalProperties"):
        if isinstance(schema.get(keyword), dict):
            schema[keyword] = downgrade_schema(schema[keyword])
    if isinstance(schema.get("properties"), dict):
        schema["properties"] = {
            name: downgrade_schema(item) for name, item in schema["properties"].items()
        }
    return schema
