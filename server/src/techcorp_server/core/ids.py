"""Prefixed identifiers that sort by creation time.

An id is a type prefix and a ULID: 48 bits of Unix milliseconds and 80 random
bits in Crockford base32. Within one millisecond the random part is
incremented, so ids made by one process are strictly increasing.
"""

from __future__ import annotations

import secrets
import threading
import time
from datetime import datetime

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_RANDOM_BITS = 80

_lock = threading.Lock()
_last_millis = 0
_last_random = 0


def _encode(value: int, length: int) -> str:
    chars = []
    for _ in range(length):
        value, index = divmod(value, 32)
        chars.append(_ALPHABET[index])
    return "".join(reversed(chars))


def new_ulid() -> str:
    global _last_millis, _last_random
    with _lock:
        millis = time.time_ns() // 1_000_000
        if millis <= _last_millis:
            millis = _last_millis
            _last_random += 1
            if _last_random >= 1 << _RANDOM_BITS:
                # 2**80 ids in one millisecond cannot happen; move on a tick.
                millis += 1
                _last_random = secrets.randbits(_RANDOM_BITS - 1)
        else:
            _last_random = secrets.randbits(_RANDOM_BITS - 1)
        _last_millis = millis
        return _encode(millis, 10) + _encode(_last_random, 16)


def new_id(prefix: str) -> str:
    """Return a new id such as `usr_01J9Z6V3Q8G2N5X7W4K1M0P3RT`."""
    return f"{prefix}_{new_ulid()}"


def first_id_at(prefix: str, moment: datetime) -> str:
    """Return the smallest id with `prefix` that can be made at `moment`.

    Every id made before `moment` sorts below it, so `id < first_id_at(...)`
    selects older rows through the primary key index.
    """
    millis = int(moment.timestamp() * 1000)
    return f"{prefix}_{_encode(millis, 10)}{'0' * 16}"
