"""A Redis server shared by the rate-limit tests that need one."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ..utils.redis_server import RedisServer


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> Iterator[str]:
    """The URL of an empty Redis database."""
    redis_server.flush()
    return redis_server.url
