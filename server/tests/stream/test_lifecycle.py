"""How stream connections end, resume and keep up: expiry, revocation,
heartbeats, slow clients, history and shutdown."""

from __future__ import annotations

import asyncio
import signal
import socket
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed

from ..conftest import server_env
from ..utils.api import bearer, client_token, create_user, set_price
from ..utils.server import ServerProcess
from ..utils.tokens import forge, read_signing_keys, split_token, valid_claims
from .client import open_stream, opened, receive, receive_type, send, start_server

CLOSE_WAIT_SECONDS = 10.0


async def _closed_code(websocket: Any) -> int | None:
    """Read until the server closes the connection; return its close code."""
    async with asyncio.timeout(CLOSE_WAIT_SECONDS):
        try:
            while True:
                await websocket.recv()
        except ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd else None


async def _new_product(api: httpx.AsyncClient, token: str) -> str:
    response = await api.post(
        "/v2/products",
        json={"name": "Resumable", "price": 10, "category": "resume"},
        headers=bearer(token),
    )
    assert response.status_code == 201, response.text
    product_id: str = response.json()["id"]
    return product_id


async def test_token_expiry_closes_stream(
    stream_server: ServerProcess, stream_admin_token: str
) -> None:
    header, claims, _ = split_token(stream_admin_token)
    keys = read_signing_keys(stream_server.database_url)
    expires_at = int(time.time()) + 2
    token = forge(
        valid_claims(claims["sub"], "admin", exp=expires_at, cid=claims.get("cid")),
        keys[header["kid"]],
        header["kid"],
    )

    async with open_stream(stream_server, token) as websocket:
        await opened(websocket)
        code = await _closed_code(websocket)
        closed_at = time.time()

    assert code == 4001
    assert websocket.close_reason is not None
    assert "expired" in websocket.close_reason
    assert expires_at - 0.5 <= closed_at <= expires_at + 3


async def test_deleted_user_is_disconnected(
    stream_server: ServerProcess, stream_api: httpx.AsyncClient, stream_admin_token: str
) -> None:
    member = await create_user(stream_api, stream_admin_token)

    async with open_stream(stream_server, member["token"]) as websocket:
        await opened(websocket)
        response = await stream_api.delete(
            f"/v2/users/{member['id']}", headers=bearer(stream_admin_token)
        )
        assert response.status_code == 204
        code = await _closed_code(websocket)

    assert code == 4003


async def test_role_change_keeps_stream_open(
    stream_server: ServerProcess, stream_api: httpx.AsyncClient, stream_admin_token: str
) -> None:
    member = await create_user(stream_api, stream_admin_token)

    async with open_stream(stream_server, member["token"]) as websocket:
        await opened(websocket)
        response = await stream_api.put(
            f"/v2/users/{member['id']}",
            json={"role": "admin"},
            headers=bearer(stream_admin_token),
        )
        await asyncio.sleep(0.5)
        await send(websocket, {"action": "ping"})
        pong = await receive(websocket)

    assert response.status_code == 200, response.text
    assert pong["type"] == "pong"


async def test_reconnect_resumes_after_last_event(
    stream_server: ServerProcess, stream_api: httpx.AsyncClient, stream_admin_token: str
) -> None:
    product_id = await _new_product(stream_api, stream_admin_token)
    query = f"events=market_update&product_ids={product_id}"

    async with open_stream(stream_server, stream_admin_token, query=query) as ws:
        await opened(ws)
        await set_price(stream_api, stream_admin_token, product_id, 11)
        seen = await receive_type(ws, "market_update")
    await set_price(stream_api, stream_admin_token, product_id, 12)
    await set_price(stream_api, stream_admin_token, product_id, 13)

    resume_query = f"{query}&last_event_id={seen['id']}"
    async with open_stream(stream_server, stream_admin_token, query=resume_query) as ws:
        await opened(ws)
        missed = [await receive(ws), await receive(ws)]
        await set_price(stream_api, stream_admin_token, product_id, 14)
        live = await receive(ws)

    assert [event["data"]["price"] for event in missed] == [12, 13]
    sequences = [int(event["id"].split("-")[1]) for event in [seen, *missed, live]]
    assert sequences == sorted(sequences)
    assert len(set(sequences)) == 4
    assert live["data"]["price"] == 14


