"""GraphQL over HTTP, as the spec's reference audit sees it: every MUST and every SHOULD passes.

The audit is `auditServer` of the `graphql-http` npm package (the GraphQL-over-HTTP working
group's own), run by `tests/graphql_http_audit/audit.mjs` with Node against the real server
(`qikink-graphql serve`) on a loopback port. Its npm packages come from the registry, pinned by
the committed package-lock.json, installed here when they are missing or stale.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from typing import Any

import pytest

from scripts.npm_ci import npm_ci
from tests.live_server import PROJECT_ROOT, LiveServer, require_tool, run

pytestmark = pytest.mark.e2e


AUDIT_DIR = PROJECT_ROOT / "tests" / "graphql_http_audit"
AUDIT_TIMEOUT = 120.0
NEEDS_NODE = "the GraphQL-over-HTTP audit runs graphql-http with Node 20+ and npm"


def level(result: dict[str, Any]) -> str:
    """MUST, SHOULD or MAY: the first word of the audit's name, as graphql-http reads it."""
    return str(result["name"]).split(" ", 1)[0]


@pytest.fixture(scope="session")
def audit_results(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    """Every audit result of one run against a live server."""
    try:
        node = require_tool("node", NEEDS_NODE)
        npm_ci(AUDIT_DIR, needed_for=NEEDS_NODE)
    except RuntimeError as exc:
        pytest.fail(str(exc), pytrace=False)
    with LiveServer(tmp_path_factory.mktemp("graphql_http_audit")) as server:
        started = time.monotonic()
        done = run([node, "audit.mjs", server.graphql_url], cwd=AUDIT_DIR, timeout=AUDIT_TIMEOUT)
        elapsed = time.monotonic() - started
        lines = [line for line in done.stdout.splitlines() if line.strip()]
        # 0: everything required passed; 1: some MUST or SHOULD failed (reported below).
        if done.returncode not in (0, 1) or not lines:
            pytest.fail(
                f"audit.mjs exited {done.returncode} after {elapsed:.1f} s\n"
                f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}\n"
                f"server log:\n{server.log()[-4000:]}"
            )
        results = [json.loads(line) for line in lines]
    summary = Counter((level(result), result["status"]) for result in results)
    print(f"graphql-http audit in {elapsed:.1f} s: {dict(sorted(summary.items()))}")
    return results


def failures(results: list[dict[str, Any]], wanted: str) -> list[str]:
    return [
        f"{result['id']} {result['name']}: {result['status']}: {result['reason']}"
        for result in results
        if level(result) == wanted and result["status"] != "ok"
    ]


def test_the_audit_checks_musts_and_shoulds(audit_results: list[dict[str, Any]]) -> None:
    # A run that printed nothing of a level would pass the two tests below vacuously.
    levels = Counter(level(result) for result in audit_results)
    assert levels["MUST"] > 0, levels
    assert levels["SHOULD"] > 0, levels
    assert len({result["id"] for result in audit_results}) == len(audit_results)


def test_every_must_passes(audit_results: list[dict[str, Any]]) -> None:
    failed = failures(audit_results, "MUST")
    assert not failed, "failing MUST audits:\n" + "\n".join(failed)


def test_every_should_passes(audit_results: list[dict[str, Any]]) -> None:
    failed = failures(audit_results, "SHOULD")
    assert not failed, "failing SHOULD audits:\n" + "\n".join(failed)
