"""Request and response bodies of the payments endpoints."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, StrictInt

MAX_QUANTITY = 1000

SUCCEEDING_METHODS = ("pm_card_visa", "pm_card_mastercard", "pm_card_amex")
DECLINING_METHODS = {
    "pm_card_chargeDeclined": ("card_declined", "The card was declined."),
    "pm_card_chargeDeclinedInsufficientFunds": (
        "insufficient_funds",
        "The card has insufficient funds.",
    ),
    "pm_card_chargeDeclinedExpiredCard": ("expired_card", "The card has expired."),
}
"""Test payment methods that are declined: failure code and message."""

PAYMENT_METHODS = (*SUCCEEDING_METHODS, *DECLINING_METHODS)


class PaymentCreate(BaseModel):
    """The body of `POST /v2/payments`."""

    model_config = ConfigDict(extra="forbid")

    product_id: str = Field(min_length=1, max_length=40, examples=["prd_01J9Z6V3Q8"])
    quantity: StrictInt = Field(default=1, ge=1, le=MAX_QUANTITY)
    payment_method: str = Field(
        max_length=64,
        json_schema_extra={"enum": list(PAYMENT_METHODS)},
        description="A test method: `pm_card_visa`, `pm_card_mastercard` and "
        "`pm_card_amex` succeed; the `pm_card_chargeDeclined…` ones are declined.",
    )


class PaymentPublic(BaseModel):
    """A payment as the API returns it. Amounts are exact, in dollars."""

    id: str = Field(examples=["pay_01J9Z6V3Q8G2N5X7W4K1M0P3RT"])
    user_id: str
    product_id: str
    product_name: str
    quantity: int
    unit_amount: float = Field(description="The product's price when paid.")
    amount: float = Field(description="`unit_amount` times `quantity`.")
    currency: str = Field(examples=["usd"])
    payment_method: str
    status: str = Field(description="`succeeded` or `failed`.")
    failure_code: str | None = Field(
        description="Why a failed payment was declined, such as `card_declined`."
    )
    failure_message: str | None
    created_at: str = Field(description="ISO 8601 UTC timestamp.")
