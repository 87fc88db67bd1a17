"""GraphiQL works with no way out of the service: its page, scripts and styles all come from here.

The HTTP tests read the page and its files; the browser test runs GraphiQL in Debian's Chromium
against a live server, refuses every request that leaves the service, and runs a query.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest

from tests.admin_browser import CHROMIUM_ARGS, ensure_chromium, unavailable
from tests.conftest import make_settings, serving
from tests.live_server import LiveServer
from web.graphiql import GraphiQLPage

try:
    from playwright.sync_api import expect, sync_playwright
except ImportError:  # pragma: no cover - the dev extras install it
    sync_playwright = None  # type: ignore[assignment]

if TYPE_CHECKING:
    from pathlib import Path

    import httpx

# The page and its files are the same whichever database the service uses.
pytestmark = pytest.mark.any_db

HTML = {"accept": "text/html"}
# Every address a page element loads from: scripts, styles, icons.
_LOADED = re.compile(r'(?:src|href)="([^"]+)"')


def _loaded(html: str) -> list[str]:
    return [url for url in _LOADED.findall(html) if not url.startswith("data:")]


@pytest.fixture(autouse=True)
def _installed() -> None:
    if GraphiQLPage("https://unpkg.com/react@18.2.0/umd/react.production.min.js").missing:
        unavailable("GraphiQL's npm packages are not installed (`make graphiql`)")


async def test_the_page_loads_every_file_from_the_service(client: httpx.AsyncClient) -> None:
    page = await client.get("/graphql", headers=HTML)

    assert page.status_code == 200
    loaded = _loaded(page.text)
    # React, ReactDOM, js-cookie, GraphiQL and its explorer, their 2 styles; the page's own
    # script and style.
    assert len(loaded) == 9
    for url in loaded:
        assert url.startswith("/graphiql/"), url
        asset = await client.get(url)
        assert asset.status_code == 200, url
        assert asset.headers["content-type"].startswith(("text/javascript", "text/css")), url
        assert "immutable" in asset.headers["cache-control"]


async def test_nothing_else_of_the_packages_is_served(client: httpx.AsyncClient) -> None:
    for path in (
        "/graphiql/react@18.2.0/package.json",
        "/graphiql/react@17.0.0/umd/react.production.min.js",
        "/graphiql/react@18.2.0/../../../pyproject.toml",
        "/graphiql/react@18.2.0/umd/../../../../pyproject.toml",
    ):
        assert (await client.get(path)).status_code == 404, path


async def test_without_graphiql_its_files_are_not_served(database_url: str) -> None:
    settings = make_settings(database_url, graphiql_enabled=False)
    async with serving(settings) as client:
        page = await client.get("/graphql", headers=HTML)
        asset = await client.get("/graphiql/react@18.2.0/umd/react.production.min.js")

    assert "GraphiQL" not in page.text
    assert asset.status_code == 404


def test_missing_files_are_named_instead_of_loading_forever(tmp_path: Path) -> None:
    empty = tmp_path / "node_modules"
    empty.mkdir()
    page = GraphiQLPage(
        '<script src="https://unpkg.com/graphiql@3.8.3/graphiql.min.js"></script>', empty
    )

    response = page.page()
    assert response.status_code == 503
    assert b"graphiql@3.8.3" in response.body
    assert b"scripts/npm_ci.py web/static/graphiql" in response.body


@pytest.mark.e2e
def test_graphiql_runs_a_query_with_no_request_leaving_the_service_under_a_strict_csp(
    tmp_path: Path,
) -> None:
    if sync_playwright is None:
        unavailable("the playwright package is not installed (pip install -e '.[dev]')")
    executable = ensure_chromium()
    with LiveServer(tmp_path) as server, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            outside: list[str] = []
            inside: list[str] = []

            def only_the_service(route, request) -> None:  # type: ignore[no-untyped-def]
                if request.url.startswith(server.url + "/") or request.url.startswith("data:"):
                    inside.append(request.url)
                    route.continue_()
                else:
                    outside.append(request.url)
                    route.abort()

            page.route("**/*", only_the_service)
            refused_by_csp: list[str] = []
            page.on(
                "console",
                lambda message: (
                    refused_by_csp.append(message.text)
                    if "Content Security Policy" in message.text
                    else None
                ),
            )
            page.goto(f"{server.url}/graphql?q=%7B%20__typename%20%7D")
            page.locator(".graphiql-execute-button").click(timeout=15_000)
            expect(page.locator(".graphiql-response")).to_contain_text(
                '"__typename": "Query"', timeout=15_000
            )
        finally:
            browser.close()

    assert outside == []
    # The page runs under its own strict policy: no inline script, nothing from elsewhere.
    assert refused_by_csp == []
    assert any(url.endswith("graphiql.min.js") for url in inside)
    # The query itself went to the endpoint (the page's own load is a GET with `?q=`).
    assert server.graphql_url in inside


async def test_the_page_has_no_inline_script_and_says_so_in_its_policy(
    client: httpx.AsyncClient,
) -> None:
    page = await client.get("/graphql", headers=HTML)

    # Scripts from the service alone, none inline (only styles may be: GraphiQL sets them).
    assert page.headers["content-security-policy"] == (
        "default-src 'self'; img-src 'self' data:; font-src 'self' data:; "
        "style-src 'self' 'unsafe-inline'; frame-ancestors 'none'"
    )
    scripts = re.findall(r"<script\b[^>]*>", page.text)
    assert scripts
    assert all("src=" in script for script in scripts), scripts
    own = re.search(r'<script src="(/graphiql/page-[0-9a-f]+\.js)"', page.text)
    assert own is not None
    script = await client.get(own.group(1))
    assert "GraphiQL.createFetcher" in script.text
