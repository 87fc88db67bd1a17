"""Storefronts on another origin: what CORS lets their browsers send and read.

With `CORS_ORIGINS` set, a page of a listed origin may send its own `x-request-id` and Apollo
Client's `apollographql-client-name`/`-version`, and read `X-Request-Id` and `Retry-After` of
the answer; a page of any other origin reads nothing. The last tests are a real Chromium on a
page served from a second loopback port, calling the real server on its own.
"""

from __future__ import annotations

import contextlib
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

import pytest

from tests.admin_browser import CHROMIUM_ARGS, ensure_chromium, unavailable
from tests.conftest import make_settings, serving
from tests.live_server import LiveServer
from web.guards import MAX_BODY_BYTES

try:
    from playwright.sync_api import sync_playwright
except ImportError:  # pragma: no cover - the dev extra installs it
    sync_playwright = None  # type: ignore[assignment]

if TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = pytest.mark.e2e


STOREFRONT = "http://shop.example"
CLIENT_HEADERS = {
    "x-request-id": "storefront-req-1",
    "apollographql-client-name": "storefront",
    "apollographql-client-version": "1.2.3",
}


def listed(value: str) -> set[str]:
    return {part.strip().lower() for part in value.split(",")}


async def test_a_listed_origin_may_send_client_headers_and_read_the_request_id(
    database_url: str,
) -> None:
    async with serving(make_settings(database_url, cors_origins=[STOREFRONT])) as http:
        preflight = await http.options(
            "/graphql",
            headers={
                "origin": STOREFRONT,
                "access-control-request-method": "POST",
                "access-control-request-headers": ",".join(["content-type", *CLIENT_HEADERS]),
            },
        )
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == STOREFRONT
        allowed = listed(preflight.headers["access-control-allow-headers"])
        assert {"content-type", *CLIENT_HEADERS} <= allowed

        answer = await http.post(
            "/graphql",
            json={"query": "{ __typename }"},
            headers={"origin": STOREFRONT, **CLIENT_HEADERS},
        )
        assert answer.json() == {"data": {"__typename": "Query"}}
        assert answer.headers["access-control-allow-origin"] == STOREFRONT
        assert answer.headers["x-request-id"] == "storefront-req-1"
        exposed = listed(answer.headers["access-control-expose-headers"])
        assert {"x-request-id", "retry-after"} <= exposed

        # A refusal of the guards in front of every route is readable by the page too.
        too_big = await http.post(
            "/graphql",
            content=b'{"query": "' + b" " * MAX_BODY_BYTES + b'"}',
            headers={"origin": STOREFRONT, "content-type": "application/json"},
        )
        assert too_big.status_code == 413
        assert too_big.headers["access-control-allow-origin"] == STOREFRONT
        assert too_big.json()["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"


async def test_without_cors_origins_no_browser_origin_is_allowed(database_url: str) -> None:
    async with serving(make_settings(database_url)) as http:
        answer = await http.post(
            "/graphql", json={"query": "{ __typename }"}, headers={"origin": STOREFRONT}
        )
        assert answer.json() == {"data": {"__typename": "Query"}}
        assert not [name for name in answer.headers if name.startswith("access-control-")]


# The storefront's page: `callService()` posts an operation to the service as a storefront
# would, with its client headers, and reports what the page could read of the answer.
PAGE = """<!doctype html>
<html><head><title>storefront</title></head><body>
<script>
async function callService(url) {
  try {
    const response = await fetch(url, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "x-request-id": "storefront-req-1",
        "apollographql-client-name": "storefront",
        "apollographql-client-version": "1.2.3",
      },
      body: JSON.stringify({ query: "{ __typename }" }),
    });
    const body = await response.json();
    return { requestId: response.headers.get("x-request-id"), data: body.data };
  } catch (error) {
    return { error: String(error) };
  }
}
</script>
</body></html>
"""


class _Page(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = PAGE.encode()
        self.send_response(200)
        self.send_header("content-type", "text/html; charset=utf-8")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the test's output is no place for an access log


@contextlib.contextmanager
def page_origin() -> Iterator[str]:
    """The storefront's page served from its own loopback port: its origin."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture(scope="module")
def browser_results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """What a page of the listed origin and one of another origin could read of an answer."""
    if sync_playwright is None:
        unavailable("the playwright package is not installed (pip install -e '.[dev]')")
    executable = ensure_chromium()
    results: dict[str, dict[str, Any]] = {}
    with page_origin() as shop, page_origin() as stranger:
        workdir = tmp_path_factory.mktemp("cors_browser")
        with (
            LiveServer(workdir, {"CORS_ORIGINS": shop}) as server,
            sync_playwright() as playwright,
        ):
            browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
            try:
                for name, origin in (("listed", shop), ("other", stranger)):
                    page = browser.new_page()
                    page.goto(f"{origin}/")
                    results[name] = page.evaluate("url => callService(url)", server.graphql_url)
                    page.close()
            finally:
                browser.close()
    return results


def test_a_page_of_a_listed_origin_reads_the_data_and_its_request_id(
    browser_results: dict[str, dict[str, Any]],
) -> None:
    assert browser_results["listed"] == {
        "requestId": "storefront-req-1",
        "data": {"__typename": "Query"},
    }


def test_a_page_of_another_origin_reads_nothing(
    browser_results: dict[str, dict[str, Any]],
) -> None:
    # The browser refuses the answer whole: fetch fails, nothing of it reaches the script.
    assert browser_results["other"] == {"error": "TypeError: Failed to fetch"}
