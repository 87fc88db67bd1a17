"""GraphQL GET answers as HTTP caches expect them: Cache-Control, ETag, 304, a micro-cache.

A storefront polling an order's status by GET gets `public, max-age` answers with a strong
ETag; `If-None-Match` with it is answered 304 with no body; within max-age the same public GET
is answered from the process's micro-cache without running the operation, which the tests see
by changing the row underneath. Admins' answers are `no-store`, a signed-in customer's are
`private`, and neither is ever answered from the micro-cache; errors are never kept.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest

from models import OrderMapping, OrderMappingStatus
from tests.conftest import TEST_JWT_SECRET, make_settings, serving
from tests.graphql_client import make_jwt
from web.cache import GZIP_MINIMUM_BYTES, SWEEP_SECONDS

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    import httpx

ORDER = "order_01JDPOLL000000000000000001"
POLL = "query($id: ID!) { qikinkOrderMapping(id: $id) { status trackingNumber } }"
KEY = {"x-publishable-api-key": "pk_store"}
CUSTOMER = make_jwt(TEST_JWT_SECRET, actor_type="customer", actor_id="cus_1")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def shop(database_url: str) -> AsyncIterator[tuple[httpx.AsyncClient, Clock]]:
    settings = make_settings(database_url, qikink_publishable_keys=["pk_store"])
    async with serving(settings) as http:
        clock = Clock()
        http.app.state.get_cache.clock = clock  # type: ignore[attr-defined]
        await OrderMapping.create(
            medusa_order_id=ORDER, status=OrderMappingStatus.SUBMITTED, customer_id="cus_1"
        )
        yield http, clock


async def poll(
    http: httpx.AsyncClient, headers: dict[str, str] | None = None, query: str = POLL
) -> httpx.Response:
    params = {"query": query, "variables": json.dumps({"id": ORDER})}
    return await http.get("/graphql", params=params, headers=headers or KEY)


def status_of(response: httpx.Response) -> Any:
    return response.json()["data"]["qikinkOrderMapping"]["status"]


async def ship() -> None:
    row = await OrderMapping.get(medusa_order_id=ORDER)
    row.status = OrderMappingStatus.SHIPPED
    await row.save()


async def test_a_storefront_poll_is_public_for_a_few_seconds_with_a_strong_etag(
    shop: tuple[httpx.AsyncClient, Clock],
) -> None:
    http, _ = shop
    answer = await poll(http)
    assert answer.status_code == 200
    assert status_of(answer) == "SUBMITTED"
    assert answer.headers["cache-control"] == "public, max-age=5"
    # Accept-Encoding too: a large answer is gzipped for the clients that take it.
    assert answer.headers["vary"] == (
        "Accept, Authorization, X-Publishable-Api-Key, Accept-Encoding"
    )
    etag = answer.headers["etag"]
    assert etag.startswith('"')  # strong: no W/
    assert etag.endswith('"')


async def test_the_current_etag_is_answered_304_with_no_body(
    shop: tuple[httpx.AsyncClient, Clock],
) -> None:
    http, _ = shop
    etag = (await poll(http)).headers["etag"]
    again = await poll(http, {**KEY, "if-none-match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    assert again.headers["cache-control"] == "public, max-age=5"
    other = await poll(http, {**KEY, "if-none-match": '"not-this-one"'})
    assert other.status_code == 200
    assert other.headers["etag"] == etag


async def test_within_max_age_the_same_public_poll_is_answered_without_running_it(
    shop: tuple[httpx.AsyncClient, Clock],
) -> None:
    http, clock = shop
    cache = http.app.state.get_cache  # type: ignore[attr-defined]
    first = await poll(http)
    await ship()
    clock.now += 4
    kept = await poll(http)
    assert status_of(kept) == "SUBMITTED"  # the row says SHIPPED: the operation did not run
    assert kept.content == first.content
    assert kept.headers["age"] == "4"
    assert cache.hits == 1
    # A new request id each time, cached or not.
    assert kept.headers["x-request-id"] != first.headers["x-request-id"]

    clock.now += 1.5  # past max-age
    fresh = await poll(http)
    assert status_of(fresh) == "SHIPPED"
    assert fresh.headers["etag"] != first.headers["etag"]
    # The old tag no longer matches: the new answer, in full.
    changed = await poll(http, {**KEY, "if-none-match": first.headers["etag"]})
    assert changed.status_code == 200
    assert status_of(changed) == "SHIPPED"


async def test_an_answer_past_its_max_age_is_dropped_by_the_next_request_of_any_kind(
    shop: tuple[httpx.AsyncClient, Clock],
) -> None:
    http, clock = shop
    cache = http.app.state.get_cache  # type: ignore[attr-defined]
    await poll(http)
    other = await poll(http, query="query($id: ID!) { qikinkOrderMapping(id: $id) { status } }")
    assert other.headers["cache-control"] == "public, max-age=5"
    assert len(cache.entries) == 2
    clock.now += 5 + SWEEP_SECONDS
    # Neither is asked for again: the next request, whatever it is, drops both.
    await http.post("/graphql", json={"query": "{ __typename }"}, headers=KEY)
    assert cache.entries == {}
    assert cache.bytes == 0


async def test_the_cache_keeps_its_bodies_to_a_size_the_least_recent_going_first(
    shop: tuple[httpx.AsyncClient, Clock],
) -> None:
    http, _ = shop
    cache = http.app.state.get_cache  # type: ignore[attr-defined]
    first = await poll(http)
    cache.max_bytes = len(first.content) + 10  # room for one answer of this size
    second = await poll(http, query="query($id: ID!) { qikinkOrderMapping(id: $id) { status } }")
    assert [answer.body for answer in cache.entries.values()] == [second.content]
    assert cache.bytes == len(second.content)
    await ship()
    # The first is no longer kept: asked again, it runs and sees the new status.
    assert status_of(await poll(http)) == "SHIPPED"


async def test_an_admins_answer_is_never_stored(shop: tuple[httpx.AsyncClient, Clock]) -> None:
    http, _ = shop
    admin = {"authorization": f"Bearer {make_jwt(TEST_JWT_SECRET)}"}
    first = await poll(http, admin)
    assert first.headers["cache-control"] == "no-store"
    assert "etag" not in first.headers
    await ship()
    assert status_of(await poll(http, admin)) == "SHIPPED"


async def test_a_signed_in_customers_answer_is_private_and_not_kept_here(
    shop: tuple[httpx.AsyncClient, Clock],
) -> None:
    http, _ = shop
    customer = {
        **KEY,
        "authorization": f"Bearer {CUSTOMER}",
    }
    first = await poll(http, customer)
    assert first.headers["cache-control"] == "private, max-age=5"
    assert "etag" in first.headers
    await ship()
    assert status_of(await poll(http, customer)) == "SHIPPED"
    assert http.app.state.get_cache.hits == 0  # type: ignore[attr-defined]


async def test_errors_are_never_kept(shop: tuple[httpx.AsyncClient, Clock]) -> None:
    http, _ = shop
    refused = await poll(http, query="{ qikinkOrderMappings { count } }")
    assert refused.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert refused.headers["cache-control"] == "no-store"
    assert "etag" not in refused.headers
    wrong_key = await poll(http, {"x-publishable-api-key": "pk_guess"})
    assert wrong_key.headers["cache-control"] == "no-store"


async def test_posts_carry_no_validators(shop: tuple[httpx.AsyncClient, Clock]) -> None:
    http, _ = shop
    answer = await http.post(
        "/graphql", json={"query": POLL, "variables": {"id": ORDER}}, headers=KEY
    )
    assert answer.status_code == 200
    assert "etag" not in answer.headers
    assert "cache-control" not in answer.headers


async def test_no_caching_when_switched_off(database_url: str) -> None:
    settings = make_settings(database_url, storefront_cache_seconds=0)
    async with serving(settings) as http:
        await OrderMapping.create(medusa_order_id=ORDER, status=OrderMappingStatus.SUBMITTED)
        first = await poll(http, {})
        assert first.headers["cache-control"] == "no-store"
        await ship()
        assert status_of(await poll(http, {})) == "SHIPPED"


# Every type's name: a few KiB of answer, well over the size gzip starts at.
LARGE = "{ __schema { types { name description } } }"
GZIP = {**KEY, "accept-encoding": "gzip"}
IDENTITY = {**KEY, "accept-encoding": "identity"}


async def test_a_large_answer_is_gzipped_under_a_strong_etag_of_its_own(
    shop: tuple[httpx.AsyncClient, Clock],
) -> None:
    http, _ = shop
    plain = await http.get("/graphql", params={"query": LARGE}, headers=IDENTITY)
    packed = await http.get("/graphql", params={"query": LARGE}, headers=GZIP)
    assert len(plain.content) > GZIP_MINIMUM_BYTES
    assert "content-encoding" not in plain.headers
    assert packed.headers["content-encoding"] == "gzip"
    assert int(packed.headers["content-length"]) < len(plain.content) / 2
    assert packed.content == plain.content  # httpx decoded it
    for response in (plain, packed):
        assert response.headers["cache-control"] == "public, max-age=5"
        assert response.headers["vary"].endswith(", Accept-Encoding")
    # Two representations, two strong tags: a cache never mixes their bytes up.
    assert packed.headers["etag"] == plain.headers["etag"][:-1] + '-gzip"'
    assert not packed.headers["etag"].startswith("W/")


async def test_each_encodings_tag_is_answered_304_and_the_gzip_tag_only_to_gzip_clients(
    shop: tuple[httpx.AsyncClient, Clock],
) -> None:
    http, _ = shop
    params = {"query": LARGE}
    plain_tag = (await http.get("/graphql", params=params, headers=IDENTITY)).headers["etag"]
    gzip_tag = (await http.get("/graphql", params=params, headers=GZIP)).headers["etag"]
    for headers, tag in ((GZIP, gzip_tag), (IDENTITY, plain_tag)):
        again = await http.get("/graphql", params=params, headers={**headers, "if-none-match": tag})
        assert again.status_code == 304
        assert again.content == b""
        assert again.headers["etag"] == tag
        assert "Accept-Encoding" in again.headers["vary"]
    # A client that no longer takes gzip cannot use the gzip bytes it holds: the full answer.
    changed = await http.get(
        "/graphql", params=params, headers={**IDENTITY, "if-none-match": gzip_tag}
    )
    assert changed.status_code == 200
    assert changed.headers["etag"] == plain_tag


async def test_small_answers_go_as_they_are_and_post_answers_are_gzipped_too(
    shop: tuple[httpx.AsyncClient, Clock],
) -> None:
    http, _ = shop
    small = await poll(http, GZIP)
    assert "content-encoding" not in small.headers
    assert "Accept-Encoding" in small.headers["vary"]
    posted = await http.post("/graphql", json={"query": LARGE}, headers=GZIP)
    assert posted.headers["content-encoding"] == "gzip"
    assert json.loads(posted.content)["data"]["__schema"]["types"]
    plain = await http.post("/graphql", json={"query": LARGE}, headers=IDENTITY)
    assert "content-encoding" not in plain.headers
    assert len(plain.content) > int(posted.headers["content-length"])
