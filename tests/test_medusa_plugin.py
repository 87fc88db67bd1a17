"""The Medusa plugin (medusa-plugin/) in a real Medusa 2.21 backend with its dashboard on.

The plugin is built with `medusa plugin:build` and copied into tests/medusa_backend's
node_modules as a merchant installs it; Chromium (Debian's, driven by Playwright) signs in to
Medusa's dashboard and does what a merchant does with the plugin's widgets and page, against
this service (`qikink-graphql serve`) and the Qikink simulator. The plugin's admin routes are
tested over HTTP too: Medusa's session guards them, and the service's refusals and failures
become Medusa statuses (never a 401, which signs the admin out). Screenshots of every page go
to tests/artifacts/. It runs on the PostgreSQL pass, as the other Medusa end-to-end tests do.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from simulator import QikinkSimulator, SimulatorServer
from tests.admin_browser import CHROMIUM_ARGS, ensure_chromium, unavailable
from tests.conftest import TEST_JWT_SECRET
from tests.markers import postgres_pass
from tests.medusa_e2e import (
    ADMIN_EMAIL,
    PROJECT,
    MedusaAdmin,
    MedusaBackend,
    ServiceProcess,
    Store,
    checkout,
    install_backend,
)
from tests.waiting import wait_for

try:
    from playwright.sync_api import expect, sync_playwright
except ImportError:  # pragma: no cover - the dev extras install it
    sync_playwright = None  # type: ignore[assignment]

if TYPE_CHECKING:
    from collections.abc import Iterator

    from playwright.sync_api import Browser, Locator, Page

pytestmark = [postgres_pass, pytest.mark.postgres, pytest.mark.e2e, pytest.mark.slow]

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
INSTALLED = PROJECT / "node_modules" / "qikink-graphql-medusa"
AWB = "DLV5550001112"
TRACKING_LINK = f"https://www.delhivery.com/track/package/{AWB}"
# The dashboard's first load has Vite optimise its dependencies: 10-15 s on two cores.
FIRST_LOAD_MS = 90_000

VARIANT_MAPPINGS = """query($v: String!) {
  productMappings(filter: { variantId: $v }) { nodes { id qikinkSkuId } } }"""
ORDER_MAPPING = """query($id: String!) {
  qikinkOrderMappings(filter: { medusaOrderId: $id }) {
    nodes { id status qikinkOrderId lastError } } }"""


@dataclass(frozen=True, slots=True)
class Shop:
    """The backend, its seeded store, and a hoodie in two sizes to map at once."""

    backend: MedusaBackend
    store: Store
    hoodie: dict[str, Any]

    def sizes(self, *titles: str) -> tuple[str, ...]:
        """The hoodie's variant ids of these sizes (Medusa lists variants in no set order)."""
        ids = {variant["title"]: variant["id"] for variant in self.hoodie["variants"]}
        return tuple(ids[title] for title in titles)

    def admin_url(self, path: str) -> str:
        return f"{self.backend.url}/app{path}"


@pytest.fixture(scope="module")
def simulator() -> Iterator[SimulatorServer]:
    with SimulatorServer(QikinkSimulator()) as server:
        yield server


@pytest.fixture(scope="module")
def service(
    simulator: SimulatorServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServiceProcess]:
    """This service with the API key the plugin calls it with; started once Medusa is up."""
    process = ServiceProcess.against(
        tmp_path_factory.mktemp("qikink-service"), simulator, jwt_secret=TEST_JWT_SECRET
    )
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture(scope="module")
def shop(
    postgres_admin_url: str, service: ServiceProcess, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Shop]:
    """Medusa with the plugin installed and its dashboard on, seeded; the service connected."""
    started = time.monotonic()
    installed = install_backend()
    backend = MedusaBackend(
        postgres_admin_url,
        tmp_path_factory.mktemp("medusa-dashboard"),
        env={
            "QIKINK_GRAPHQL_URL": service.url,
            "QIKINK_GRAPHQL_API_KEY": service.api_key,
            "MEDUSA_ADMIN_DASHBOARD": "on",
        },
    )
    with backend:
        admin = MedusaAdmin(backend)
        try:
            store = admin.seed()
            hoodie = admin.add_product(store, "Qikink Hoodie", ["S", "L"])
        finally:
            admin.close()
        service.env["MEDUSA_BACKEND_URL"] = backend.url
        service.env["MEDUSA_API_KEY"] = store.secret_key
        service.start()
        print("Medusa with its dashboard, ready (s):", installed, backend.timings)
        print(f"  in {time.monotonic() - started:.1f} s")
        try:
            yield Shop(backend, store, hoodie)
        except BaseException:
            for name, log in (("Medusa", backend.log()), ("qikink-graphql", service.log())):
                print(f"\n========== {name} ==========\n{log[-20000:]}")
            raise


