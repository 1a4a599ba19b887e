"""Fixtures: one real server process shared by the SDK's tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .server import LocalServer


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    process = LocalServer(tmp_path_factory.mktemp("server"))
    process.start()
    yield process
    process.stop()
