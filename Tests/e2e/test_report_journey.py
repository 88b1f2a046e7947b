"""The 311 journey in a real browser (Debian's Chromium through Selenium), with real mail (aiosmtpd):

1. a resident reports a bulky-item pickup on a phone-sized screen;
2. a second resident starts the same report, is offered the first one as a duplicate and follows it instead;
3. a third resident files the same problem anyway (an independent duplicate);
4. staff merge the third into the first and close it (and at the end undo the merge);
5. all three residents get the closure mail.

Every page visited passes axe-core (WCAG 2.2 A/AA and best practices) at 360 px without sideways scrolling, and a
screenshot of each at 360 and 1280 px is saved under $CIVITAS_TEST_ARTIFACTS/screenshots."""
import html
import os
import pathlib
import re
import shutil
import urllib.parse

import pytest
import requests
from aiosmtpd.controller import Controller
from selenium import webdriver
from selenium.webdriver.chrome.service import Service as ChromeService
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from conftest import ROOT, Server, free_port, run, wait_until_gone
from test_identity import Mailbox, totp
from test_pages_accessibility import AXE, RULES

ARTIFACTS = pathlib.Path(os.environ.get("CIVITAS_TEST_ARTIFACTS", ROOT / ".build" / "test-artifacts")) / "screenshots"
ADDRESS = "3400 Garrison Blvd"  # in Baltimore's 311 records, which the demo turns into address points
PHONE = {"width": 360, "height": 780, "deviceScaleFactor": 2, "mobile": True}
DESKTOP = {"width": 1280, "height": 900, "deviceScaleFactor": 1, "mobile": False}


@pytest.fixture(scope="module")
def driver():
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,900"):
        options.add_argument(flag)
    chrome = webdriver.Chrome(service=ChromeService(shutil.which("chromedriver") or "/usr/bin/chromedriver"), options=options)
    chrome.set_page_load_timeout(30)
    chrome.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", PHONE)
    yield chrome
    chrome.quit()


@pytest.fixture
def mailbox():
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=free_port())
    controller.start()
    box.port = controller.port
    yield box
    controller.stop()


class Visit:
    """Checks and photographs every page the journey reaches."""

    def __init__(self, driver):
        self.driver = driver
        self.count = 0
        ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def __call__(self, name):
        self.count += 1
        slug = f"{self.count:02d}-" + re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
        for metrics in (DESKTOP, PHONE):
            self.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
            self.driver.save_screenshot(str(ARTIFACTS / f"{slug}-{metrics['width']}.png"))
        self.driver.execute_script(AXE)
        results = self.driver.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "axe.run(document, {runOnly: {type: 'tag', values: arguments[0]}}).then(done, e => done({violations: [{id: 'axe-error', help: String(e), nodes: []}]}));",
            RULES)
        violations = [(v["id"], v["help"], [n["target"] for n in v["nodes"]][:3]) for v in results["violations"]]
        assert violations == [], f"{name}: {violations}"
        viewport, width = self.driver.execute_script("return [window.innerWidth, document.documentElement.scrollWidth]")
        assert viewport == 360 and width <= viewport, f"{name} scrolls sideways: {width}px in {viewport}px"


def press(driver, element):
    """Activates a button or link with the keyboard, as a phone's keyboard user would, and waits for the next page."""
    element.send_keys(Keys.ENTER)
    wait_until_gone(driver, element)
    WebDriverWait(driver, 15).until(lambda d: d.execute_script("return document.readyState") == "complete")


