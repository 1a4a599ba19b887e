"""Managing webhook endpoints: admin only, checked URLs, secrets shown once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from asgi_lifespan import LifespanManager

from techcorp_server.app import create_app

from ..conftest import app_settings
from ..utils.api import assert_error, bearer, client_token, create_user
from .conftest import RegisterEndpoint
from .receiver import Receiver


@pytest.fixture(scope="module")
async def strict_api(
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[httpx.AsyncClient]:
    """The API with the default rule: only https to public addresses."""
    app = create_app(app_settings(tmp_path_factory.mktemp("strict")))
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://testserver"
        ) as client:
            yield client


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1/hook", "https"),
        ("https://127.0.0.1/hook", "loopback"),
        ("https://localhost/hook", "loopback"),
        ("https://[::1]/hook", "loopback"),
        ("https://[::ffff:127.0.0.1]/hook", "loopback"),
        ("https://2130706433/hook", "loopback"),
        ("https://0x7f.0.0.1/hook", "loopback"),
        ("https://10.0.0.8/hook", "private"),
        ("https://192.168.0.10/hook", "private"),
        ("https://169.254.169.254/latest/meta-data/", "link-local"),
        ("https://[fe80::1]/hook", "link-local"),
        ("https://224.0.0.1/hook", "multicast"),
        ("https://0.0.0.0/hook", "unspecified"),
        ("https://no-such-host.invalid/hook", "resolved"),
    ],
)
async def test_unsafe_urls_rejected(
    strict_api: httpx.AsyncClient, url: str, reason: str
) -> None:
    token = await client_token(strict_api)
    response = await strict_api.post(
        "/v2/webhooks", json={"url": url, "events": ["*"]}, headers=bearer(token)
    )
    body = assert_error(response, 400, "bad_request")
    assert reason in body["message"]
    assert body["details"][0]["field"] == "url"

    listed = await strict_api.get("/v2/webhooks", headers=bearer(token))
    assert listed.json()["total"] == 0


async def test_create_get_list_hide_secret(
    hooks: httpx.AsyncClient, hooks_admin: dict[str, str], register: RegisterEndpoint
) -> None:
    endpoint = await register(
        "http://127.0.0.1:9/in", ["user.created", "user.created"], description="CRM"
    )
    assert endpoint["id"].startswith("whk_")
    assert endpoint["events"] == ["user.created"]
    assert endpoint["enabled"] is True
    assert endpoint["description"] == "CRM"
    assert endpoint["secret"].startswith("whsec_")

    response = await hooks.get(f"/v2/webhooks/{endpoint['id']}", headers=hooks_admin)
    assert response.status_code == 200
    assert "secret" not in response.json()
    assert response.json()["url"] == "http://127.0.0.1:9/in"

    listed = await hooks.get("/v2/webhooks?limit=100", headers=hooks_admin)
    assert listed.status_code == 200
    assert endpoint["id"] in [item["id"] for item in listed.json()["data"]]
    assert endpoint["secret"] not in listed.text


async def test_own_secret_and_wildcard(register: RegisterEndpoint) -> None:
    endpoint = await register(
        "http://127.0.0.1:9/in", "*", secret="my-receiver-secret-123456"
    )
    assert endpoint["secret"] == "my-receiver-secret-123456"
    assert endpoint["events"] == ["*"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "http://127.0.0.1:9/", "events": ["order.created"]}, "events"),
        ({"url": "http://127.0.0.1:9/", "events": []}, "events"),
        ({"url": "http://127.0.0.1:9/"}, "events"),
        ({"events": ["*"]}, "url"),
        ({"url": "http://127.0.0.1:9/", "events": ["*"], "secret": "short"}, "secret"),
        ({"url": "http://127.0.0.1:9/", "events": ["*"], "enabled": False}, "enabled"),
        ({"url": "http://user:pw@127.0.0.1:9/", "events": ["*"]}, "url"),
    ],
)
async def test_invalid_bodies_rejected(
    hooks: httpx.AsyncClient,
    hooks_admin: dict[str, str],
    body: dict[str, object],
    field: str,
) -> None:
    response = await hooks.post("/v2/webhooks", json=body, headers=hooks_admin)
    error = assert_error(response, 400, "bad_request")
    assert field in [detail["field"] for detail in error["details"]]


async def test_members_cannot_manage_webhooks(
    hooks: httpx.AsyncClient, hooks_admin: dict[str, str], register: RegisterEndpoint
) -> None:
    endpoint = await register("http://127.0.0.1:9/in")
    member = await create_user(hooks, hooks_admin["Authorization"].split()[1])
    headers = bearer(member["token"])
    requests = [
        hooks.get("/v2/webhooks", headers=headers),
        hooks.post(
            "/v2/webhooks",
            json={"url": "http://127.0.0.1:9/", "events": ["*"]},
            headers=headers,
        ),
        hooks.get(f"/v2/webhooks/{endpoint['id']}", headers=headers),
        hooks.delete(f"/v2/webhooks/{endpoint['id']}", headers=headers),
        hooks.post(f"/v2/webhooks/{endpoint['id']}/rotate-secret", headers=headers),
        hooks.get(f"/v2/webhooks/{endpoint['id']}/deliveries", headers=headers),
    ]
    for request in requests:
        assert_error(await request, 403, "forbidden")
    assert (await hooks.get("/v2/webhooks")).status_code == 401


async def test_update_and_delete(
    hooks: httpx.AsyncClient, hooks_admin: dict[str, str], register: RegisterEndpoint
) -> None:
    endpoint = await register("http://127.0.0.1:9/in", ["user.created"])
    url = f"/v2/webhooks/{endpoint['id']}"

    response = await hooks.patch(
        url,
        json={
            "events": ["payment.failed"],
            "enabled": False,
            "url": "http://127.0.0.1:10/x",
        },
        headers=hooks_admin,
    )
    assert response.status_code == 200, response.text
    changed = response.json()
    assert changed["events"] == ["payment.failed"]
    assert changed["enabled"] is False
    assert changed["url"] == "http://127.0.0.1:10/x"
    assert "secret" not in changed

    assert_error(
        await hooks.patch(url, json={}, headers=hooks_admin), 400, "bad_request"
    )
    assert_error(
        await hooks.patch(url, json={"url": None}, headers=hooks_admin),
        400,
        "bad_request",
    )
    assert_error(
        await hooks.patch(url, json={"url": "ftp://127.0.0.1/"}, headers=hooks_admin),
        400,
        "bad_request",
    )

    assert (await hooks.delete(url, headers=hooks_admin)).status_code == 204
    assert_error(await hooks.get(url, headers=hooks_admin), 404, "not_found")
    assert_error(await hooks.delete(url, headers=hooks_admin), 404, "not_found")


async def test_rotate_with_own_secret(
    hooks: httpx.AsyncClient, hooks_admin: dict[str, str], register: RegisterEndpoint
) -> None:
    endpoint = await register("http://127.0.0.1:9/in")
    url = f"/v2/webhooks/{endpoint['id']}/rotate-secret"

    response = await hooks.post(
        url, json={"secret": "next-receiver-secret-0001"}, headers=hooks_admin
    )
    assert response.status_code == 200, response.text
    assert response.json()["secret"] == "next-receiver-secret-0001"

    same = await hooks.post(
        url, json={"secret": "next-receiver-secret-0001"}, headers=hooks_admin
    )
    assert_error(same, 400, "bad_request")
    assert_error(
        await hooks.post(url, json={"secret": "x"}, headers=hooks_admin),
        400,
        "bad_request",
    )


async def test_disabled_endpoint_gets_nothing_until_enabled(
    hooks: httpx.AsyncClient,
    hooks_admin: dict[str, str],
    receiver: Receiver,
    register: RegisterEndpoint,
) -> None:
    endpoint = await register(receiver.url, ["product.created"])
    url = f"/v2/webhooks/{endpoint['id']}"
    await hooks.patch(url, json={"enabled": False}, headers=hooks_admin)

    test = await hooks.post(f"{url}/test", headers=hooks_admin)
    assert_error(test, 409, "conflict")
    assert_error(
        await hooks.get(f"{url}/deliveries/dlv_missing", headers=hooks_admin),
        404,
        "not_found",
    )
    assert_error(
        await hooks.get(f"{url}/deliveries?status=lost", headers=hooks_admin),
        400,
        "bad_request",
    )

    enabled = await hooks.patch(url, json={"enabled": True}, headers=hooks_admin)
    assert enabled.json()["enabled"] is True
    test = await hooks.post(f"{url}/test", headers=hooks_admin)
    assert test.status_code == 202, test.text
    (request,) = await receiver.wait_for(lambda requests: len(requests) == 1)
    assert request.headers["x-event-type"] == "webhook.test"


async def test_secret_never_logged(tmp_path: Path) -> None:
    from ..utils.server import ServerProcess
    from .conftest import webhook_server_env

    server = ServerProcess(tmp_path, webhook_server_env())
    server.start()
    receiver = Receiver()
    await receiver.start()
    try:
        async with httpx.AsyncClient(base_url=server.base_url) as api:
            admin = bearer(await client_token(api))
            created = await api.post(
                "/v2/webhooks",
                json={
                    "url": receiver.url,
                    "events": ["*"],
                    "secret": "logged-never-0123456789",
                },
                headers=admin,
            )
            webhook_id = created.json()["id"]
            rotated = await api.post(
                f"/v2/webhooks/{webhook_id}/rotate-secret", headers=admin
            )
            await api.post(f"/v2/webhooks/{webhook_id}/test", headers=admin)
            await receiver.wait_for(lambda requests: len(requests) == 1)
    finally:
        await receiver.stop()
        server.stop()

    logs = server.logs()
    assert "logged-never-0123456789" not in logs
    assert rotated.json()["secret"] not in logs
    assert receiver.requests[0].headers["x-signature"] not in logs


async def test_encoded_slash_in_id_is_not_found(
    hooks: httpx.AsyncClient, hooks_admin: dict[str, str], register: RegisterEndpoint
) -> None:
    endpoint = await register("http://127.0.0.1:9/in", ["user.created"])

    response = await hooks.get(
        f"/v2/webhooks/{endpoint['id']}%2Fdeliveries", headers=hooks_admin
    )

    body = assert_error(response, 404, "not_found")
    assert "%2Fdeliveries" in body["message"]
