"""Schemathesis fuzzes every root field of the live server, signed in as an admin and anonymous.

Schemathesis reads the schema by introspection from the real server (`qikink-graphql serve`
on a loopback port, built-in Qikink simulator, fresh SQLite database) and generates operations
for every query and mutation: mostly valid ones (which reach the resolvers), some invalid ones
(which the validation must refuse). Arguments are drawn from a dictionary of values this
service cares about (mapped variants, SKUs, Indian states and phones, ids that exist) as well
as from arbitrary text, numbers and decimals.

Whatever the input, the server must answer a GraphQL response under 500; an error raised while
executing must carry one of the contract's codes (never INTERNAL_SERVER_ERROR: it is masked,
but it is still a bug the input found); and no body may carry a traceback or a Python file
path. Beneath GraphQL, malformed HTTP requests (bytes that are no JSON, JSON that is no
request, nesting deeper than a parser goes) must be refused with a 4xx. Generation is
derandomized: every run sends the same requests.
"""

from __future__ import annotations

import json
import math
import re
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.generation import GenerationMode
from schemathesis.graphql import nodes

from tests.graphql_client import store_order_input
from tests.live_server import LiveServer

if TYPE_CHECKING:
    from collections.abc import Iterator

    from schemathesis.generation.case import Case
    from schemathesis.schemas import APIOperation

pytestmark = pytest.mark.e2e


OPERATIONS_PER_MODE = 1250
REQUEST_TIMEOUT = 30.0
GRAPHQL_RESPONSE = "application/graphql-response+json"
# The contract's codes (design.md "Errors", and the Medusa ones of docs/storefront-clients.md).
EXPECTED_CODES = frozenset(
    {
        "UNAUTHENTICATED",
        "FORBIDDEN",
        "NOT_FOUND",
        "CONFLICT",
        "BAD_USER_INPUT",
        "RATE_LIMITED",
        "QIKINK_UNAVAILABLE",
        "QIKINK_REJECTED",
        "MEDUSA_UNAVAILABLE",
        "MEDUSA_REJECTED",
    }
)
TRACE_MARKERS = (
    re.compile(r"Traceback \(most recent call last\)"),
    re.compile(r"File \"[^\"]+\", line \d+"),
    re.compile(r"(?:[A-Za-z]:)?(?:[/\\][\w.-]+)+\.py\b"),
)

# A log record starts with our timestamp or with uvicorn's "INFO:     ".
_LOG_RECORD = re.compile(r"^(?:\d{4}-\d\d-\d\d \d\d:\d\d:\d\d|[A-Z]+: )")
_RUN = re.compile(r"(.)\1{23,}")
# What differs between two inputs that hit the same cause: numbers and quoted values.
_VARYING = re.compile(r"'[^']*'|\"[^\"]*\"|\d+")
_TRACE_NOISE = ("Traceback", "The above exception", "During handling")

# Seeded before fuzzing: mapped variants, so generated store orders reach the outbox.
SEED_MAPPINGS = (
    ("variant_fuzz_tee", "MVnHs-Wh-S"),
    ("variant_fuzz_mug", "MUG-11OZ"),
    ("variant_fuzz_hoodie", "UHd-Bk-L"),
)
SEED_ORDER = store_order_input("order_fuzz_seed_0001", "9001", "variant_fuzz_tee")
WORDS = (
    *(variant for variant, _ in SEED_MAPPINGS),
    *(sku for _, sku in SEED_MAPPINGS),
    "variant_unmapped",
    "order_fuzz_seed_0001",
    "9001",
    "MD9001",
    "SO1001",
    "Karnataka",
    "KA",
    "IN-KA",
    "Tamil Nadu",
    "Atlantis",
    "9876543210",
    "+91 98000 00000",
    "12345",
    "asha@example.com",
    "not-an-email",
    "560001",
    "IN",
    "in",
    "US",
    "inr",
    "2026-01-01",
    "2026-13-45",
    "01/02/2026",
    "On Hold",
    "Delivered",
    "fr",
    "https://example.com/design.png",
    "",
    " ",
    "null",
    "0",
    "-1",
    "' OR 1=1 --",
    "%",
    "_",
    "\\",
    "\x00",
    "../../etc/passwd",
    "{{7*7}}",
    "<script>alert(1)</script>",
    "\u202e\ufeff",
)
# Either side of the limits of the columns (32, 50, 64, 255) and of the inputs (15, 90, 255).
LENGTHS = (15, 16, 32, 33, 50, 51, 64, 65, 90, 91, 255, 256, 5000)
DECIMALS = (
    "0",
    "-0",
    "549",
    "19.99",
    "0.001",
    "-1",
    "1e3",
    "1E+999999",
    "1e-999999",
    "9" * 60,
    "NaN",
    "sNaN",
    "Infinity",
    "-Infinity",
    "",
    "abc",
    " 1 ",
    "1,000",
)
# Either side of the ranges the arguments take (limit 1..200, refresh limit ..1000, ...).
INTS = (-(2**31), -1, 0, 1, 2, 100, 101, 200, 201, 500, 1000, 1001, 10_000, 10_001, 2**31 - 1)
ODD_IDS = (
    "",
    "0",
    "-1",
    "pm_",
    "om_",
    "4518823",
    "1e9",
    "\x00",
    "x" * 2000,
)
# Ids that exist, filled in by the fixture before anything is generated.
ID_POOL: list[str] = []