async def test_resume_action_replays_missed_events(
    stream_server: ServerProcess, stream_api: httpx.AsyncClient, stream_admin_token: str
) -> None:
    product_id = await _new_product(stream_api, stream_admin_token)
    query = f"events=market_update&product_ids={product_id}"
    async with open_stream(stream_server, stream_admin_token, query=query) as ws:
        await opened(ws)
        await set_price(stream_api, stream_admin_token, product_id, 21)
        seen = await receive(ws)
    await set_price(stream_api, stream_admin_token, product_id, 22)

    async with open_stream(stream_server, stream_admin_token, query=query) as ws:
        await opened(ws)
        await send(ws, {"action": "resume", "last_event_id": seen["id"]})
        missed = await receive(ws)
        ack = await receive(ws)

    assert missed["data"]["price"] == 22
    assert ack["type"] == "ack"
    assert ack["data"] == {
        "action": "resume",
        "last_event_id": seen["id"],
        "replayed": 1,
    }


@pytest.mark.parametrize("last_event_id", ["1-1", "garbage", "99999999999999-5"])
async def test_unknown_last_event_id_requires_resync(
    stream_server: ServerProcess, stream_admin_token: str, last_event_id: str
) -> None:
    query = f"last_event_id={last_event_id}"
    async with open_stream(stream_server, stream_admin_token, query=query) as ws:
        await opened(ws)
        message = await receive(ws)

    assert message["type"] == "resync_required"
    assert message["id"] is None
    assert message["data"]["last_event_id"] == last_event_id


@pytest.fixture(scope="module")
def tight_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A server with a tiny queue and history, so limits are reached quickly."""
    server = start_server(
        tmp_path_factory,
        "stream-tight",
        stream_queue_size="4",
        stream_history_size="3",
        stream_close_timeout_seconds="1",
    )
    yield server
    server.stop()


async def test_old_event_id_requires_resync(tight_server: ServerProcess) -> None:
    async with httpx.AsyncClient(base_url=tight_server.base_url) as api:
        token = await client_token(api)
        product_id = await _new_product(api, token)
        query = f"events=market_update&product_ids={product_id}"
        async with open_stream(tight_server, token, query=query) as ws:
            await opened(ws)
            await set_price(api, token, product_id, 1)
            seen = await receive(ws)
        for price in (2, 3, 4, 5):
            await set_price(api, token, product_id, price)

        resume = f"{query}&last_event_id={seen['id']}"
        async with open_stream(tight_server, token, query=resume) as ws:
            await opened(ws)
            message = await receive(ws)

    assert message["type"] == "resync_required"


def _unread_socket(server: ServerProcess) -> socket.socket:
    """A connected socket with a small receive buffer, to fill up quickly."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", server.port))
    return sock


async def test_stalled_client_is_dropped_while_others_keep_up(
    tight_server: ServerProcess,
) -> None:
    message = "A long maintenance notice. " * 70
    async with httpx.AsyncClient(base_url=tight_server.base_url) as api:
        token = await client_token(api)
        stalled_stream = open_stream(
            tight_server, token, sock=_unread_socket(tight_server), max_queue=1
        )
        async with stalled_stream as stalled, open_stream(tight_server, token) as fast:
            await opened(fast)
            delays = []
            for number in range(5000):
                posted_at = time.monotonic()
                response = await api.post(
                    "/v2/system/status",
                    json={"status": "degraded", "message": f"{number} {message}"},
                    headers=bearer(token),
                )
                assert response.status_code == 200
                event = await receive(fast)
                assert event["data"]["message"].startswith(f"{number} ")
                delays.append(time.monotonic() - posted_at)
                if number % 50 == 0 and "stream client too slow" in tight_server.logs():
                    break
            else:
                pytest.fail("the stalled client was never dropped")

            code = await _closed_code(stalled)

    assert code in {4029, None}
    assert max(delays) < 1.0
    assert number < 5000


