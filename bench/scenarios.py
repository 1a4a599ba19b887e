"""The requests of the throughput benchmark, and the checks of their responses.

Every scenario is requested once with httpx before wrk loads it, and the
response must be a 200 with the expected body, so a run never measures fast
error responses by mistake.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from catalog import Catalog
from wrk_runner import WrkResult

PAGE_LIMIT = 20
LIST_PATH = f"/v2/products?limit={PAGE_LIMIT}"
FILTER_CATEGORY = "electronics"
FILTER_MIN_PRICE = 10
FILTER_MAX_PRICE = 500
FILTERED_PATH = (
    f"/v2/products?category={FILTER_CATEGORY}&min_price={FILTER_MIN_PRICE}"
    f"&max_price={FILTER_MAX_PRICE}&limit={PAGE_LIMIT}"
)
RANDOM_PAGES = 100
"""Pages the uncached scenarios spread over, so requests rarely repeat."""
TOKEN_PATH = "/v2/auth/token"  # noqa: S105 - a URL path, not a password
CHECK_TIMEOUT_SECONDS = 30.0
TOKEN_SCENARIO = f"POST {TOKEN_PATH}, client credentials"
BARE_POST_SCENARIO = "bare ASGI app, POST reading a token request"


class ScenarioError(RuntimeError):
    """A server returned an unexpected response to a scenario's request."""


def _check_first_page(body: Any, products: int) -> None:
    expected_items = min(PAGE_LIMIT, products)
    if len(body["data"]) != expected_items:
        raise ScenarioError(
            f"expected {expected_items} products, got {len(body['data'])}"
        )
    if body["total"] != products:
        raise ScenarioError(
            f"expected a total of {products} products, got {body['total']}. "
            "Build the catalog again with --rebuild."
        )


def _check_filtered_page(body: Any, products: int) -> None:
    if not body["data"]:
        raise ScenarioError(f"no product matched {FILTERED_PATH}")
    for product in body["data"]:
        in_range = FILTER_MIN_PRICE <= product["price"] <= FILTER_MAX_PRICE
        if product["category"] != FILTER_CATEGORY or not in_range:
            raise ScenarioError(f"{FILTERED_PATH} returned {product}")


def _check_token(body: Any, products: int) -> None:
    if not isinstance(body.get("access_token"), str):
        raise ScenarioError(f"expected an access_token, got keys {sorted(body)}")


@dataclass(frozen=True)
class Scenario:
    name: str
    server: str
    """The server that receives the request: "bare", "api", "api-logged"
    (access log on) or "api-uncached" (list cache off)."""
    path: str
    check: Callable[[Any, int], None]
    """Raises `ScenarioError` unless a response body fits a catalog of this size."""
    authenticated: bool = False
    posts_credentials: bool = False
    random_pages: int | None = None
    """Ask for a random page from 1 to this number on every request."""


SCENARIOS = [
    Scenario("bare ASGI app", "bare", "/", _check_first_page),
    Scenario(
        f"GET {LIST_PATH}", "api", LIST_PATH, _check_first_page, authenticated=True
    ),
    Scenario(
        f"GET {FILTERED_PATH}",
        "api",
        FILTERED_PATH,
        _check_filtered_page,
        authenticated=True,
    ),
    Scenario(
        TOKEN_SCENARIO,
        "api",
        TOKEN_PATH,
        _check_token,
        posts_credentials=True,
    ),
    Scenario(
        BARE_POST_SCENARIO,
        "bare",
        TOKEN_PATH,
        _check_token,
        posts_credentials=True,
    ),
    Scenario(
        f"GET {LIST_PATH}, access log on",
        "api-logged",
        LIST_PATH,
        _check_first_page,
        authenticated=True,
    ),
    Scenario(
        f"GET {LIST_PATH}, list cache off",
        "api-uncached",
        LIST_PATH,
        _check_first_page,
        authenticated=True,
    ),
    Scenario(
        f"GET {LIST_PATH}&page=1..{RANDOM_PAGES}, list cache off",
        "api-uncached",
        LIST_PATH,
        _check_first_page,
        authenticated=True,
        random_pages=RANDOM_PAGES,
    ),
    Scenario(
        f"GET {FILTERED_PATH}, list cache off",
        "api-uncached",
        FILTERED_PATH,
        _check_filtered_page,
        authenticated=True,
    ),
    Scenario(
        f"GET {FILTERED_PATH}&page=1..{RANDOM_PAGES}, list cache off",
        "api-uncached",
        FILTERED_PATH,
        _check_filtered_page,
        authenticated=True,
        random_pages=RANDOM_PAGES,
    ),
]