def weighted(*choices: tuple[st.SearchStrategy[Any], int]) -> st.SearchStrategy[Any]:
    """A value of one of the strategies, each chosen in proportion to its weight."""
    pool = [strategy for strategy, weight in choices for _ in range(weight)]
    return st.sampled_from(pool).flatmap(lambda strategy: strategy)


long_text = st.sampled_from(LENGTHS).map(lambda length: "9" * length)
schemathesis.graphql.scalar(
    "String",
    weighted((st.sampled_from(WORDS), 2), (long_text, 1), (st.text(max_size=64), 2)).map(
        nodes.String
    ),
)
# Mostly values a paged list accepts, so that the rest of the arguments get looked at.
schemathesis.graphql.scalar(
    "Int",
    weighted(
        (st.integers(min_value=0, max_value=210), 3),
        (st.sampled_from(INTS), 1),
        (st.integers(min_value=-(2**31), max_value=2**31 - 1), 1),
    ).map(nodes.Int),
)
schemathesis.graphql.scalar(
    "Decimal",
    st.one_of(
        st.sampled_from(DECIMALS).map(nodes.String),
        st.decimals(min_value=-(10**6), max_value=10**6, places=2).map(str).map(nodes.String),
        st.decimals().map(str).map(nodes.String),
        st.integers(min_value=-(2**53), max_value=2**53).map(nodes.Int),
        st.text(max_size=20).map(nodes.String),
    ),
)
schemathesis.graphql.scalar(
    "ID",
    st.one_of(
        st.integers(min_value=0, max_value=255).map(lambda i: ID_POOL[i % len(ID_POOL)]),
        st.sampled_from(ODD_IDS),
        long_text,
        st.text(max_size=40),
    ).map(nodes.String),
)


@dataclass
class Finding:
    """The first input that broke one rule in one operation, and how often the rule broke."""

    operation: str
    problem: str
    query: str
    status: int
    body: str
    request_id: str
    log: str = ""
    times: int = 1

    def describe(self) -> str:
        text = (
            f"{self.operation}: {self.problem} ({self.times}x); first input:\n{self.query}\n"
            f"-> HTTP {self.status} (request {self.request_id}): {self.body[:400]}"
        )
        return shorten(text + (f"\nserver log:\n{self.log}" if self.log else ""))


def shorten(text: str) -> str:
    """Long runs of one character (the fuzzer's 2000-character ids) as `xxx...[2000]`."""
    return _RUN.sub(lambda run: f"{run.group(1) * 3}...[{len(run.group(0))}]", text)


@dataclass
class Target:
    server: LiveServer
    operations: list[APIOperation]
    admin_key: str


@dataclass
class Run:
    """One credential mode's fuzz run: what it sent and what went wrong."""

    mode: str
    headers: dict[str, str]
    calls: int = 0
    per_operation: dict[str, int] = field(default_factory=dict)
    findings: dict[tuple[str, str], Finding] = field(default_factory=dict)


def problems(response: httpx.Response, sent: str) -> list[str]:
    """Every rule the response breaks; text the request itself carried is not a leak."""
    found: list[str] = []
    if response.status_code >= 500:
        found.append(f"HTTP {response.status_code}")
    for marker in TRACE_MARKERS:
        leaked = {match for match in marker.findall(response.text) if match not in sent}
        if leaked:
            found.append(f"trace or source path in the body: {sorted(leaked)[:3]}")
    try:
        payload = response.json()
    except ValueError:
        return [*found, "the body is not JSON"]
    if not isinstance(payload, dict) or not ({"data", "errors"} & payload.keys()):
        return [*found, "the body is not a GraphQL response"]
    for error in payload.get("errors") or []:
        extensions = error.get("extensions") or {}
        code = extensions.get("code")
        if code == "INTERNAL_SERVER_ERROR":
            found.append(f"INTERNAL_SERVER_ERROR at {error.get('path')}")
        elif error.get("path") is not None and code not in EXPECTED_CODES:
            # An execution error without a contract code: an unexpected error let through.
            found.append(f"execution error with code {code!r}: {error.get('message')!r}")
    return found


