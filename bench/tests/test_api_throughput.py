import pytest

from api_throughput import parse_args, render_section, table_rows
from scenarios import FILTERED_PATH, SCENARIOS, ScenarioRuns
from wrk_runner import WrkResult

NO_ERRORS = {"connect": 0, "read": 0, "write": 0, "status": 0, "timeout": 0}


def _result(requests_per_second: int, p50_us: int) -> WrkResult:
    return WrkResult(
        requests=requests_per_second * 10,
        duration_us=10_000_000,
        errors=NO_ERRORS,
        p50_us=p50_us,
        p90_us=p50_us * 2,
        p99_us=p50_us * 4,
        max_us=p50_us * 8,
    )


def _runs() -> list[ScenarioRuns]:
    runs = []
    for index, scenario in enumerate(SCENARIOS):
        body = {"total": 4321} if scenario.path == FILTERED_PATH else {}
        rates = [40_000 // (index + 1) + delta for delta in (-100, 0, 500)]
        results = [_result(rate, 1000 * (index + 1)) for rate in rates]
        runs.append(ScenarioRuns(scenario, checked_body=body, results=results))
    return runs


def test_table_rows_use_medians_and_bare_ratio() -> None:
    rows = table_rows(_runs())

    bare, listing = rows[0], rows[1]
    assert bare[1:5] == ["40,000", "1.00", "4.00", "1.000"]
    assert listing[1:5] == ["20,000", "2.00", "8.00", "0.500"]
    assert listing[5] == "19,900 / 20,000 / 20,500"


def test_render_section_records_command_and_catalog() -> None:
    args = parse_args(["--products=5000", "--duration=3", "--rounds=3"])

    section = render_section(_runs(), args, [("CPU model", "Test CPU")])

    assert section.startswith("## API throughput\n")
    assert (
        "`.venv/bin/python bench/api_throughput.py --products=5000 --duration=3 "
        "--connections=64 --rounds=3`" in section
    )
    assert "| CPU model | Test CPU |" in section
    prose = " ".join(section.split())
    assert "the median of 3 wrk runs of 3 s" in prose
    assert "The filter matches 4,321 of them." in prose
    assert "`techcorp-server demo-data --products=5000 --seed=0`" in prose


def test_parse_args_rejects_zero_duration(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        parse_args(["--duration=0"])

    assert exit_info.value.code == 2
    assert "must be more than 0, got 0" in capsys.readouterr().err
