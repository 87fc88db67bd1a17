"""GraphiQL from the service itself: Strawberry's page, with its scripts and styles served here.

Strawberry's GraphiQL page loads React, GraphiQL, its explorer plugin and js-cookie from a CDN:
on a network with no way out, or under a Content-Security-Policy that allows only the service,
it stays on "Loading...". The same files at the same versions (`web/static/graphiql/package.json`,
installed from the npm registry by `make`) are served under `/graphiql/` and the page points at
them. The page's integrity hashes still hold: the browser checks that each file is the one the
page was written for.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import TYPE_CHECKING

from starlette.responses import FileResponse, HTMLResponse, PlainTextResponse, Response

if TYPE_CHECKING:
    from starlette.requests import Request

__all__ = ["ASSET_ROUTE", "GRAPHIQL_DIR", "GraphiQLPage"]

GRAPHIQL_DIR = Path(__file__).resolve().parent / "static" / "graphiql"
ASSET_ROUTE = "/graphiql/{asset:path}"
# Versioned paths: a file at one of them never changes.
_IMMUTABLE = "public, max-age=31536000, immutable"
_CDN_FILE = re.compile(
    r"https://unpkg\.com/(?P<package>(?:@[\w.-]+/)?[\w.-]+)@(?P<version>[\w.-]+)/(?P<file>[\w./-]+)"
)
# The page's own script and style, inline in Strawberry's page, are served as files too, so
# that the page runs under a Content-Security-Policy allowing scripts from the service only.
_INLINE = re.compile(r"<(?P<tag>script|style)>(?P<body>.*?)</(?P=tag)>", re.DOTALL)
PAGE_CSP = (
    "default-src 'self'; img-src 'self' data:; font-src 'self' data:; "
    "style-src 'self' 'unsafe-inline'; "
    "frame-ancestors 'none'"
)
_NOT_INSTALLED = """<!doctype html>
<html><head><title>GraphiQL is not installed</title></head>
<body style="font-family: sans-serif; max-width: 40em; margin: 3em auto">
<h1>GraphiQL's files are not installed here</h1>
<p>This service serves GraphiQL's scripts itself. Install them with npm (Node.js 20+):
<code>make run</code> does, or
<code>.venv/bin/python scripts/npm_ci.py web/static/graphiql</code>.</p>
<p>Missing: {missing}.</p>
<p>The API answers as usual: <code>POST /graphql</code>.</p>
</body></html>
"""


def _installed_version(package_dir: Path) -> str | None:
    try:
        return str(json.loads((package_dir / "package.json").read_text())["version"])
    except (OSError, ValueError, KeyError):
        return None


class GraphiQLPage:
    """Strawberry's GraphiQL page pointed at the files this service serves, and those files."""

    def __init__(self, html: str, node_modules: Path = GRAPHIQL_DIR / "node_modules") -> None:
        self.files: dict[str, Path] = {}
        self.own: dict[str, tuple[bytes, str]] = {}
        missing: set[str] = set()

        def local(match: re.Match[str]) -> str:
            package, version = match["package"], match["version"]
            asset = f"{package}@{version}/{match['file']}"
            path = node_modules / package / match["file"]
            if _installed_version(node_modules / package) != version or not path.is_file():
                missing.add(f"{package}@{version}")
            self.files[asset] = path
            return f"/graphiql/{asset}"

        def own_file(match: re.Match[str]) -> str:
            body = match["body"].encode()
            kind = "js" if match["tag"] == "script" else "css"
            asset = f"page-{hashlib.sha256(body).hexdigest()[:16]}.{kind}"
            media = "text/javascript" if kind == "js" else "text/css"
            self.own[asset] = (body, f"{media}; charset=utf-8")
            if kind == "js":
                return f'<script src="/graphiql/{asset}"></script>'
            return f'<link rel="stylesheet" href="/graphiql/{asset}" />'

        self.html = _INLINE.sub(own_file, _CDN_FILE.sub(local, html))
        self.missing = sorted(missing)

    def page(self) -> Response:
        """GraphiQL, or what to install when its files are missing."""
        if self.missing:
            return HTMLResponse(_NOT_INSTALLED.format(missing=", ".join(self.missing)), 503)
        return HTMLResponse(self.html, headers={"content-security-policy": PAGE_CSP})

    async def asset(self, request: Request) -> Response:
        """One of the files the page loads; nothing else under node_modules is reachable."""
        asset = request.path_params["asset"]
        if asset in self.own:
            body, media_type = self.own[asset]
            return Response(body, media_type=media_type, headers={"cache-control": _IMMUTABLE})
        path = self.files.get(asset)
        if path is None or not path.is_file():
            return PlainTextResponse("Not Found", status_code=404)
        return FileResponse(path, headers={"cache-control": _IMMUTABLE})