def log_lines(server: LiveServer, request_id: str) -> str:
    """What the server logged for one request: the error line and each exception's own line."""
    kept: list[str] = []
    inside = False
    for line in server.log().splitlines():
        if _LOG_RECORD.match(line):
            inside = request_id in line and " INFO " not in line
            if inside:
                kept.append(line)
        elif inside and line[:1] not in ("", " ") and not line.startswith(_TRACE_NOISE):
            kept.append("  " + line)
    return "\n".join(kept)


def derandomized(examples: int) -> settings:
    """Hypothesis settings for `examples` generated inputs, the same ones every run, with no
    shrinking, example database or deadline."""
    return settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
        print_blob=False,
    )


def fuzz_operation(
    target: Target, run: Run, http: httpx.Client, operation: APIOperation, budget: int
) -> None:
    positive = operation.as_strategy(generation_mode=GenerationMode.POSITIVE)
    negative = operation.as_strategy(generation_mode=GenerationMode.NEGATIVE)
    # Three in four valid: those reach the resolvers; the rest must be refused by validation.
    cases = st.sampled_from((positive, positive, positive, negative)).flatmap(lambda s: s)

    @derandomized(budget)
    @given(case=cases)
    def send(case: Case) -> None:
        run.calls += 1
        run.per_operation[operation.label] = run.per_operation.get(operation.label, 0) + 1
        request_id = f"fuzz-{run.mode}-{run.calls}"
        query = str(case.body)
        try:
            response = http.post(
                "/graphql",
                json={"query": query},
                headers={**run.headers, "x-request-id": request_id},
            )
        except httpx.TransportError as exc:
            problems_found, status, text = [f"no answer: {exc!r}"], 0, ""
        else:
            problems_found = problems(response, json.dumps(query))
            status, text = response.status_code, response.text
        log = log_lines(target.server, request_id) if problems_found else ""
        for problem in problems_found:
            # One finding per operation and cause: the server's own exception tells causes apart.
            causes = [line for line in log.splitlines() if line.startswith("  ")]
            cause = causes[-1] if causes else ""
            key = (operation.label, _VARYING.sub("_", f"{problem} {cause}"))
            if key in run.findings:
                run.findings[key].times += 1
                continue
            run.findings[key] = Finding(
                operation=operation.label,
                problem=problem,
                query=query,
                status=status,
                body=text,
                request_id=request_id,
                log=log,
            )

    send()


def fuzz(target: Target, run: Run) -> None:
    with httpx.Client(base_url=target.server.url, timeout=REQUEST_TIMEOUT) as http:
        for index, operation in enumerate(target.operations):
            # Spread what is left of the budget over the operations left: a field with few
            # distinct inputs (no arguments) runs out early and leaves its share to the rest.
            left = len(target.operations) - index
            budget = math.ceil((OPERATIONS_PER_MODE - run.calls) / left)
            fuzz_operation(target, run, http, operation, max(budget, 1))


def graphql(server: LiveServer, query: str, variables: dict[str, Any], key: str) -> Any:
    response = httpx.post(
        server.graphql_url,
        json={"query": query, "variables": variables},
        headers={"authorization": f"Bearer {key}"},
        timeout=REQUEST_TIMEOUT,
    )
    body = response.json()
    assert response.status_code == 200, body
    assert not body.get("errors"), body
    return body["data"]


def seed(server: LiveServer, key: str) -> None:
    """Mapped variants and one order mapping, and their ids in the pool of ids to draw from."""
    for variant, sku in SEED_MAPPINGS:
        created = graphql(
            server,
            "mutation($input: ProductMappingInput!) { createProductMapping(input: $input) { id } }",
            {"input": {"qikinkSkuId": sku, "variantId": variant}},
            key,
        )
        ID_POOL.append(created["createProductMapping"]["id"])
    submitted = graphql(
        server,
        "mutation($order: StoreOrderInput!) { submitStoreOrder(order: $order) { mapping { id } } }",
        {"order": SEED_ORDER},
        key,
    )
    ID_POOL.append(submitted["submitStoreOrder"]["mapping"]["id"])


