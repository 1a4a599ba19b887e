import resource
import sys

import pytest

import stream_fanout
from stream_clients import arrival_key
from stream_fanout import (
    BenchError,
    FileLimit,
    Run,
    delivery_latencies_ms,
    parse_args,
    percentile,
    raise_file_limit,
    render_section,
    slowest_per_event_ms,
)


def _run() -> Run:
    run = Run(connections=2, rss_before_kib=100_000, rss_connected_kib=100_400)
    run.sent_at = {"prd_a 1.5": 100.0, "prd_b 2.5": 200.0}
    run.arrivals = {"prd_a 1.5": [100.010, 100.030], "prd_b 2.5": [200.020, 200.300]}
    run.idle_list_ms = [1.0, 2.0, 3.0]
    run.connecting_list_ms = [5.0, 50.0]
    run.busy_list_ms = [2.0, 4.0, 6.0]
    return run


def test_percentile_uses_nearest_rank() -> None:
    values = list(range(1, 101))

    assert percentile(values, 0.5) == 50
    assert percentile(values, 0.99) == 99
    assert percentile(values, 1.0) == 100
    assert percentile([7.0], 0.99) == 7.0


def test_percentile_rejects_no_values() -> None:
    with pytest.raises(ValueError, match="no values"):
        percentile([], 0.5)


def test_latencies_cover_every_delivery() -> None:
    latencies = delivery_latencies_ms(_run())

    assert [round(value) for value in sorted(latencies)] == [10, 20, 30, 300]
    assert [round(value) for value in slowest_per_event_ms(_run())] == [30, 300]


def test_missing_delivery_fails_the_run() -> None:
    run = _run()
    run.arrivals["prd_b 2.5"].pop()

    with pytest.raises(BenchError, match="1 of 2 clients"):
        delivery_latencies_ms(run)


def test_render_section_reports_target_and_limits() -> None:
    args = parse_args(["--connections=2", "--events=2", "--target-ms=250"])
    limit = FileLimit(soft_before=1024, soft=4096, hard=4096)

    section = render_section(_run(), args, limit, [("CPU model", "Test CPU")])

    assert section.startswith("## Stream fan-out\n")
    assert "`.venv/bin/python bench/stream_fanout.py --connections=2" in section
    assert "| server RSS per connection (KiB) | 200.0 |" in section
    assert "p50 / p99 while the clients connect (ms) | 5.0 / 50.0 |" in section
    assert "| open-file limit (soft before / soft / hard) | 1024 / 4096 / 4096 |" in (
        section
    )
    prose = " ".join(section.split())
    assert "The p99 of 300.0 ms misses the target of 250 ms." in prose


def test_parse_args_rejects_zero_connections(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        parse_args(["--connections=0"])

    assert exit_info.value.code == 2
    assert "must be more than 0, got 0" in capsys.readouterr().err


def test_file_limit_stays_within_hard_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)

    limit = raise_file_limit(soft + 10)

    assert limit.soft_before == soft
    assert limit.hard == hard
    assert limit.soft <= hard or hard == resource.RLIM_INFINITY
    assert resource.getrlimit(resource.RLIMIT_NOFILE)[0] == limit.soft


def test_small_run_against_real_server(capsys: pytest.CaptureFixture[str]) -> None:
    arguments = ["--connections=20", "--events=2", "--rate=5", "--products=200"]

    stream_fanout.main([*arguments, "--no-record"])

    output = capsys.readouterr().out
    assert "| deliveries | 40 (2 events to 20 clients) |" in output
    assert "| connections closed by the server | 0 |" in output
    assert sys.executable


def test_whole_price_names_the_same_change() -> None:
    assert arrival_key("prd_a", 218.0) == arrival_key("prd_a", 218)
    assert arrival_key("prd_a", 10.09) != arrival_key("prd_a", 10.9)
