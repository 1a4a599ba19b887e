import re

from techcorp_server.core.ids import new_id

ID_PATTERN = re.compile(r"^usr_[0-9A-HJKMNP-TV-Z]{26}$")


def test_ids_have_prefix_and_ulid() -> None:
    assert ID_PATTERN.match(new_id("usr"))


def test_ids_sort_by_creation() -> None:
    ids = [new_id("prd") for _ in range(10_000)]
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)
