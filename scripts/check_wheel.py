"""The service as a wheel installs it: built, installed (not editable) into a fresh virtualenv,
started, and asked for what it serves. `.ci/run` runs this after `make test`.

    .venv/bin/python scripts/check_wheel.py

It builds the wheel from this checkout (`pip wheel --no-deps`; GraphiQL's files go in when
`make` has installed them), installs the locked dependencies and then the wheel into a new
virtualenv, and runs that virtualenv's `qikink-graphql serve` from an empty folder, so nothing
of the checkout is on its path. It checks `/ready`, a query over `POST /graphql`, the admin's
page at `/admin/`, and GraphiQL's page and one of its files; it prints the wheel's top-level
names and exits non-zero naming the first thing that failed.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import venv
import zipfile
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.live_server import LiveServer  # noqa: E402

LOCK = ROOT / "requirements.lock"


def run(*command: str | Path, cwd: Path = ROOT) -> None:
    done = subprocess.run(
        [str(part) for part in command], cwd=cwd, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(map(str, command))} failed:\n{done.stdout}\n{done.stderr}")


def top_level_names(wheel: Path) -> list[str]:
    with zipfile.ZipFile(wheel) as archive:
        names = {name.split("/")[0] for name in archive.namelist()}
    return sorted(name for name in names if not name.endswith((".dist-info", ".data")))


def check(server: LiveServer) -> None:
    answer = httpx.post(server.graphql_url, json={"query": "{ __typename }"}, timeout=10)
    if answer.json() != {"data": {"__typename": "Query"}}:
        raise SystemExit(f"POST /graphql answered {answer.status_code}: {answer.text[:300]}")
    admin = httpx.get(f"{server.url}/admin/", timeout=10)
    if admin.status_code != 200 or "<html" not in admin.text.lower():
        raise SystemExit(f"/admin/ answered {admin.status_code}: {admin.text[:300]}")
    page = httpx.get(server.graphql_url, headers={"accept": "text/html"}, timeout=10)
    if page.status_code != 200 or "not installed" in page.text:
        raise SystemExit(f"GraphiQL's page answered {page.status_code}: {page.text[:300]}")
    asset = httpx.get(f"{server.url}/graphiql/react@18.2.0/umd/react.production.min.js", timeout=10)
    if asset.status_code != 200:
        raise SystemExit(f"GraphiQL's React answered {asset.status_code}")


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="qkg-wheel-") as scratch:
        work = Path(scratch)
        run(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", work, ROOT)
        [wheel] = work.glob("qikink_graphql-*.whl")
        print(f"{wheel.name}: {wheel.stat().st_size / 2**20:.1f} MiB, top-level names:")
        print("  " + " ".join(top_level_names(wheel)))
        env_dir = work / "venv"
        venv.create(env_dir, with_pip=True)
        pip = env_dir / "bin" / "pip"
        run(pip, "install", "--quiet", "--require-hashes", "-r", LOCK)
        run(pip, "install", "--quiet", "--no-deps", wheel)
        served = work / "served"
        served.mkdir()
        executable = str(env_dir / "bin" / "qikink-graphql")
        with LiveServer(served, executable=executable) as server:
            check(server)
        print("installed from the wheel, it serves /ready, /graphql, /admin/ and GraphiQL")


if __name__ == "__main__":
    main()
