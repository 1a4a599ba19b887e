"""`techcorp-server demo-data`: a generated catalog and demo users."""

from __future__ import annotations

from ..utils.api import bearer, password_token
from .conftest import CommandLine

DEMO_PASSWORD = "SecurePassword123!"


def test_demo_data_loads_products_and_users(cli: CommandLine) -> None:
    result = cli.run("demo-data", "--products", "1234", "--users", "4", "--seed", "3")

    assert result.returncode == 0, result.stderr
    assert "Loaded 1,234 products." in result.stdout
    assert cli.query("SELECT count(*) FROM products") == [(1234,)]
    users = dict(cli.query("SELECT email, role FROM users"))
    assert len(users) == 4
    assert users["admin@example.com"] == "admin"
    assert users["member@example.com"] == "member"
    [(categories,)] = cli.query("SELECT count(DISTINCT category) FROM products")
    assert isinstance(categories, int)
    assert categories >= 15


def test_demo_data_if_empty_keeps_existing(cli: CommandLine) -> None:
    first = cli.run("demo-data", "--products", "200", "--users", "2")
    assert first.returncode == 0, first.stderr

    second = cli.run("demo-data", "--products", "200", "--users", "2", "--if-empty")

    assert second.returncode == 0, second.stderr
    assert "nothing loaded" in second.stdout
    assert cli.query("SELECT count(*) FROM products") == [(200,)]


def test_demo_data_twice_adds_products_keeps_users(cli: CommandLine) -> None:
    for _ in range(2):
        result = cli.run("demo-data", "--products", "100", "--users", "2")
        assert result.returncode == 0, result.stderr

    assert cli.query("SELECT count(*) FROM products") == [(200,)]
    assert cli.query("SELECT count(*) FROM users") == [(2,)]
    assert "(0 new)" in result.stdout


def test_demo_data_rejects_negative_count(cli: CommandLine) -> None:
    result = cli.run("demo-data", "--products", "-1")

    assert result.returncode == 2
    assert "--products" in result.stderr


async def test_demo_users_can_log_in(cli: CommandLine) -> None:
    result = cli.run("demo-data", "--products", "50", "--users", "2")
    assert result.returncode == 0, result.stderr

    async with cli.api() as api:
        admin = await password_token(api, "admin@example.com", DEMO_PASSWORD)
        member = await password_token(api, "member@example.com", DEMO_PASSWORD)

        products = await api.get("/v2/products?limit=5", headers=bearer(member))
        assert products.status_code == 200, products.text
        assert products.json()["total"] == 50

        users = await api.get("/v2/users", headers=bearer(member))
        member_id = next(
            user["id"]
            for user in users.json()["data"]
            if user["email"] == "member@example.com"
        )
        forbidden = await api.delete(f"/v2/users/{member_id}", headers=bearer(member))
        assert forbidden.status_code == 403
        allowed = await api.delete(f"/v2/users/{member_id}", headers=bearer(admin))
        assert allowed.status_code == 204
