import pytest

from wrk_runner import WrkError, parse_result

WRK_OUTPUT = """Running 2s test @ http://127.0.0.1:8000/
  1 threads and 64 connections
  40000 requests in 2.00s, 240.00MB read
Requests/sec:  20000.00
WRK_RESULT {"requests": 40000, "duration_us": 2000000, "bytes": 251658240, \
"errors": {"connect": 0, "read": 0, "write": 0, "status": 3, "timeout": 1}, \
"latency_us": {"p50": 1500, "p90": 2500, "p99": 4000, "max": 9000}}
"""


def test_parse_result_reads_report_line() -> None:
    result = parse_result(WRK_OUTPUT)

    assert result.requests == 40000
    assert result.requests_per_second == 20000.0
    assert (result.p50_us, result.p90_us, result.p99_us) == (1500, 2500, 4000)
    assert result.max_us == 9000


def test_parse_result_counts_errors() -> None:
    result = parse_result(WRK_OUTPUT)

    assert result.errors["status"] == 3
    assert result.error_count == 4


def test_parse_result_without_report_line() -> None:
    with pytest.raises(WrkError, match="no WRK_RESULT line"):
        parse_result("Running 2s test @ http://127.0.0.1:8000/\n")
