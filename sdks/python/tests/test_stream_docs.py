"""The stream examples of `docs/events.md`, run against a real server.

The examples address the demo server, so the test points them at its own
server and admin client. It moves a book's price until they end.
"""

from __future__ import annotations

import threading

import pytest

from .events_fixtures import Api, docs_examples
from .server import ADMIN_CLIENT_ID, ADMIN_CLIENT_SECRET, LocalServer

DEMO_BASE_URL = "http://127.0.0.1:8000"


def move_prices(api: Api, product_id: str, stop: threading.Event) -> None:
    price = 10.0
    while not stop.wait(0.2):
        price = 10.0 if price > 20 else price + 0.5
        api.set_price(product_id, price)


def test_stream_examples_run(
    server: LocalServer, capsys: pytest.CaptureFixture[str]
) -> None:
    source = docs_examples("stream")
    assert DEMO_BASE_URL in source
    source = source.replace(DEMO_BASE_URL, server.base_url)
    source = source.replace('"your_id"', repr(ADMIN_CLIENT_ID))
    source = source.replace('"your_secret"', repr(ADMIN_CLIENT_SECRET))
    api = Api(server.base_url)
    product_id = api.create_product(price=10.0, category="books")
    stop = threading.Event()
    mover = threading.Thread(target=move_prices, args=(api, product_id, stop))
    mover.start()
    try:
        exec(compile(source, "docs/events.md", "exec"), {})  # noqa: S102 (our own docs)
    finally:
        stop.set()
        mover.join()
        api.close()

    output = capsys.readouterr().out
    assert output.count(" -> ") == 5
    assert "status: " in output
    assert f"product_id='{product_id}'" in output
