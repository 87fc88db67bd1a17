"""Install a folder's npm packages from its lock file, once: the one npm installer.

Used by `make` for GraphiQL's files (`web/static/graphiql/`) and by the tests for the
GraphQL-over-HTTP audit and the Medusa backend. Packages come from the npm registry, pinned by
the committed `package-lock.json`; nothing under `node_modules/` is committed.

    .venv/bin/python scripts/npm_ci.py web/static/graphiql
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

__all__ = ["NpmError", "is_installed", "npm_ci"]

TIMEOUT_SECONDS = 900.0


class NpmError(RuntimeError):
    """npm is missing or `npm ci` failed; the message says which and why it was needed."""


def is_installed(project: Path) -> bool:
    """True when `node_modules` is complete and not older than the lock file.

    npm writes `node_modules/.package-lock.json` last, after a complete install.
    """
    marker = project / "node_modules" / ".package-lock.json"
    lock = project / "package-lock.json"
    return marker.exists() and marker.stat().st_mtime >= lock.stat().st_mtime


def npm_ci(project: Path, *, needed_for: str) -> float:
    """`npm ci` in `project` unless its packages are in place; the seconds it took."""
    if is_installed(project):
        return 0.0
    npm = shutil.which("npm")
    if npm is None:
        raise NpmError(f"npm is not on PATH: {needed_for} needs Node.js 20+ and npm")
    started = time.monotonic()
    done = subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund", "--prefer-offline", "--loglevel=error"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS,
        check=False,
    )
    if done.returncode != 0:
        raise NpmError(
            f"npm ci in {project} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
        )
    return time.monotonic() - started


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: npm_ci.py FOLDER", file=sys.stderr)
        return 2
    project = Path(argv[0]).resolve()
    try:
        seconds = npm_ci(project, needed_for=f"{project.name}/")
    except NpmError as exc:
        print(exc, file=sys.stderr)
        return 1
    if seconds:
        print(f"npm packages of {project.name}/ installed in {seconds:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