@pytest.fixture(scope="module")
def medusa_api(shop: Shop) -> Iterator[httpx.Client]:
    """Medusa's Admin API as the store's admin (a bearer JWT, as the dashboard's session is)."""
    admin = MedusaAdmin(shop.backend)
    try:
        yield admin.http
    finally:
        admin.close()


def gql(service: ServiceProcess, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    response = httpx.post(
        f"{service.url}/graphql",
        json={"query": query, "variables": variables},
        headers={"authorization": f"Bearer {service.api_key}"},
        timeout=10,
    )
    body: dict[str, Any] = response.json()
    assert not body.get("errors"), body
    return body["data"]


def sku_of(service: ServiceProcess, variant_id: str) -> str | None:
    nodes = gql(service, VARIANT_MAPPINGS, {"v": variant_id})["productMappings"]["nodes"]
    return nodes[0]["qikinkSkuId"] if nodes else None


def order_mapping(service: ServiceProcess, order_id: str) -> dict[str, Any] | None:
    nodes = gql(service, ORDER_MAPPING, {"id": order_id})["qikinkOrderMappings"]["nodes"]
    return nodes[0] if nodes else None


def mapping_in(service: ServiceProcess, order_id: str, status: str) -> dict[str, Any] | None:
    """The order's mapping once it is in `status`; None before."""
    mapping = order_mapping(service, order_id)
    return mapping if mapping is not None and mapping["status"] == status else None


# -- the admin routes over HTTP ----------------------------------------------------------------


def test_the_routes_answer_only_a_medusa_admin(shop: Shop, service: ServiceProcess) -> None:
    url = f"{shop.backend.url}/admin/qikink/order-mappings"
    assert httpx.get(url, timeout=10).status_code == 401
    # The service's own key means nothing to Medusa.
    as_service = httpx.get(url, headers={"authorization": f"Bearer {service.api_key}"}, timeout=10)
    assert as_service.status_code == 401


def test_a_sku_mapped_already_is_a_409_naming_the_variant_that_holds_it(
    shop: Shop, service: ServiceProcess, medusa_api: httpx.Client
) -> None:
    small, large = shop.sizes("S", "L")
    created = medusa_api.post(
        "/admin/qikink/variant-mappings", json={"variant_id": small, "qikink_sku_id": "HD-DUP-1"}
    )
    assert created.status_code == 200, created.text
    mapping = created.json()["variant_mapping"]
    try:
        taken = medusa_api.post(
            "/admin/qikink/variant-mappings",
            json={"variant_id": large, "qikink_sku_id": "HD-DUP-1"},
        )
        assert taken.status_code == 409, taken.text
        assert taken.json()["code"] == "CONFLICT"
        assert small in taken.json()["message"]
        assert sku_of(service, large) is None

        no_sku = medusa_api.post("/admin/qikink/variant-mappings", json={"variant_id": large})
        assert no_sku.status_code == 400, no_sku.text
        assert no_sku.json()["field"] == "qikink_sku_id"
    finally:
        deleted = medusa_api.delete(f"/admin/qikink/variant-mappings/{mapping['id']}")
        assert deleted.status_code == 200, deleted.text
    assert sku_of(service, small) is None
    gone = medusa_api.delete(f"/admin/qikink/variant-mappings/{mapping['id']}")
    assert gone.status_code == 404, gone.text


def test_the_built_admin_bundle_holds_no_key(shop: Shop, service: ServiceProcess) -> None:
    bundles = sorted((INSTALLED / ".medusa" / "server" / "src" / "admin").glob("index.*"))
    assert [path.name for path in bundles] == ["index.js", "index.mjs"]
    for bundle in bundles:
        text = bundle.read_text()
        assert "Qikink Orders" in text, f"{bundle} is not the plugin's admin bundle"
        assert service.api_key not in text
        assert "QIKINK_GRAPHQL_API_KEY" not in text
        assert "authorization" not in text.lower()


# -- the dashboard, in a browser ---------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if sync_playwright is None:
        unavailable("the playwright package is not installed (pip install -e '.[dev]')")
    executable = ensure_chromium()
    expect.set_options(timeout=15_000)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def screenshot(page: Page, name: str, focus: Locator | None = None) -> None:
    """The page as the merchant sees it, scrolled to `focus` (the dashboard scrolls its main
    column itself, so a full-page shot would not reach a widget at its bottom)."""
    ARTIFACTS.mkdir(exist_ok=True)
    if focus is not None:
        focus.scroll_into_view_if_needed()
    # Dialogs and toasts fade in: finish their animations rather than catch them half-drawn.
    page.screenshot(path=str(ARTIFACTS / f"medusa-{name}.png"), animations="disabled")


def sign_in(page: Page, shop: Shop) -> None:
    page.goto(shop.admin_url("/login"), timeout=FIRST_LOAD_MS)
    page.get_by_placeholder("Email").fill(ADMIN_EMAIL)
    page.get_by_placeholder("Password").fill(shop.backend.admin_password)
    page.get_by_role("button", name="Continue with Email").click()
    expect(page.get_by_role("link", name="Qikink Orders")).to_be_visible(timeout=FIRST_LOAD_MS)


def test_a_merchant_runs_qikink_from_the_medusa_dashboard(
    shop: Shop, service: ServiceProcess, simulator: SimulatorServer, browser: Browser
) -> None:
    started = time.monotonic()
    timings: dict[str, float] = {}

    def lap(step: str) -> None:
        timings[step] = round(time.monotonic() - started - sum(timings.values()), 1)

    context = browser.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    requests: list[str] = []
    problems: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.on("pageerror", lambda error: problems.append(f"uncaught: {error}"))
    store, tee = shop.store, shop.store.variant_id
    small, large = shop.sizes("S", "L")
    try:
        # 1. Sign in; the plugin's page is in the sidebar.
        sign_in(page, shop)
        screenshot(page, "home")
        lap("sign in (first dashboard load)")

        # 2. The tee's variant page: add, update and delete its Qikink SKU.
        page.goto(shop.admin_url(f"/products/{store.product_id}/variants/{tee}"))
        expect(page.get_by_role("heading", name="Qikink Variant")).to_be_visible()
        sku = page.get_by_test_id("qikink-variant-sku")
        expect(sku).to_have_text(re.compile("Not mapped"))
        page.get_by_role("button", name="Add Qikink Variant").click()
        page.get_by_role("dialog").get_by_label("Qikink SKU").fill("MVnHs-Wh-M")
        page.get_by_role("dialog").get_by_role("button", name="Save").click()
        expect(page.get_by_text("Qikink variant mapping created successfully.")).to_be_visible()
        expect(sku).to_have_text("MVnHs-Wh-M")
        assert sku_of(service, tee) == "MVnHs-Wh-M"
        screenshot(page, "variant-mapped", sku)

        page.get_by_role("button", name="Qikink variant actions").click()
        page.get_by_role("menuitem", name="Update Qikink Variant").click()
        field = page.get_by_role("dialog").get_by_label("Qikink SKU")
        expect(field).to_have_value("MVnHs-Wh-M")
        field.fill("MVnHs-Bk-M")
        page.get_by_role("dialog").get_by_role("button", name="Save").click()
        expect(sku).to_have_text("MVnHs-Bk-M")
        assert sku_of(service, tee) == "MVnHs-Bk-M"

        page.get_by_role("button", name="Qikink variant actions").click()
        page.get_by_role("menuitem", name="Delete Qikink Variant").click()
        prompt = page.get_by_role("alertdialog")
        expect(prompt).to_contain_text("MVnHs-Bk-M")
        screenshot(page, "variant-delete-prompt")
        prompt.get_by_role("button", name="Delete").click()
        expect(page.get_by_text("Qikink variant mapping removed.")).to_be_visible()
        expect(sku).to_have_text(re.compile("Not mapped"))
        assert sku_of(service, tee) is None
        lap("variant page: add, update, delete")

        # 3. The hoodie's product page: both sizes at once. The same SKU twice is refused
        # for one of them, in the service's words; then both are saved.
        page.goto(shop.admin_url(f"/products/{shop.hoodie['id']}"))
        expect(page.get_by_role("heading", name="Qikink SKUs")).to_be_visible()
        expect(page.get_by_text("not mapped", exact=True)).to_have_count(2)
        page.get_by_role("button", name="Edit Qikink SKUs").click()
        form = page.get_by_role("dialog")
        form.get_by_label("Qikink SKU of S").fill("MHd-Bk-S")
        form.get_by_label("Qikink SKU of L").fill("MHd-Bk-S")
        form.get_by_role("button", name="Save").click()
        # The rows are saved in the order the page lists them: the second is refused, naming
        # the first.
        named = f"Refused: Qikink SKU MHd-Bk-S is already mapped to variant ({small}|{large})"
        expect(form.get_by_text(re.compile(named))).to_be_visible()
        expect(form.get_by_text("Saved.")).to_have_count(1)
        screenshot(page, "product-skus-refused", form.get_by_text("Refused:"))
        form.get_by_label("Qikink SKU of S").fill("MHd-Bk-S")
        form.get_by_label("Qikink SKU of L").fill("MHd-Bk-L")
        form.get_by_role("button", name="Save").click()
        expect(page.get_by_text("Qikink SKUs saved.")).to_be_visible()
        assert (sku_of(service, small), sku_of(service, large)) == ("MHd-Bk-S", "MHd-Bk-L")
        expect(page.get_by_role("row").filter(has_text="MHd-Bk-L")).to_contain_text("Saved")
        expect(page.get_by_role("row").filter(has_text="MHd-Bk-S")).to_be_visible()
        screenshot(page, "product-skus", page.get_by_role("heading", name="Qikink SKUs"))
        lap("product page: two variants at once")

        # The tee's page refuses a SKU the hoodie holds, naming the variant that holds it.
        page.goto(shop.admin_url(f"/products/{store.product_id}/variants/{tee}"))
        page.get_by_role("button", name="Add Qikink Variant").click()
        page.get_by_role("dialog").get_by_label("Qikink SKU").fill("MHd-Bk-S")
        page.get_by_role("dialog").get_by_role("button", name="Save").click()
        expect(page.get_by_role("dialog").get_by_role("alert")).to_contain_text(
            f"Qikink SKU MHd-Bk-S is already mapped to variant {small}"
        )
        screenshot(page, "variant-duplicate")
        page.get_by_role("dialog").get_by_role("button", name="Cancel").click()
        expect(sku).to_have_text(re.compile("Not mapped"))
        assert sku_of(service, tee) is None
        lap("variant page: a duplicate SKU refused")

        # 4. A checkout of both sizes and a mug: on "Qikink Orders" once Qikink has it.
        order = checkout(
            shop.backend.url,
            store,
            items=[(small, 1), (large, 1), (store.unmapped_variant_id, 1)],
        )
        mapping = wait_for(
            lambda: mapping_in(service, order["id"], "SUBMITTED"),
            within=30,
            what=f"order {order['id']} SUBMITTED",
        )
        page.get_by_role("link", name="Qikink Orders").click()
        expect(page.get_by_role("heading", name="Qikink Orders")).to_be_visible()
        expect(page.get_by_role("status")).to_be_visible()
        page.get_by_role("button", name="Refresh status").click()
        row = page.locator(f"tr[data-order-id='{order['id']}']")
        expect(row).to_contain_text("Submitted")
        expect(row.get_by_role("link", name=f"#{order['display_id']}")).to_be_visible()
        screenshot(page, "qikink-orders")
        lap("checkout to SUBMITTED on Qikink Orders")

        # 5. Qikink ships it: the order's Qikink card shows the courier and the tracking link.
        simulator.sim.advance(
            int(mapping["qikinkOrderId"]), "In-Transit", awb=AWB, tracking_link=TRACKING_LINK
        )
        row.get_by_role("link", name=f"#{order['display_id']}").click()
        expect(page.get_by_role("heading", name="Qikink", exact=True)).to_be_visible()
        page.get_by_role("button", name="Refresh", exact=True).click()
        expect(page.get_by_text("Qikink status: Shipped (was Submitted).")).to_be_visible()
        expect(page.get_by_role("link", name=AWB)).to_have_attribute("href", TRACKING_LINK)
        expect(page.get_by_text("Delhivery", exact=True)).to_be_visible()
        expect(page.get_by_text("2 of 3 items printed by Qikink; 1 not mapped")).to_be_visible()
        expect(page.get_by_text("1 \u00d7 Store Mug (White): not mapped")).to_be_visible()
        screenshot(page, "order-shipped", page.get_by_text("2 of 3 items printed by Qikink"))
        lap("shipped: courier and tracking on the order")

        # 6. Qikink refuses an order: its words on the card; Retry sends it.
        simulator.sim.inject("error_200", endpoint="create", message="Invalid SKU: MHd-Bk-S")
        refused = checkout(shop.backend.url, store, items=[(small, 1)])
        wait_for(
            lambda: mapping_in(service, refused["id"], "FAILED"),
            within=30,
            what=f"order {refused['id']} FAILED",
        )
        page.goto(shop.admin_url(f"/orders/{refused['id']}"))
        expect(page.get_by_text("Invalid SKU: MHd-Bk-S")).to_be_visible()
        screenshot(page, "order-refused", page.get_by_text("Invalid SKU: MHd-Bk-S"))
        page.get_by_role("button", name="Retry").click()
        wait_for(
            lambda: mapping_in(service, refused["id"], "SUBMITTED"),
            within=30,
            what=f"order {refused['id']} SUBMITTED after Retry",
        )
        page.get_by_role("button", name="Refresh", exact=True).click()
        expect(page.get_by_text("Submitted", exact=True)).to_be_visible()
        expect(page.get_by_text("Invalid SKU: MHd-Bk-S")).to_have_count(0)
        lap("refused, retried, submitted")

        # 7. The page's status filter and search: the shipped order alone, then the other by
        # its display id.
        page.goto(shop.admin_url("/qikink-orders"))
        page.get_by_label("Status", exact=True).select_option(label="Shipped")
        expect(page.locator("tr[data-order-id]")).to_have_count(1)
        expect(page.locator(f"tr[data-order-id='{order['id']}']")).to_contain_text(AWB)
        page.get_by_label("Status", exact=True).select_option(label="All statuses")
        expect(page.locator("tr[data-order-id]")).to_have_count(2)
        search = page.get_by_label("Search by order id or display id")
        search.fill(f"#{refused['display_id']}")
        search.press("Enter")
        expect(page.locator("tr[data-order-id]")).to_have_count(1)
        expect(page.locator(f"tr[data-order-id='{refused['id']}']")).to_be_visible()
        lap("status filter and search")

        # 8. An order of nothing Qikink prints: its card says so.
        own = checkout(shop.backend.url, store, items=[(store.unmapped_variant_id, 1)])
        page.goto(shop.admin_url(f"/orders/{own['id']}"))
        expect(page.get_by_text("No item of this order is mapped to a Qikink SKU")).to_be_visible()
        expect(page.get_by_text("0 of 1 item printed by Qikink; 1 not mapped")).to_be_visible()
        screenshot(page, "order-not-mapped", page.get_by_text("0 of 1 item printed by Qikink"))
        assert order_mapping(service, own["id"]) is None
        lap("an order with no mapped item")
    except BaseException:
        screenshot(page, "failure")
        raise
    finally:
        context.close()
        print("Medusa dashboard end-to-end timings (s):", timings)

    origin = shop.backend.url
    elsewhere = [url for url in requests if not url.startswith((f"{origin}/", "data:", "blob:"))]
    assert elsewhere == [], f"the dashboard called outside {origin}: {elsewhere[:10]}"
    assert problems == []


def test_qikink_refusing_for_its_rate_limit_is_a_503_with_retry_after(
    shop: Shop, service: ServiceProcess, simulator: SimulatorServer, medusa_api: httpx.Client
) -> None:
    open_orders = gql(
        service,
        "{ qikinkOrderMappings(filter: { status: SUBMITTED }) { count } }",
        {},
    )["qikinkOrderMappings"]["count"]
    if not open_orders:
        # Run alone: an order Qikink has, for the refresh to ask Qikink about.
        tee = shop.store.variant_id
        if sku_of(service, tee) is None:
            created = medusa_api.post(
                "/admin/qikink/variant-mappings",
                json={"variant_id": tee, "qikink_sku_id": "MVnHs-Wh-M"},
            )
            assert created.status_code == 200, created.text
        order = checkout(shop.backend.url, shop.store)
        wait_for(lambda: mapping_in(service, order["id"], "SUBMITTED"), within=30, what="SUBMITTED")
    simulator.sim.inject("rate_limit_429", times=50)
    try:
        refused = medusa_api.post("/admin/qikink/order-mappings/refresh", json={})
    finally:
        simulator.sim.reset()
    assert refused.status_code == 503, refused.text
    assert refused.json()["code"] == "RATE_LIMITED"
    assert int(refused.headers["retry-after"]) > 0


# -- the service refusing or gone: last, they leave it so -------------------------------------


def test_the_service_down_is_a_502_in_words(
    shop: Shop, service: ServiceProcess, medusa_api: httpx.Client
) -> None:
    service.stop()
    try:
        down = medusa_api.get("/admin/qikink/order-mappings")
        assert down.status_code == 502, down.text
        assert "could not be reached" in down.json()["message"]
    finally:
        service.start()


def test_a_revoked_key_is_a_502_in_words(
    shop: Shop, service: ServiceProcess, medusa_api: httpx.Client
) -> None:
    service.cli("revoke-api-key", "medusa-backend")
    refused = medusa_api.get("/admin/qikink/order-mappings")
    assert refused.status_code == 502, refused.text
    assert "refused this store's API key" in refused.json()["message"]
