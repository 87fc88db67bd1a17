"""The admin at /admin, in a real browser against the live server, the Qikink simulator and a
fake Medusa (tests/fake_medusa.py) whose catalogue holds every variant the tests map.

Playwright drives Debian's Chromium (see tests/admin_browser.py). Screenshots of both pages at
desktop and phone width are written to tests/artifacts/ for a person to look at.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import pytest

from simulator import AppServer, QikinkSimulator, SimulatorServer
from tests.admin_browser import (
    CHROMIUM_ARGS,
    LiveServer,
    ensure_chromium,
    start_live_server,
    unavailable,
)
from tests.conftest import TEST_JWT_SECRET
from tests.fake_medusa import FakeMedusa
from tests.graphql_client import make_jwt, store_order_input

try:
    from playwright.sync_api import expect, sync_playwright
except ImportError:  # pragma: no cover - the dev extras install it
    sync_playwright = None  # type: ignore[assignment]

if TYPE_CHECKING:
    from collections.abc import Iterator

    from playwright.sync_api import Browser, BrowserContext, Locator, Page, Route

pytestmark = pytest.mark.e2e


ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}

SUBMIT = """mutation($order: StoreOrderInput!) {
  submitStoreOrder(order: $order) { skipped mapping { id } } }"""
CREATE_MAPPING = """mutation($input: ProductMappingInput!) {
  createProductMapping(input: $input) { id } }"""
ORDER_BY_STORE_ID = """query($id: String!) {
  qikinkOrderMappings(filter: {medusaOrderId: $id}) {
    nodes { id status qikinkOrderId qikinkStatus lastError } } }"""
MAPPINGS_FOR_VARIANT = """query($variant: String!) {
  productMappings(filter: {variantId: $variant}) { count nodes { qikinkSkuId } } }"""
# The store's catalogue: variant id -> (product title, variant title, the store's SKU).
CATALOGUE = {
    "variant_ui_tee_s": ("Organic Tee", "S / White", "TEE-S-WH"),
    "variant_ui_busy": ("Organic Tee", "M / White", "TEE-M-WH"),
    "variant_ui_hoodie_m": ("Zip Hoodie", "M", "HOOD-M"),
    "variant_ui_hoodie": ("Zip Hoodie", "L / Black", "HOOD-L-BK"),
    "variant_ui_mug": ("Mug", "11 oz", "MUG-11"),
    "variant_ui_cap": ("Cap", "Black", "CAP-BK"),
    "variant_ui_tote": ("Tote Bag", "Natural", None),
}


# -- fixtures ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if sync_playwright is None:
        unavailable("the playwright package is not installed (pip install -e '.[dev]')")
    executable = ensure_chromium()
    expect.set_options(timeout=10_000)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def sim(browser: Browser) -> Iterator[SimulatorServer]:
    # After the browser: a machine that has none skips before anything is started.
    with SimulatorServer(QikinkSimulator(rate_limit_per_minute=30)) as server:
        yield server


@pytest.fixture(scope="module")
def medusa(sim: SimulatorServer) -> Iterator[AppServer]:
    fake = FakeMedusa()
    for variant, (product, title, sku) in CATALOGUE.items():
        fake.add_variant(variant, product_title=product, title=title, sku=sku)
    with AppServer(fake.app) as server:
        yield server


@pytest.fixture(scope="module")
def server(
    sim: SimulatorServer, medusa: AppServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    live = start_live_server(
        tmp_path_factory.mktemp("admin-ui"),
        {
            "APP_ENV": "test",
            # Connected to Medusa for its variants alone: no sweep, no write-back.
            "MEDUSA_BACKEND_URL": medusa.url,
            "MEDUSA_API_KEY": FakeMedusa().api_key,
            "MEDUSA_FULFILLMENT_SYNC": "false",
            "RECONCILE_INTERVAL_SECONDS": "0",
            "JWT_SECRET": TEST_JWT_SECRET,
            "QIKINK_API_URL": sim.url,
            "QIKINK_CLIENT_ID": sim.sim.client_id,
            "QIKINK_CLIENT_SECRET": sim.sim.client_secret,
            "WORKER_POLL_SECONDS": "0.2",
            "SYNC_INTERVAL_SECONDS": "0",
            "LOG_LEVEL": "WARNING",
        },
    )
    yield live
    live.stop()


class Tab:
    """A browser tab on the admin, recording what a clean page must never do."""

    def __init__(self, context: BrowserContext, server: LiveServer) -> None:
        self.context = context
        self.server = server
        self.page = context.new_page()
        self.requests: list[str] = []
        self.problems: list[str] = []
        self.page.on("request", lambda request: self.requests.append(request.url))
        self.page.on("pageerror", lambda error: self.problems.append(f"uncaught: {error}"))
        self.page.on(
            "console",
            lambda message: (
                message.type == "error" and self.problems.append(f"console: {message.text}")
            ),
        )

    def open(self, route: str = "") -> Page:
        self.page.goto(f"{self.server.url}/admin/{route}")
        return self.page

    def sign_in(self, credential: str | None = None) -> Page:
        page = self.open()
        page.get_by_label("Admin API key or JWT").fill(credential or self.server.api_key)
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("button", name="Sign out")).to_be_visible()
        return page

    def check_clean(self) -> None:
        assert self.problems == []
        foreign = [url for url in self.requests if not url.startswith((self.server.url, "data:"))]
        assert foreign == [], "the admin must fetch nothing from elsewhere"


@pytest.fixture
def tab(browser: Browser, server: LiveServer) -> Iterator[Tab]:
    context = browser.new_context(viewport=DESKTOP)
    opened = Tab(context, server)
    yield opened
    context.close()
    opened.check_clean()


# -- helpers ----------------------------------------------------------------------------------


def toast(page: Page, text: str | re.Pattern[str]) -> Locator:
    return page.locator("#toasts .toast").filter(has_text=text)


def dialog(page: Page, title: str, role: Literal["dialog", "alertdialog"] = "dialog") -> Locator:
    return page.get_by_role(role, name=title)


def map_variant(server: LiveServer, variant: str, sku: str) -> None:
    server.gql(CREATE_MAPPING, {"input": {"variantId": variant, "qikinkSkuId": sku}})


def place_order(server: LiveServer, order_id: str, display_id: str, variant: str) -> None:
    order = store_order_input(order_id, display_id, variant)
    result = server.gql(SUBMIT, {"order": order})["submitStoreOrder"]
    assert result["skipped"] is False


def order_mapping(server: LiveServer, order_id: str) -> dict[str, Any]:
    (node,) = server.gql(ORDER_BY_STORE_ID, {"id": order_id})["qikinkOrderMappings"]["nodes"]
    return node  # type: ignore[no-any-return]


def wait_for_status(server: LiveServer, order_id: str, status: str) -> dict[str, Any]:
    server.wait_for(
        f"order {order_id} to become {status}",
        lambda: order_mapping(server, order_id)["status"] == status,
    )
    return order_mapping(server, order_id)


def order_row(page: Page, order_id: str) -> Locator:
    return page.locator("table.orders tbody tr").filter(has_text=order_id)


def cell(row: Locator, label: str) -> Locator:
    return row.locator(f'td[data-label="{label}"]')


def clear_toasts(page: Page) -> None:
    page.locator("#toasts .toast").evaluate_all("toasts => toasts.forEach(t => t.remove())")


def screenshot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


# -- tests ------------------------------------------------------------------------------------


def test_sign_in_refuses_bad_credentials_plainly_and_keeps_the_key_for_the_tab_only(
    tab: Tab, server: LiveServer
) -> None:
    page = tab.open()
    expect(page.get_by_role("heading", name="Sign in to the Qikink admin")).to_be_visible()
    credential = page.get_by_label("Admin API key or JWT")
    expect(credential).to_be_focused()
    expect(page.get_by_role("navigation", name="Main")).to_be_hidden()

    credential.fill("qk_not-a-real-key")
    credential.press("Enter")
    expect(page.get_by_role("alert")).to_contain_text("Sign-in refused:")
    expect(credential).to_be_focused()
    screenshot(page, "signin-refused-desktop")

    customer = make_jwt(TEST_JWT_SECRET, actor_type="customer")
    credential.fill(customer)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("not an admin's")

    credential.fill(server.api_key)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Qikink Orders", level=1)).to_be_visible()
    expect(page.get_by_role("link", name="Qikink Orders")).to_have_attribute("aria-current", "page")
    assert page.evaluate("() => sessionStorage.length") == 1
    assert page.evaluate("() => localStorage.length") == 0

    page.reload()
    expect(page.get_by_role("heading", name="Qikink Orders", level=1)).to_be_visible()
    other_tab = tab.context.new_page()
    other_tab.goto(f"{server.url}/admin/")
    expect(other_tab.get_by_label("Admin API key or JWT")).to_be_visible()
    other_tab.close()

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_label("Admin API key or JWT")).to_be_visible()
    assert page.evaluate("() => sessionStorage.length") == 0

    tab.sign_in(make_jwt(TEST_JWT_SECRET))  # a Medusa admin's JWT works as well
    expect(page.get_by_role("heading", name="Qikink Orders", level=1)).to_be_visible()


def test_a_key_revoked_during_the_session_sends_the_admin_back_to_sign_in(
    tab: Tab, server: LiveServer
) -> None:
    key = server.create_api_key("admin-ui-revoked")
    page = tab.sign_in(key)
    expect(toast(page, "Statuses refreshed")).to_be_visible()
    server.cli("revoke-api-key", "admin-ui-revoked")

    page.get_by_role("link", name="Variant mappings").click()
    expect(page.get_by_role("alert")).to_contain_text("Your session has ended:")
    expect(page.get_by_label("Admin API key or JWT")).to_be_focused()
    expect(page.get_by_role("navigation", name="Main")).to_be_hidden()
    assert page.evaluate("() => sessionStorage.length") == 0


def test_a_dialog_busy_saving_stays_open_until_the_answer_comes(
    tab: Tab, server: LiveServer
) -> None:
    page = tab.sign_in()
    page.get_by_role("link", name="Variant mappings").click()
    held: list[Route] = []

    def hold_the_create(route: Route) -> None:
        if "createProductMapping" in (route.request.post_data or ""):
            held.append(route)
        else:
            route.continue_()

    page.route("**/graphql", hold_the_create)
    page.get_by_role("button", name="Add Qikink Variant").click()
    adding = dialog(page, "Add Qikink Variant")
    adding.get_by_label("Variant id").fill("variant_ui_busy")
    adding.get_by_label("Qikink SKU").fill("UI-BUSY-1")
    with page.expect_request(lambda request: "createProductMapping" in (request.post_data or "")):
        adding.get_by_role("button", name="Add Qikink Variant").click()
    expect(adding.get_by_role("button", name="Adding…")).to_be_disabled()

    # The change may still land: neither Cancel nor Escape takes the dialog away meanwhile.
    adding.get_by_role("button", name="Cancel").click()
    page.keyboard.press("Escape")
    expect(adding).to_be_visible()

    [create] = held
    create.continue_()
    expect(toast(page, "Qikink variant mapping created successfully.")).to_be_visible()
    expect(adding).to_be_hidden()
    added = page.locator("table.variants tbody tr").filter(has_text="variant_ui_busy")
    expect(added).to_be_visible()


def test_variant_mappings_are_added_updated_and_deleted_with_toasts(
    tab: Tab, server: LiveServer
) -> None:
    page = tab.sign_in()
    page.get_by_role("link", name="Variant mappings").click()
    expect(page.get_by_role("heading", name="Variant mappings", level=1)).to_be_visible()

    # Added with the keyboard alone: the dialog takes focus and Enter submits it.
    add = page.get_by_role("button", name="Add Qikink Variant")
    add.focus()
    page.keyboard.press("Enter")
    adding = dialog(page, "Add Qikink Variant")
    expect(adding.get_by_label("Variant id")).to_be_focused()
    page.keyboard.type("variant_ui_tee_s")
    page.keyboard.press("Tab")
    expect(adding.get_by_label("Qikink SKU")).to_be_focused()
    page.keyboard.type("UI-TEE-WH-S")
    page.keyboard.press("Enter")
    expect(toast(page, "Qikink variant mapping created successfully.")).to_be_visible()
    expect(adding).to_be_hidden()
    row = page.locator("table.variants tbody tr").filter(has_text="variant_ui_tee_s")
    expect(row).to_contain_text("UI-TEE-WH-S")
    # What the store calls the variant, from Medusa, above its id.
    expect(cell(row, "Variant")).to_have_text("Organic Tee · S / Whitevariant_ui_tee_sSKU TEE-S-WH")
    assert server.gql(MAPPINGS_FOR_VARIANT, {"variant": "variant_ui_tee_s"})["productMappings"][
        "nodes"
    ] == [{"qikinkSkuId": "UI-TEE-WH-S"}]

    # A duplicate is refused with the service's CONFLICT message, and the dialog stays open.
    add.click()
    adding.get_by_label("Variant id").fill("variant_ui_tee_s")
    adding.get_by_label("Qikink SKU").fill("UI-TEE-BK-S")
    adding.get_by_role("button", name="Add Qikink Variant").click()
    expect(adding.get_by_role("alert")).to_have_text(
        "Variant variant_ui_tee_s is already mapped to Qikink SKU UI-TEE-WH-S."
    )
    expect(adding.get_by_label("Variant id")).to_have_attribute("aria-invalid", "true")
    # A variant the store does not have is refused before anything is stored.
    adding.get_by_label("Variant id").fill("variant_ui_typo")
    adding.get_by_role("button", name="Add Qikink Variant").click()
    expect(adding.get_by_role("alert")).to_have_text("No variant variant_ui_typo in Medusa.")
    expect(adding.get_by_label("Variant id")).to_have_attribute("aria-invalid", "true")
    page.keyboard.press("Escape")
    expect(adding).to_be_hidden()
    expect(add).to_be_focused()

    search = page.get_by_label("Search by variant id or SKU")
    for text in ("UI-TEE-WH-S", "variant_ui_tee_s"):
        search.fill("variant_nobody_mapped")
        search.press("Enter")
        expect(page.get_by_text("No mapping has the variant id or SKU")).to_be_visible()
        search.fill(text)
        search.press("Enter")
        expect(page.locator("table.variants tbody tr")).to_have_count(1)
        expect(row).to_be_visible()
    page.get_by_role("button", name="Clear").click()
    expect(search).to_be_focused()
    expect(row).to_be_visible()

    row.get_by_role("button", name="Update Qikink Variant for variant_ui_tee_s").click()
    updating = dialog(page, "Update Qikink Variant")
    sku = updating.get_by_label("Qikink SKU")
    expect(sku).to_be_focused()
    expect(sku).to_have_value("UI-TEE-WH-S")
    sku.fill("UI-TEE-WH-M")
    updating.get_by_role("button", name="Update Qikink Variant").click()
    expect(toast(page, "Qikink variant mapping updated.")).to_be_visible()
    expect(row).to_contain_text("UI-TEE-WH-M")

    delete = row.get_by_role("button", name="Delete Qikink Variant for variant_ui_tee_s")
    delete.click()
    confirming = dialog(page, "Delete Qikink Variant", "alertdialog")
    expect(confirming).to_contain_text("variant_ui_tee_s")
    expect(confirming.get_by_role("button", name="Cancel")).to_be_focused()
    confirming.get_by_role("button", name="Cancel").click()
    expect(confirming).to_be_hidden()
    expect(row).to_be_visible()
    delete.click()
    confirming.get_by_role("button", name="Delete Qikink Variant").click()
    expect(toast(page, "Qikink variant mapping removed.")).to_be_visible()
    expect(row).to_have_count(0)
    assert (
        server.gql(MAPPINGS_FOR_VARIANT, {"variant": "variant_ui_tee_s"})["productMappings"][
            "count"
        ]
        == 0
    )


def test_orders_refresh_on_open_and_show_a_status_change_after_refresh_status(
    tab: Tab, server: LiveServer, sim: SimulatorServer
) -> None:
    map_variant(server, "variant_ui_hoodie_m", "UI-HOODIE-M")
    place_order(server, "order_ui_status", "7001", "variant_ui_hoodie_m")
    qikink_id = wait_for_status(server, "order_ui_status", "SUBMITTED")["qikinkOrderId"]

    page = tab.sign_in()
    # The refresh that runs when the page opens reports in a toast.
    expect(
        toast(page, re.compile(r"Statuses refreshed: \d+ updated of \d+ processed"))
    ).to_be_visible()
    row = order_row(page, "order_ui_status")
    expect(cell(row, "Store order")).to_have_text("#7001order_ui_status")
    expect(cell(row, "Status")).to_have_text("Submitted")
    expect(cell(row, "Qikink order")).to_contain_text(qikink_id)
    expect(cell(row, "Qikink order")).to_contain_text("No. MD7001")
    expect(cell(row, "Qikink status")).to_have_text("On Hold")
    expect(cell(row, "Tracking")).to_have_text("—")

    status = page.get_by_label("Status", exact=True)
    status.select_option("SHIPPED")
    expect(page.get_by_text("No order has this status.")).to_be_visible()
    status.select_option("SUBMITTED")
    expect(row).to_be_visible()
    status.select_option("")

    search = page.get_by_label("Search by order id")
    for text in (qikink_id, "order_ui_status", "#7001", "7001"):
        search.fill("order_nobody_placed")
        page.get_by_role("button", name="Search").click()
        expect(page.get_by_text("No order has the number or id")).to_be_visible()
        search.fill(text)
        page.get_by_role("button", name="Search").click()
        expect(page.locator("table.orders tbody tr")).to_have_count(1)
        expect(row).to_be_visible()
    page.get_by_role("button", name="Clear").click()

    sim.sim.advance(int(qikink_id), "In-Transit", awb="1234567890123")
    # Qikink answers the next call a second late, so the progress can be seen.
    sim.sim.inject("timeout", delay=1.0)
    refresh = page.get_by_role("button", name=re.compile("Refresh"))
    refresh.click()
    expect(refresh).to_be_disabled()
    expect(refresh).to_have_text("Refreshing…")
    expect(page.get_by_role("progressbar")).to_be_visible()
    expect(
        toast(
            page,
            re.compile(
                r"Statuses refreshed: 1 updated of \d+ processed\. #7001 Submitted → Shipped\."
            ),
        )
    ).to_be_visible()
    expect(refresh).to_be_enabled()
    expect(refresh).to_have_text("Refresh status")
    expect(page.get_by_role("progressbar")).to_be_hidden()
    expect(cell(row, "Status")).to_have_text("Shipped")
    expect(cell(row, "Qikink status")).to_have_text("In-Transit")
    link = cell(row, "Tracking").get_by_role("link", name="Track 1234567890123")
    expect(link).to_have_attribute("href", "https://courierupdates.com/?awb=1234567890123")
    expect(cell(row, "Tracking")).to_contain_text("Delhivery")


def test_a_refused_order_shows_qikinks_message_and_is_sent_again_after_retry(
    tab: Tab, server: LiveServer, sim: SimulatorServer
) -> None:
    map_variant(server, "variant_ui_mug", "UI-MUG-11OZ")
    sim.sim.known_skus = {"SOME-OTHER-SKU"}
    try:
        place_order(server, "order_ui_refused", "7002", "variant_ui_mug")
        refused = wait_for_status(server, "order_ui_refused", "FAILED")
    finally:
        sim.sim.known_skus = None
    assert "Invalid SKU" in refused["lastError"]

    page = tab.sign_in()
    search = page.get_by_label("Search by order id")
    search.fill("order_ui_refused")
    search.press("Enter")
    row = order_row(page, "order_ui_refused")
    expect(page.locator("table.orders tbody tr")).to_have_count(1)
    expect(cell(row, "Status")).to_contain_text("Failed")
    expect(cell(row, "Status")).to_contain_text("Invalid SKU")
    retry = row.get_by_role("button", name="Retry order order_ui_refused")
    expect(retry).to_have_text("Retry")

    retry.click()
    expect(
        toast(page, "Order order_ui_refused is queued to be sent to Qikink again.")
    ).to_be_visible()
    # The page watches the queued order until the worker has sent it.
    expect(cell(row, "Status")).to_have_text("Submitted", timeout=15_000)
    expect(retry).to_have_count(0)
    done = order_mapping(server, "order_ui_refused")
    assert (done["status"], done["lastError"]) == ("SUBMITTED", None)
    assert sim.sim.order(int(done["qikinkOrderId"])) is not None


def test_an_order_canceled_in_the_store_says_what_the_merchant_must_do(
    tab: Tab, server: LiveServer
) -> None:
    map_variant(server, "variant_ui_hoodie", "UI-HOOD-BK")
    place_order(server, "order_ui_canceled", "7005", "variant_ui_hoodie")
    wait_for_status(server, "order_ui_canceled", "SUBMITTED")
    cancel = "mutation($id: ID!) { cancelMedusaOrder(orderId: $id) { outcome } }"
    outcome = server.gql(cancel, {"id": "order_ui_canceled"})["cancelMedusaOrder"]["outcome"]
    assert outcome == "CANCEL_ON_QIKINK"

    page = tab.sign_in()
    search = page.get_by_label("Search by order id")
    search.fill("order_ui_canceled")
    search.press("Enter")
    row = order_row(page, "order_ui_canceled")
    expect(cell(row, "Status")).to_contain_text(
        "Canceled in your store: cancel it on Qikink's dashboard."
    )


def test_both_pages_fit_desktop_and_phone_width_and_are_photographed(
    browser: Browser, server: LiveServer, sim: SimulatorServer
) -> None:
    for variant, sku in [("variant_ui_cap", "UI-CAP-BK"), ("variant_ui_tote", "UI-TOTE-NT")]:
        map_variant(server, variant, sku)
    sim.sim.known_skus = {"UI-CAP-BK"}
    try:
        place_order(server, "order_ui_tote", "7003", "variant_ui_tote")
        wait_for_status(server, "order_ui_tote", "FAILED")
    finally:
        sim.sim.known_skus = None
    place_order(server, "order_ui_cap", "7004", "variant_ui_cap")
    qikink_id = wait_for_status(server, "order_ui_cap", "SUBMITTED")["qikinkOrderId"]
    sim.sim.advance(int(qikink_id), "Printed")

    for name, viewport, scale in [("desktop", DESKTOP, 1), ("phone", PHONE, 2)]:
        context = browser.new_context(
            viewport=viewport,
            device_scale_factor=scale,
            is_mobile=name == "phone",
            has_touch=name == "phone",
        )
        tab = Tab(context, server)
        try:
            if name == "phone":
                screenshot(tab.open(), "signin-phone")
            page = tab.sign_in()
            expect(toast(page, "Statuses refreshed")).to_be_visible()
            expect(page.get_by_role("button", name="Refresh status")).to_be_enabled()
            expect(cell(order_row(page, "order_ui_cap"), "Status")).to_have_text("In production")
            expect(cell(order_row(page, "order_ui_tote"), "Status")).to_contain_text("Failed")
            assert_fits(page)
            if name == "phone":
                # A full-page shot would paint the fixed toast over the middle of the list.
                clear_toasts(page)
            screenshot(page, f"orders-{name}")

            page.get_by_role("link", name="Variant mappings").click()
            expect(page.locator("table.variants tbody tr").first).to_be_visible()
            clear_toasts(page)
            assert_fits(page)
            screenshot(page, f"variants-{name}")

            page.get_by_role("button", name="Add Qikink Variant").click()
            adding = dialog(page, "Add Qikink Variant")
            adding.get_by_label("Variant id").fill("variant_ui_cap")
            adding.get_by_label("Qikink SKU").fill("UI-CAP-WH")
            adding.get_by_role("button", name="Add Qikink Variant").click()
            expect(adding.get_by_role("alert")).to_contain_text("already mapped")
            page.screenshot(path=str(ARTIFACTS / f"variants-dialog-{name}.png"))
            page.keyboard.press("Escape")
        finally:
            context.close()
        tab.check_clean()


def assert_fits(page: Page) -> None:
    """Nothing sticks out sideways: the page scrolls only down."""
    widths = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], widths
