"""The stream examples of the README, run against a real server.

The examples address the demo server, so the test points the clients at its
own server (through `TECHCORP_BASE_URL`) and admin client. It moves a
book's price until they end.
"""

from __future__ import annotations

import threading

import pytest

from .events_fixtures import Api, docs_examples
from .server import ADMIN_CLIENT_ID, ADMIN_CLIENT_SECRET, LocalServer


def move_prices(api: Api, product_id: str, stop: threading.Event) -> None:
    price = 10.0
    while not stop.wait(0.2):
        price = 10.0 if price > 20 else price + 0.5
        api.set_price(product_id, price)


def test_stream_examples_run(
    server: LocalServer,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TECHCORP_BASE_URL", server.base_url)
    source = docs_examples("stream")
    source = source.replace('"your_id"', repr(ADMIN_CLIENT_ID))
    source = source.replace('"your_secret"', repr(ADMIN_CLIENT_SECRET))
    api = Api(server.base_url)
    product_id = api.create_product(price=10.0, category="books")
    stop = threading.Event()
    mover = threading.Thread(target=move_prices, args=(api, product_id, stop))
    mover.start()
    try:
        exec(compile(source, "README.md", "exec"), {})  # noqa: S102 (our own docs)
    finally:
        stop.set()
        mover.join()
        api.close()

    output = capsys.readouterr().out
    assert output.count(" -> ") == 5
    assert "status: " in output
    assert f"product_id='{product_id}'" in output