@dataclass(frozen=True)
class Request:
    """The request wrk repeats for one scenario."""

    url: str
    headers: dict[str, str]
    json_body: str | None
    random_pages: int | None = None


def credentials_body(catalog: Catalog) -> str:
    return json.dumps(
        {"client_id": catalog.client_id, "client_secret": catalog.client_secret}
    )


def fetch_token(api_url: str, catalog: Catalog) -> str:
    """Get an access token for the catalog's admin client."""
    response = httpx.post(
        api_url + TOKEN_PATH,
        content=credentials_body(catalog),
        headers={"Content-Type": "application/json"},
        timeout=CHECK_TIMEOUT_SECONDS,
    )
    if response.status_code != 200:
        raise ScenarioError(
            f"POST {TOKEN_PATH} returned {response.status_code}: {response.text}"
        )
    token: str = response.json()["access_token"]
    return token


def first_page(api_url: str, token: str) -> bytes:
    """Return the body of the API's first list page, for the bare app to send."""
    response = httpx.get(
        api_url + LIST_PATH,
        headers={"Authorization": f"Bearer {token}"},
        timeout=CHECK_TIMEOUT_SECONDS,
    )
    if response.status_code != 200:
        raise ScenarioError(
            f"GET {LIST_PATH} returned {response.status_code}: {response.text}"
        )
    return response.content


def build_request(
    scenario: Scenario, urls: dict[str, str], token: str, catalog: Catalog
) -> Request:
    """Build the request wrk repeats, from the servers' URLs and credentials."""
    headers = {"Authorization": f"Bearer {token}"} if scenario.authenticated else {}
    json_body = credentials_body(catalog) if scenario.posts_credentials else None
    return Request(
        urls[scenario.server] + scenario.path,
        headers,
        json_body,
        scenario.random_pages,
    )


def check_scenario(scenario: Scenario, request: Request, products: int) -> Any:
    """Send the scenario's request once and return its checked JSON body."""
    response = httpx.request(
        "POST" if request.json_body is not None else "GET",
        request.url,
        headers={**request.headers, "Content-Type": "application/json"},
        content=request.json_body,
        timeout=CHECK_TIMEOUT_SECONDS,
    )
    if response.status_code != 200:
        raise ScenarioError(
            f"{scenario.name}: expected status 200, got {response.status_code}: "
            f"{response.text[:500]}"
        )
    body = response.json()
    try:
        scenario.check(body, products)
    except ScenarioError as exc:
        raise ScenarioError(f"{scenario.name}: {exc}") from exc
    return body


@dataclass
class ScenarioRuns:
    """The wrk results of one scenario, one per round."""

    scenario: Scenario
    checked_body: Any
    """The JSON body of the checked request sent before the runs."""
    results: list[WrkResult] = field(default_factory=list)

    @property
    def requests_per_second(self) -> float:
        return statistics.median(r.requests_per_second for r in self.results)

    @property
    def p50_ms(self) -> float:
        return statistics.median(r.p50_us for r in self.results) / 1000

    @property
    def p99_ms(self) -> float:
        return statistics.median(r.p99_us for r in self.results) / 1000
