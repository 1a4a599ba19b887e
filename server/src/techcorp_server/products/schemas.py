"""Request and response bodies of the products endpoints."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
)
from pydantic_core import PydanticCustomError

from ..core.money import MAX_PRICE, Price
from ..core.schemas import optional_field
from ..core.text import reject_control_characters

MAX_NAME_LENGTH = 200
MAX_CATEGORY_LENGTH = 64
MAX_DESCRIPTION_LENGTH = 10_000


ProductName = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_NAME_LENGTH),
    AfterValidator(reject_control_characters),
]
Category = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True,
        to_lower=True,
        min_length=1,
        max_length=MAX_CATEGORY_LENGTH,
    ),
    AfterValidator(reject_control_characters),
]
Description = Annotated[str, Field(max_length=MAX_DESCRIPTION_LENGTH)]


class ProductCreate(BaseModel):
    """The body of `POST /v2/products`."""

    model_config = ConfigDict(extra="forbid")

    name: ProductName
    price: Price
    category: Category
    description: Description | None = None


class ProductReplace(ProductCreate):
    """The body of `PUT /v2/products/{id}`: every field, replacing the old ones.

    A description left out is removed, as `PUT` replaces the whole product.
    """


class ProductUpdate(BaseModel):
    """The body of `PATCH /v2/products/{id}`: only the fields to change.

    `description` may be null to remove it. The other fields cannot be null.
    """

    model_config = ConfigDict(extra="forbid")

    name: ProductName | None = optional_field(ProductName)
    price: Price | None = optional_field(Price)
    category: Category | None = optional_field(Category)
    description: Description | None = None

    @field_validator("name", "price", "category", mode="before")
    @classmethod
    def _reject_null(cls, value: Any) -> Any:
        if value is None:
            raise PydanticCustomError(
                "null_value", "Must not be null. Leave the field out to keep its value."
            )
        return value


class ProductPublic(BaseModel):
    """A product as the API returns it."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(examples=["prd_01J9Z6V3Q8G2N5X7W4K1M0P3RT"])
    name: str = Field(examples=["Super Widget"])
    price: float = Field(
        ge=0,
        le=float(MAX_PRICE),
        multiple_of=0.01,
        examples=[99.99],
        description="Exact amount with at most two decimals.",
    )
    category: str = Field(examples=["electronics"])
    description: str | None = None
    created_at: str = Field(description="ISO 8601 UTC timestamp.")
    updated_at: str = Field(description="ISO 8601 UTC timestamp.")