@pytest.fixture(scope="module")
def heartbeat_server(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[ServerProcess]:
    server = start_server(
        tmp_path_factory,
        "stream-heartbeat",
        stream_ping_interval_seconds="0.5",
        stream_ping_timeout_seconds="0.5",
    )
    yield server
    server.stop()


async def test_silent_client_is_closed_after_ping(
    heartbeat_server: ServerProcess,
) -> None:
    async with httpx.AsyncClient(base_url=heartbeat_server.base_url) as api:
        token = await client_token(api)
    async with open_stream(heartbeat_server, token) as websocket:
        await opened(websocket)
        ping = await receive(websocket)
        code = await _closed_code(websocket)

    assert ping["type"] == "ping"
    assert ping["id"] is None
    assert code == 4008


async def test_client_answering_pings_stays(heartbeat_server: ServerProcess) -> None:
    async with httpx.AsyncClient(base_url=heartbeat_server.base_url) as api:
        token = await client_token(api)
    async with open_stream(heartbeat_server, token) as websocket:
        await opened(websocket)
        for _ in range(3):
            ping = await receive_type(websocket, "ping")
            await send(websocket, {"action": "pong"})
        await send(websocket, {"action": "ping"})
        pong = await receive_type(websocket, "pong")

    assert ping["type"] == "ping"
    assert pong["type"] == "pong"


async def test_deleted_client_is_disconnected(heartbeat_server: ServerProcess) -> None:
    async with httpx.AsyncClient(base_url=heartbeat_server.base_url) as api:
        admin_token = await client_token(api)
        created = await api.post(
            "/v2/clients", json={"name": "stream"}, headers=bearer(admin_token)
        )
        assert created.status_code == 201, created.text
        client = created.json()
        token = await client_token(api, client["id"], client["client_secret"])
        async with open_stream(heartbeat_server, token) as websocket:
            await opened(websocket)
            deleted = await api.delete(
                f"/v2/clients/{client['id']}", headers=bearer(admin_token)
            )
            code = await _closed_code(websocket)

    assert deleted.status_code == 204
    assert code == 4003


@pytest.mark.parametrize(
    ("sig", "group"),
    [(signal.SIGTERM, False), (signal.SIGINT, True)],
    ids=["sigterm", "ctrl-c"],
)
async def test_shutdown_sends_notice_then_closes(
    tmp_path_factory: pytest.TempPathFactory, sig: int, group: bool
) -> None:
    # Ctrl-C in a terminal sends SIGINT to the whole process group that the
    # server was started in.
    server = ServerProcess(tmp_path_factory.mktemp("stream-shutdown"), server_env())
    server.start(own_process_group=group)
    try:
        async with httpx.AsyncClient(base_url=server.base_url) as api:
            token = await client_token(api)
        async with open_stream(server, token) as websocket:
            await opened(websocket)
            stopping = asyncio.create_task(
                asyncio.to_thread(server.stop, sig, group=group)
            )
            notice = await receive(websocket)
            code = await _closed_code(websocket)
            exit_code = await stopping
    finally:
        server.stop()

    assert notice["type"] == "system_status"
    assert notice["data"]["status"] == "maintenance"
    assert "last_event_id" in notice["data"]["message"]
    assert code == 1001
    assert exit_code == 0


async def test_simulator_moves_prices(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    server = start_server(
        tmp_path_factory,
        "stream-simulator",
        simulate_market="true",
        market_simulator_interval_seconds="0.2",
        market_simulator_products="2",
    )
    try:
        async with httpx.AsyncClient(base_url=server.base_url) as api:
            token = await client_token(api)
            product_id = await _new_product(api, token)
            async with open_stream(server, token) as websocket:
                await opened(websocket)
                first = await receive_type(websocket, "market_update")
                second = await receive_type(websocket, "market_update")
            product = (
                await api.get(f"/v2/products/{product_id}", headers=bearer(token))
            ).json()
    finally:
        server.stop()

    assert first["data"]["product_id"] == product_id
    assert first["data"]["price"] != first["data"]["previous_price"]
    assert second["data"]["previous_price"] == first["data"]["price"]
    assert product["price"] != 10
