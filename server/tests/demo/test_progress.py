"""Load progress without a terminal: one plain line per tenth."""

from __future__ import annotations

import io

from techcorp_server.demo.progress import LoadProgress


def test_progress_lines_every_ten_percent() -> None:
    stream = io.StringIO()

    with LoadProgress("Loading products", 1000, stream=stream) as progress:
        for _ in range(100):
            progress(10)

    lines = stream.getvalue().splitlines()
    assert len(lines) == 10
    assert lines[0] == "Loading products: 100 of 1,000 (10%)"
    assert lines[-1] == "Loading products: 1,000 of 1,000 (100%)"


def test_progress_large_steps_skip_lines() -> None:
    stream = io.StringIO()

    with LoadProgress("Loading", 100, stream=stream) as progress:
        progress(35)
        progress(65)

    assert stream.getvalue().splitlines() == [
        "Loading: 35 of 100 (35%)",
        "Loading: 100 of 100 (100%)",
    ]