def markers_drawn(driver):
    """The page's script ran: the map fetched its points and drew them (clustered or not)."""
    WebDriverWait(driver, 10).until(lambda d: d.find_elements(By.CSS_SELECTOR, ".marker-cluster, .leaflet-marker-icon"))
    errors = [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
    assert errors == [], errors


def main_button(driver):
    return driver.find_element(By.CSS_SELECTOR, "main form:last-of-type button[type=submit]")


def report(driver, visit, base, email, name, choose_duplicate=None, different=False):
    """Walks the report pages; returns the new request's id, or the id followed instead."""
    driver.delete_all_cookies()
    driver.get(base + "/")
    visit("home")
    press(driver, driver.find_element(By.LINK_TEXT, "Report a problem"))
    visit("choose a service")
    driver.find_element(By.CSS_SELECTOR, "label[for=service-BULKY]").click()
    press(driver, main_button(driver))
    visit("bulky item questions")
    driver.find_element(By.CSS_SELECTOR, "label[for=attr_ITEMS-1]").click()
    driver.find_element(By.NAME, "attr_COUNT").send_keys("2")
    press(driver, main_button(driver))

    # Location: type, pick the suggestion with the keyboard (the script fills the spot), continue.
    visit("location")
    field = driver.find_element(By.ID, "address")
    field.send_keys(ADDRESS)
    WebDriverWait(driver, 10).until(
        lambda d: any(ADDRESS in li.text for li in d.find_elements(By.CSS_SELECTOR, "#address-suggestions li")))
    field.send_keys(Keys.ARROW_DOWN)
    field.send_keys(Keys.ENTER)
    WebDriverWait(driver, 5).until(lambda d: d.find_element(By.ID, "lat").get_attribute("value"))
    press(driver, main_button(driver))

    if "/duplicates" in driver.current_url:
        visit("is this the same problem")
        if choose_duplicate:
            link = driver.find_element(By.CSS_SELECTOR, f"a[href$='/follow/{choose_duplicate}']")
            press(driver, link)
            visit("follow instead")
            driver.find_element(By.ID, "email").send_keys(email)
            press(driver, main_button(driver))
            visit("following")
            assert f"You are following report {choose_duplicate}" in driver.page_source
            return choose_duplicate
        press(driver, driver.find_element(By.PARTIAL_LINK_TEXT, "different problem"))
    else:
        assert not choose_duplicate, "the earlier report should have been offered as a duplicate"
        assert not different, "this report should have been offered duplicates"

    visit("describe the problem")
    driver.find_element(By.ID, "description").send_keys("An old sofa and a mattress on the sidewalk")
    press(driver, main_button(driver))
    visit("contact details")
    driver.find_element(By.ID, "name").send_keys(name)
    driver.find_element(By.ID, "email").send_keys(email)
    press(driver, main_button(driver))
    visit("check your answers")
    assert ADDRESS in driver.page_source
    press(driver, main_button(driver))
    visit("report sent")
    reference = driver.find_element(By.CSS_SELECTOR, ".reference").text
    assert re.fullmatch(r"\d+", reference), reference
    return int(reference)


def staff_sign_in(driver, visit, base, site, tmp_path):
    code, out, err = run(["users", "add", "--email", "dispatch@city.gov", "--role", "supervisor", "--department", "Public Works",
                          "--database", site.database_url], cwd=tmp_path)
    assert code == 0, err
    link = re.search(r"/password/reset\?token=[0-9a-f]+", out).group(0)
    driver.delete_all_cookies()
    driver.get(base + link)
    driver.find_element(By.NAME, "password").send_keys("dispatcher passphrase")
    press(driver, main_button(driver))
    driver.get(base + "/signin")
    driver.find_element(By.NAME, "email").send_keys("dispatch@city.gov")
    driver.find_element(By.NAME, "password").send_keys("dispatcher passphrase")
    press(driver, main_button(driver))
    otpauth = html.unescape(re.search(r'href="(otpauth://[^"]+)"', driver.page_source).group(1))
    secret = urllib.parse.parse_qs(urllib.parse.urlparse(otpauth).query)["secret"][0]
    driver.find_element(By.NAME, "code").send_keys(totp(secret))
    press(driver, main_button(driver))


def test_report_follow_merge_close_and_everyone_hears(driver, mailbox, tmp_path):
    site = Server(tmp_path, "sqlite:" + str(tmp_path / "data" / "civitas.sqlite"), env={
        "MAIL_SMTP_HOST": "127.0.0.1", "MAIL_SMTP_PORT": str(mailbox.port), "MAIL_FROM": "noreply@city.example",
        "AUTH_BCRYPT_COST": "4", "MAP_TILE_URL": ""})
    try:
        base = site.base
        visit = Visit(driver)
        # The demo's address points come from Tests/Fixtures (conftest), which holds this address.
        assert requests.get(base + "/addresses", params={"q": ADDRESS}).json(), "the address fixture should hold " + ADDRESS

        first = report(driver, visit, base, "ana@example.org", "Ana")
        mailbox.wait_for("ana@example.org", f"We received your report {first}")
        followed = report(driver, visit, base, "ben@example.org", "Ben", choose_duplicate=first)
        assert followed == first
        third = report(driver, visit, base, "cy@example.org", "Cy", different=True)
        assert third != first

        # The public page of the first report counts its follower and shows no one's details.
        driver.get(f"{base}/requests/{first}")
        visit("public request page")
        assert "ana@example.org" not in driver.page_source and "Ana" not in driver.page_source
        driver.get(base + "/requests")
        markers_drawn(driver)
        visit("public list and map")

        # Staff: the third is a likely duplicate of the first, explained in words; merge it, then close the first.
        staff_sign_in(driver, visit, base, site, tmp_path)
        driver.get(base + "/staff?service=BULKY")
        markers_drawn(driver)
        visit("staff queue")
        # The map is live: a report filed elsewhere shows up without reloading the page.
        filed = requests.post(site.open311 + "/requests.json", data={
            "api_key": site.apikey(), "service_code": "BULKY", "lat": "39.30", "long": "-76.61",
            "attribute[ITEMS][]": "furniture", "attribute[COUNT]": "1"}).json()
        live_id = filed[0]["service_request_id"]
        WebDriverWait(driver, 15).until(
            lambda d: (d.find_element(By.ID, "map").get_attribute("data-last-change") or "").startswith(f"{live_id}:open"))
        assert f"request {live_id} changed" in driver.find_element(By.ID, "live-status").text
        driver.get(f"{base}/staff/requests/{first}")
        visit("staff request page")
        assert re.search(rf"#{third}</a>: same service, 0 m away, opened", driver.page_source), "the duplicate is explained"
        driver.find_element(By.CSS_SELECTOR, f"label[for=dup-{third}]").click()
        press(driver, driver.find_element(By.XPATH, "//form[contains(@action, '/merge')]//button"))
        visit("merge: check before saving")
        assert f"#{third} will close as duplicates of #{first}" in driver.page_source
        press(driver, driver.find_element(By.XPATH, "//button[normalize-space()='Yes, save']"))
        visit("after the merge")
        assert f"Merged #{third} into this request" in driver.page_source
        mailbox.wait_for("cy@example.org", f"is now followed as {first}")

        status = driver.find_element(By.ID, "status")
        status.send_keys("Closed")
        driver.find_element(By.ID, "note").send_keys("Collected this morning. Thank you for reporting it.")
        # Notes are for staff only unless the public is chosen.
        assert driver.find_element(By.ID, "visibility-internal").is_selected()
        driver.find_element(By.CSS_SELECTOR, "label[for=visibility-public]").click()
        press(driver, driver.find_element(By.XPATH, "//button[normalize-space()='Save']"))
        visit("close: check before saving")
        assert "The request will be closed." in driver.page_source and "This note will be public" in driver.page_source
        assert "Collected this morning." in driver.find_element(By.CSS_SELECTOR, ".note-preview").text
        press(driver, driver.find_element(By.XPATH, "//button[normalize-space()='Yes, save']"))
        visit("closed by staff")
        assert "The request is closed." in driver.page_source

        for resident in ("ana@example.org", "ben@example.org", "cy@example.org"):
            message = mailbox.wait_for(resident, f"Your request {first} is closed")
            body = message.get_body(("plain",)).get_content()
            assert "Collected this morning" in body and f"/requests/{first}" in body
            assert message["List-Unsubscribe"], "every notice can be stopped in one click"

        # The dispatcher plans a Tuesday for a crew and reads the itinerary on the page and the map.
        code, _, err = run(["crews", "add", "--department", "Public Works", "--name", "Bulky 1", "--depot", "39.2904,-76.6122",
                            "--capacity", "40", "--member", "dispatch@city.gov", "--database", site.database_url], cwd=tmp_path)
        assert code == 0, err
        driver.get(base + "/staff/plan?department=Public+Works&date=2026-11-24")
        visit("day plan, not yet planned")
        press(driver, driver.find_element(By.XPATH, "//button[normalize-space()='Plan this day now']"))
        assert "Plan, version 1" in driver.page_source and "Bulky 1 does " in driver.page_source
        markers_drawn(driver)
        visit("day plan")
        # The crew's phone view of that day: stops in order, directions, arrived / resolved / can't do.
        driver.get(base + "/crew?date=2026-11-24")
        assert "Bulky 1" in driver.page_source and "Directions" in driver.page_source
        visit("crew day")

        driver.get(f"{base}/requests/{third}")
        visit("merged request page")
        assert f"/requests/{first}" in driver.page_source

        # The merge was a mistake: staff undo it from the surviving request's page, by keyboard, asked first.
        driver.get(f"{base}/staff/requests/{first}")
        press(driver, driver.find_element(By.XPATH, f"//button[normalize-space()='Undo the merge of #{third}']"))
        visit("undo the merge: check before saving")
        assert f"#{third} will be separated from #{first}" in driver.page_source
        press(driver, driver.find_element(By.XPATH, "//button[normalize-space()='Yes, save']"))
        visit("merge undone")
        assert f"Merge undone: #{third} is open again." in driver.page_source
        # Open311 reads may be served from the 1-second cache: give it that second.
        WebDriverWait(driver, 5).until(lambda _: requests.get(f"{site.open311}/requests/{third}.json").json()[0]["status"] == "open")
        assert len(list(ARTIFACTS.glob("*-360.png"))) >= visit.count and len(list(ARTIFACTS.glob("*-1280.png"))) >= visit.count
    finally:
        site.stop()
