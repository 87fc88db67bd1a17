"""Everything about HTTP: the Starlette app and its one pipeline, the guards and body limits,
GET caching, GraphiQL's page and files, the admin's static pages, and how `serve` runs uvicorn.
"""

from __future__ import annotations

__all__: list[str] = []
