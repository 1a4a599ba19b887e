"""Text from a request: control characters, and values echoed in messages."""

from __future__ import annotations

import unicodedata

from pydantic_core import PydanticCustomError

MAX_ECHO_LENGTH = 64
"""Characters of a caller's value that an error message repeats."""


def shorten(text: str, limit: int = MAX_ECHO_LENGTH) -> str:
    """Cut a caller's value to `limit` characters, ending in "…" when cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def has_control_character(text: str) -> bool:
    """Return whether `text` contains a Unicode control character (C0, DEL or C1)."""
    return any(unicodedata.category(char) == "Cc" for char in text)


def reject_control_characters(value: str) -> str:
    """Raise a pydantic validation error if `value` contains a control character.

    Spaces pass. A newline or NUL in a name or a password is a client bug,
    and it would also corrupt line-based logs and terminal output.
    """
    if has_control_character(value):
        raise PydanticCustomError(
            "control_character", "Must not contain control characters."
        )
    return value
