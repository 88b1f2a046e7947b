"""The crew view offline, in Chromium on a phone-sized screen: the page and today's stops stay available without a
connection (a service worker), two stops reached and resolved offline are queued (each card offering one step at a
time), and when the connection returns every action reaches the server exactly once (idempotency keys)."""
import datetime
import sqlite3
import urllib.parse
import zoneinfo

import pytest
import requests
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from conftest import Server, run
from test_dispatch_day import chrome, sign_in
from test_report_journey import PHONE, Visit


# A JPEG with an Exif segment holding GPS coordinates, as a phone camera writes it.
_EXIF = b"Exif\x00\x00GPSLatitude 39.2904 GPSLongitude -76.6122"
JPEG_WITH_LOCATION = (
    b"\xff\xd8" + b"\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    + b"\xff\xe1" + (len(_EXIF) + 2).to_bytes(2, "big") + _EXIF
    + b"\xff\xdb\x00\x04\x00\x01" + b"\xff\xda\x00\x08\x01\x01\x00\x00\x3f\x00\x12\x34\x56\xff\xd9")


@pytest.fixture
def phone():
    driver = chrome(PHONE)
    yield driver
    driver.quit()


def test_a_crew_resolves_two_stops_offline_and_each_arrives_once(phone, tmp_path):
    database = tmp_path / "data" / "civitas.sqlite"
    site = Server(tmp_path, "sqlite:" + str(database), env={"AUTH_BCRYPT_COST": "4", "MAP_TILE_URL": ""})
    try:
        base = site.base
        db = ["--database", site.database_url]
        # The crew member signs in on the phone (set-up link, password, then the second factor).
        sign_in(phone, base, site, tmp_path, "cam@city.gov", "crew", "Public Works")
        code, _, err = run(["crews", "add", "--department", "Public Works", "--name", "Bulky 1", "--depot", "39.2904,-76.6122",
                            "--capacity", "100", "--shift", "mon-sun 00:00-24:00", "--member", "cam@city.gov", *db], cwd=tmp_path)
        assert code == 0, err
        # Tomorrow: a plan for today starts from now, and late in the evening the shift has little left.
        day = (datetime.datetime.now(zoneinfo.ZoneInfo("America/New_York")) + datetime.timedelta(days=1)).strftime("%Y-%m-%d")
        code, out, err = run(["plan", "--department", "Public Works", "--date", day, "--seconds", "1", "--save", *db], cwd=tmp_path)
        assert code == 0 and "Saved as version 1" in out, err

        visit = Visit(phone)
        phone.get(f"{base}/crew?date={day}")
        try:
            WebDriverWait(phone, 15).until(lambda d: d.execute_script("return !!navigator.serviceWorker.controller"))
        except Exception:
            probe = phone.execute_async_script(
                "const done = arguments[0]; navigator.serviceWorker.register('/crew-sw.js', {scope: '/crew'})"
                ".then(r => done([r.scope, !!r.active, !!r.installing, !!r.waiting, String(navigator.serviceWorker.controller)]), e => done(String(e)))")
            raise AssertionError(f"{phone.get_log('browser')} {probe}")
        phone.get(f"{base}/crew?date={day}")  # now through the service worker, which keeps a copy
        visit("crew day online")
        stops = [int(s.get_attribute("id").split("-")[1]) for s in phone.find_elements(By.CSS_SELECTOR, "li.card[id^=stop-]")]
        assert len(stops) >= 2, phone.page_source[:500]
        first, second = stops[:2]

        # No signal: both resolutions are kept on the phone, and the page stays as it is.
        phone.set_network_conditions(offline=True, latency=5, download_throughput=500 * 1024, upload_throughput=500 * 1024)
        assert phone.execute_script("return navigator.onLine") is False
        # The first resolution carries an "after" photo straight from the camera, with its location in it.
        photo = tmp_path / "after.jpg"
        photo.write_bytes(JPEG_WITH_LOCATION)
        # One step at a time: each card offers "Arrived" first, and only then asks what was done.
        for count, stop in enumerate((first, second), start=1):
            assert not phone.find_element(By.ID, f"done-{stop}").is_displayed()
            assert not phone.find_elements(By.XPATH, f"//li[@id='stop-{stop}']//button[contains(., 'Resolved')][not(ancestor::*[@hidden])]")
            phone.find_element(By.XPATH, f"//li[@id='stop-{stop}']//button[contains(., 'Arrived')]").click()
            WebDriverWait(phone, 10).until(
                lambda d: d.find_element(By.ID, "crew-offline").get_attribute("data-pending") == str(count))
            assert phone.find_element(By.ID, f"done-{stop}").is_displayed()
            assert not phone.find_elements(By.XPATH, f"//li[@id='stop-{stop}']//button[contains(., 'Arrived')]")
        phone.find_element(By.ID, f"photo-{first}").send_keys(str(photo))
        for count, (stop, note) in enumerate(((first, "Picked up the sofa."), (second, "Picked up two chairs.")), start=3):
            phone.find_element(By.ID, f"done-{stop}").send_keys(note)
            phone.find_element(By.XPATH, f"//li[@id='stop-{stop}']//button[contains(., 'Resolved')]").click()
            WebDriverWait(phone, 10).until(
                lambda d: d.find_element(By.ID, "crew-offline").get_attribute("data-pending") == str(count))
        assert "4 actions saved on this device" in phone.find_element(By.ID, "crew-offline").text
        visit("crew day offline, two actions waiting")
        # Opened again with no signal: the page, its map library and today's stops come from the phone, the
        # waiting actions are still counted.
        phone.refresh()
        WebDriverWait(phone, 10).until(lambda d: d.find_element(By.ID, "crew-offline").get_attribute("data-pending") == "4")
        assert phone.find_element(By.ID, f"stop-{first}").is_displayed()
        # The arrivals kept on the phone still count: the cards open at what was done.
        WebDriverWait(phone, 10).until(lambda d: d.find_element(By.ID, f"done-{first}").is_displayed())
        assert phone.execute_script("return typeof L") == "object", "Leaflet is kept for offline use"
        for stop in (first, second):
            assert requests.get(f"{site.open311}/requests/{stop}.json").json()[0]["status"] == "open", "nothing reached the server yet"

        # The connection returns: the queue is sent, and each resolution is applied exactly once.
        phone.set_network_conditions(offline=False, latency=5, download_throughput=500 * 1024, upload_throughput=500 * 1024)
        WebDriverWait(phone, 20).until(lambda d: "notice=" in d.current_url)
        assert "is resolved" in urllib.parse.unquote(phone.current_url)
        for stop in (first, second):
            # Open311 reads may be served from the 1-second cache: give it that second.
            WebDriverWait(phone, 5).until(
                lambda _: requests.get(f"{site.open311}/requests/{stop}.json").json()[0]["status"] == "closed")
        visit("crew day after sending")
        connection = sqlite3.connect(database)
        actions = connection.execute("SELECT service_request_id, outcome FROM crew_actions WHERE action = 'resolve' ORDER BY service_request_id").fetchall()
        notes = connection.execute(
            "SELECT COUNT(*) FROM request_updates WHERE note IN ('Picked up the sofa.', 'Picked up two chairs.')").fetchone()[0]
        photos = connection.execute("SELECT service_request_id, media_id FROM request_photos").fetchall()
        stored = connection.execute("SELECT bytes FROM media WHERE id = ?", (photos[0][1],)).fetchone()[0] if photos else b""
        connection.close()
        assert [stop for stop, _ in photos] == [first], "the photo kept offline arrived once, with its stop"
        assert b"GPSLatitude" not in stored, "the photo's location was removed"
        assert sorted(actions) == sorted([(first, "applied"), (second, "applied")])
        assert notes == 2, "each resolution recorded once"
    finally:
        site.stop()
