"""The retry rules, checked against the shared vectors."""

from __future__ import annotations

from typing import Any

import pytest

from techcorp._retries import Failure, RetryPolicy, is_replayable, retry_wait

from .vectors import cases, load

POLICY = load("retries.json")["policy"]


@pytest.mark.parametrize("case", cases("retries.json"))
def test_retry_decision_matches_the_vector(case: dict[str, Any]) -> None:
    policy = RetryPolicy(
        initial_backoff_seconds=POLICY["initial_backoff_seconds"],
        max_backoff_seconds=POLICY["max_backoff_seconds"],
        jitter=POLICY["jitter"],
        max_rate_limit_wait_seconds=POLICY["max_rate_limit_wait_seconds"],
        random=lambda: case["random"],
    )
    headers = {name.lower(): value for name, value in case["headers"].items()}
    failure = Failure(
        status=case["status"], headers=headers, sent=case["failure"] != "connect"
    )

    wait = retry_wait(
        failure,
        attempt=case["attempt"],
        max_retries=case.get("max_retries", POLICY["max_retries"]),
        replayable=is_replayable(case["method"], case["idempotency_key"]),
        now=POLICY["now"],
        policy=policy,
    )

    if case["retry"]:
        assert wait == pytest.approx(case["wait_seconds"])
    else:
        assert wait is None
