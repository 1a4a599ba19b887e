"""The webhook examples of the README, run as written."""

from __future__ import annotations

import pytest

from .events_fixtures import docs_examples


def test_webhook_examples_run(capsys: pytest.CaptureFixture[str]) -> None:
    source = docs_examples("webhooks")

    exec(compile(source, "README.md", "exec"), {})  # noqa: S102 (our own docs)

    assert "user.created: new@example.com" in capsys.readouterr().out
