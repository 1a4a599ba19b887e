import pytest

from json_encoders import ENCODERS, STARLETTE, check_round_trip, measure
from sample_page import sample_page


def test_encoders_agree_on_sample_page() -> None:
    page = sample_page()

    check_round_trip(page)
    assert ENCODERS["orjson.dumps"](page) == ENCODERS[STARLETTE](page)


def test_check_round_trip_rejects_changed_page() -> None:
    # A tuple is written as a JSON array and reads back as a list.
    with pytest.raises(SystemExit, match=r"orjson\.dumps changed the page"):
        check_round_trip({"ids": (1, 2)})


def test_measure_reports_every_encoder() -> None:
    rows = measure(number=10, repeat=1)

    assert [row[0] for row in rows] == list(ENCODERS)
    starlette_row = rows[list(ENCODERS).index(STARLETTE)]
    assert starlette_row[4] == "1.00x"
    assert all(float(row[2]) > 0 for row in rows)
