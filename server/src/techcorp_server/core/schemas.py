"""Building blocks shared by the request and response models of every domain."""

from __future__ import annotations

from typing import Any

from pydantic import Field, TypeAdapter


def optional_field(field_type: Any) -> Any:
    """Declare a field that may be left out but not sent as null.

    Its JSON schema is that of `field_type` alone, without null or a default.
    """
    documented = TypeAdapter(field_type).json_schema()

    def document(schema: dict[str, Any]) -> None:
        schema.clear()
        schema.update(documented)

    return Field(default=None, json_schema_extra=document)