@pytest.fixture(scope="session")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    with (
        pytest.MonkeyPatch.context() as patch,
        LiveServer(tmp_path_factory.mktemp("fuzz")) as server,
    ):
        # Hypothesis keeps caches in ./.hypothesis unless told otherwise: not in the checkout.
        patch.setenv("HYPOTHESIS_STORAGE_DIRECTORY", str(tmp_path_factory.mktemp("hypothesis")))
        admin_key = server.create_api_key("fuzz")
        seed(server, admin_key)
        schema = schemathesis.graphql.from_url(server.graphql_url, timeout=REQUEST_TIMEOUT)
        operations = [result.ok() for result in schema.get_all_operations()]
        yield Target(server=server, operations=operations, admin_key=admin_key)
        ID_POOL.clear()


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["admin", "anonymous"])
def test_no_generated_operation_breaks_the_server(target: Target, mode: str) -> None:
    headers = {"authorization": f"Bearer {target.admin_key}"} if mode == "admin" else {}
    run = Run(mode=mode, headers=headers)
    started = time.monotonic()
    fuzz(target, run)
    elapsed = time.monotonic() - started
    print(
        f"fuzz {mode}: {run.calls} operations over {len(run.per_operation)} root fields "
        f"in {elapsed:.1f} s: {run.per_operation}"
    )
    assert len(run.per_operation) == len(target.operations)
    assert run.calls >= OPERATIONS_PER_MODE, f"only {run.calls} operations generated"
    findings = sorted(run.findings.values(), key=lambda finding: finding.operation)
    if findings:
        pytest.fail(
            f"{len(findings)} problem(s) as {mode}:\n\n"
            + "\n\n".join(finding.describe() for finding in findings),
            pytrace=False,
        )


# Beneath the operations: the HTTP requests themselves, malformed on purpose.
RAW_REQUESTS = 300
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)
request_fields = st.fixed_dictionaries(
    {},
    optional={
        "query": st.one_of(st.text(max_size=40), json_values, st.just("{ __typename }")),
        "variables": json_values,
        "operationName": json_values,
        "extensions": json_values,
    },
)
deep = st.sampled_from((10, 1000, 100_000))
raw_bodies = st.one_of(
    st.binary(max_size=200),
    json_values.map(json.dumps).map(str.encode),
    request_fields.map(json.dumps).map(str.encode),
    deep.map(lambda depth: b"[" * depth + b"]" * depth),
    deep.map(
        lambda depth: (
            b'{"query": "{ __typename }", "variables": '
            + b'{"a":' * depth
            + b"1"
            + b"}" * (depth + 1)
        )
    ),
    st.sampled_from(
        (
            b"",
            b"null",
            b'"{ __typename }"',
            b'{"query": "{ __typename \xff }"}',
            b'\xef\xbb\xbf{"query": "{ __typename }"}',
            '{"query": "{ __typename }"}'.encode("utf-16"),
        )
    ),
)
query_params = st.dictionaries(
    st.sampled_from(("query", "variables", "operationName", "extensions")),
    st.one_of(st.text(max_size=30), json_values.map(json.dumps)),
)
accepts = st.sampled_from((None, "application/json", GRAPHQL_RESPONSE, "*/*"))


def raw_problems(response: httpx.Response, *, ide: bool) -> list[str]:
    """A request that cannot be run is a 4xx; one that ran is a GraphQL response."""
    found = [f"HTTP {response.status_code}"] if response.status_code >= 500 else []
    found += [
        f"trace or source path in the body: {marker.pattern}"
        for marker in TRACE_MARKERS
        if marker.search(response.text)
    ]
    if response.status_code == 200:
        if ide and response.headers.get("content-type", "").startswith("text/html"):
            return found  # GraphiQL, for a GET with no query from a browser or curl
        try:
            payload = response.json()
        except ValueError:
            payload = None
        if not isinstance(payload, dict) or not ({"data", "errors"} & payload.keys()):
            found.append("a 200 that is not a GraphQL response")
    return found


def test_no_malformed_request_breaks_the_server(target: Target) -> None:
    broken: list[str] = []
    sent = 0

    @derandomized(RAW_REQUESTS)
    @given(post=st.booleans(), body=raw_bodies, params=query_params, accept=accepts)
    def send(post: bool, body: bytes, params: dict[str, str], accept: str | None) -> None:
        nonlocal sent
        sent += 1
        headers = {"accept": accept} if accept else {}
        request = f"POST {body[:200]!r} ({len(body)} bytes)" if post else f"GET {params!r}"
        try:
            if post:
                headers["content-type"] = "application/json"
                response = http.post("/graphql", content=body, headers=headers)
            else:
                response = http.get("/graphql", params=params, headers=headers)
        except httpx.TransportError as exc:
            broken.append(shorten(f"{request} accept={accept}: no answer: {exc!r}"))
            return
        for problem in raw_problems(response, ide=not post and "query" not in params):
            broken.append(shorten(f"{request} accept={accept}: {problem}: {response.text[:300]}"))

    with httpx.Client(base_url=target.server.url, timeout=REQUEST_TIMEOUT) as http:
        send()
    print(f"fuzz raw HTTP: {sent} requests")
    assert sent >= RAW_REQUESTS // 2
    if broken:
        pytest.fail(f"{len(broken)} bad answer(s):\n" + "\n".join(broken[:20]), pytrace=False)
