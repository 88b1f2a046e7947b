"""Issue 6's day in two real browsers: a dispatcher plans a day for 3 crews over 60 requests; a driver opens /crew
on a phone-sized screen, goes offline (Chrome's network emulation), resolves two stops, comes back online, and both
resolutions arrive exactly once; the dispatcher's map, open all along in the other browser, shows the changes
without reloading."""
import datetime
import html
import random
import re
import shutil
import sqlite3
import urllib.parse
import zoneinfo

import pytest
import requests
from selenium import webdriver
from selenium.webdriver.chrome.service import Service as ChromeService
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from conftest import Server, run
from test_identity import totp
from test_report_journey import DESKTOP, PHONE, Visit, main_button, markers_drawn, press


def chrome(metrics):
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,900"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=ChromeService(shutil.which("chromedriver") or "/usr/bin/chromedriver"), options=options)
    driver.set_page_load_timeout(30)
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
    return driver


@pytest.fixture
def browsers():
    dispatcher, phone = chrome(DESKTOP), chrome(PHONE)
    yield dispatcher, phone
    dispatcher.quit()
    phone.quit()


def sign_in(driver, base, site, tmp_path, email, role, department):
    code, out, err = run(["users", "add", "--email", email, "--role", role, "--department", department,
                          "--database", site.database_url], cwd=tmp_path)
    assert code == 0, err
    driver.get(base + re.search(r"/password/reset\?token=[0-9a-f]+", out).group(0))
    driver.find_element(By.NAME, "password").send_keys("a long passphrase here")
    press(driver, main_button(driver))
    driver.get(base + "/signin")
    driver.find_element(By.NAME, "email").send_keys(email)
    driver.find_element(By.NAME, "password").send_keys("a long passphrase here")
    press(driver, main_button(driver))
    otpauth = html.unescape(re.search(r'href="(otpauth://[^"]+)"', driver.page_source).group(1))
    secret = urllib.parse.parse_qs(urllib.parse.urlparse(otpauth).query)["secret"][0]
    driver.find_element(By.NAME, "code").send_keys(totp(secret))
    press(driver, main_button(driver))


def test_plan_three_crews_resolve_offline_and_the_map_follows(browsers, tmp_path):
    dispatcher, phone = browsers
    database = tmp_path / "data" / "civitas.sqlite"
    site = Server(tmp_path, "sqlite:" + str(database), env={"AUTH_BCRYPT_COST": "4", "MAP_TILE_URL": ""})
    try:
        base = site.base
        db = ["--database", site.database_url]
        # 60 open Public Works requests: the demo's, topped up through Open311.
        key = site.apikey()
        rng = random.Random(6)
        codes = ["BULKY", "MISSED", "DUMPING", "DIRTYALLEY"]
        def open_count():
            return sum(len(requests.get(f"{site.open311}/requests.json", params={"status": "open", "service_code": c}).json()) for c in codes)
        while open_count() < 60:
            code = rng.choice(["DUMPING", "DIRTYALLEY"])
            requests.post(site.open311 + "/requests.json", data={
                "api_key": key, "service_code": code, "lat": f"{39.25 + rng.random() * 0.09:.5f}", "long": f"{-76.68 + rng.random() * 0.1:.5f}"})
        # Tomorrow: a plan for today starts from now, and by the afternoon the crews' shifts are over.
        day = (datetime.datetime.now(zoneinfo.ZoneInfo("America/New_York")) + datetime.timedelta(days=1)).strftime("%Y-%m-%d")
        sign_in(dispatcher, base, site, tmp_path, "dispatch@city.gov", "supervisor", "Public Works")
        sign_in(phone, base, site, tmp_path, "driver@city.gov", "crew", "Public Works")
        # Three crews on a real shift (60 stops do not fit in one), the driver on call for all three.
        for name, depot in (("North", "39.33,-76.61"), ("South", "39.26,-76.61"), ("West", "39.30,-76.67")):
            code, _, err = run(["crews", "add", "--department", "Public Works", "--name", name, "--depot", depot, "--capacity", "100",
                                "--shift", "mon-sun 07:00-15:30", "--member", "driver@city.gov", *db], cwd=tmp_path)
            assert code == 0, err

        visit = Visit(dispatcher)
        dispatcher.get(f"{base}/staff/plan?department=Public+Works&date={day}")
        press(dispatcher, dispatcher.find_element(By.XPATH, "//button[normalize-space()='Plan this day now']"))
        headline = dispatcher.find_element(By.XPATH, "//h2[starts-with(., 'Plan, version')]/following-sibling::p").text
        planned, total = map(int, re.match(r"(\d+) of (\d+) requests planned", headline).groups())
        assert "staff:" not in headline and ", supervisor." in headline, headline
        assert total >= 60 and planned >= 50, headline
        busy = re.findall(r"<h3>(North|South|West) \((\d+)\)</h3>", dispatcher.page_source)
        assert len([name for name, count in busy if int(count) > 0]) >= 2, busy
        visit("dispatcher's plan for three crews")
        dispatcher.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", DESKTOP)
        dispatcher.get(base + "/staff")
        markers_drawn(dispatcher)

        # The driver's phone: the day's stops, kept by the service worker.
        phone.get(f"{base}/crew?date={day}")
        WebDriverWait(phone, 15).until(lambda d: d.execute_script("return !!navigator.serviceWorker.controller"))
        phone.get(f"{base}/crew?date={day}")
        stops = [int(s.get_attribute("id").split("-")[1]) for s in phone.find_elements(By.CSS_SELECTOR, "li.card[id^=stop-]")]
        assert len(stops) >= 2, phone.page_source[:400]
        phone.set_network_conditions(offline=True, latency=5, download_throughput=500 * 1024, upload_throughput=500 * 1024)
        # One step at a time: "Arrived" first, then the card asks what was done.
        for count, stop in enumerate(stops[:2], start=1):
            assert not phone.find_element(By.ID, f"done-{stop}").is_displayed()
            phone.find_element(By.XPATH, f"//li[@id='stop-{stop}']//button[contains(., 'Arrived')]").click()
            WebDriverWait(phone, 10).until(lambda d: d.find_element(By.ID, "crew-offline").get_attribute("data-pending") == str(2 * count - 1))
            phone.find_element(By.ID, f"done-{stop}").send_keys("Cleared.")
            phone.find_element(By.XPATH, f"//li[@id='stop-{stop}']//button[contains(., 'Resolved')]").click()
            WebDriverWait(phone, 10).until(lambda d: d.find_element(By.ID, "crew-offline").get_attribute("data-pending") == str(2 * count))
        phone.set_network_conditions(offline=False, latency=5, download_throughput=500 * 1024, upload_throughput=500 * 1024)
        WebDriverWait(phone, 20).until(lambda d: "notice=" in d.current_url)

        # Exactly once each, and the dispatcher's map, never reloaded, heard about both.
        connection = sqlite3.connect(database)
        assert sorted(connection.execute("SELECT service_request_id FROM crew_actions WHERE action = 'resolve'").fetchall()) == sorted((s,) for s in stops[:2])
        assert connection.execute("SELECT COUNT(*) FROM request_updates WHERE note = 'Cleared.'").fetchone()[0] == 2
        connection.close()
        WebDriverWait(dispatcher, 15).until(
            lambda d: (d.find_element(By.ID, "map").get_attribute("data-last-change") or "").endswith(":closed"))
        changed = int(dispatcher.find_element(By.ID, "map").get_attribute("data-last-change").split(":")[0])
        assert changed in stops[:2]
    finally:
        site.stop()
