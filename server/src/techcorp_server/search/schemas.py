"""Response bodies of the search endpoint."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ..products.schemas import ProductPublic
from ..users.schemas import UserPublic


class Highlight(BaseModel):
    """The parts of one field of the item that matched the query."""

    model_config = ConfigDict(extra="forbid")

    field: str = Field(examples=["name"])
    spans: list[tuple[int, int]] = Field(
        examples=[[[6, 12]]],
        description="Start and end (exclusive) of each match, in Unicode code "
        "points of the field's value.",
    )


class SearchHit(BaseModel):
    """A product or user that matched, with its score."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["product", "user"]
    score: float = Field(
        ge=0,
        le=1,
        description="1 when every query word is in the best field exactly; lower "
        "for missing words, typos, weaker fields and prefixes, in that order.",
    )
    item: ProductPublic | UserPublic
    highlights: list[Highlight]
