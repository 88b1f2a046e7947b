"""Fills the demo city with 1,000 more open requests, signs a staff admin in (password and TOTP), then loads the
queue in headless Chromium several times and reports how long it takes until the map has drawn its markers."""
import argparse
import base64
import hashlib
import hmac
import html
import random
import re
import shutil
import statistics
import subprocess
import sys
import time
import urllib.parse

import requests
from selenium import webdriver
from selenium.webdriver.chrome.service import Service as ChromeService

parser = argparse.ArgumentParser()
for name in ("--base", "--binary", "--database", "--cwd"):
    parser.add_argument(name, required=True)
parser.add_argument("--extra", type=int, default=1000)
parser.add_argument("--runs", type=int, default=7)
args = parser.parse_args()


def cli(*words):
    done = subprocess.run([args.binary, *words, "--database", args.database], cwd=args.cwd, capture_output=True, text=True, check=True)
    return done.stdout


def totp(secret):
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    digest = hmac.new(key, int(time.time() // 30).to_bytes(8, "big"), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    return f"{(int.from_bytes(digest[offset:offset + 4], 'big') & 0x7FFFFFFF) % 1_000_000:06d}"


def csrf(text):
    return re.search(r'name="csrf" value="([0-9a-f]+)"', text).group(1)


# 1,000 more open requests across the city, through Open311 as any client would file them.
key = cli("apikey", "create", "--name", "staff-map-bench").strip()
rng = random.Random(311)
session = requests.Session()
started = time.time()
for _ in range(args.extra):
    service, answers = rng.choice([
        ("POTHOLE", {"attribute[SIZE]": "large"}), ("STREETLIGHT", {"attribute[PROBLEM]": "out"}),
        ("GRAFFITI", {"attribute[SURFACE]": "fence", "attribute[OFFENSIVE]": "no"})])
    response = session.post(args.base + "/open311/v2/requests.json", data={
        "api_key": key, "service_code": service, "lat": f"{39.20 + rng.random() * 0.16:.6f}",
        "long": f"{-76.71 + rng.random() * 0.18:.6f}", "description": "Benchmark request", **answers})
    assert response.status_code == 200, response.text
print(f"filed {args.extra} requests in {time.time() - started:.1f} s")

# A staff admin (all departments) signs in with a password and a second factor.
out = cli("users", "add", "--email", "bench@city.gov", "--role", "admin")
link = re.search(r"/password/reset\?token=[0-9a-f]+", out).group(0)
browser = requests.Session()
page = browser.get(args.base + link)
token = re.search(r'name="token" value="([0-9a-f]+)"', page.text).group(1)
browser.post(args.base + "/password/reset", data={"csrf": csrf(page.text), "token": token, "password": "benchmark passphrase"})
page = browser.get(args.base + "/signin")
page = browser.post(args.base + "/signin", data={"csrf": csrf(page.text), "email": "bench@city.gov", "password": "benchmark passphrase"})
secret = urllib.parse.parse_qs(urllib.parse.urlparse(html.unescape(re.search(r'href="(otpauth://[^"]+)"', page.text).group(1))).query)["secret"][0]
browser.post(args.base + "/account/two-factor", data={"csrf": csrf(page.text), "code": totp(secret)})
cookie = browser.cookies.get("civitas_session")
assert cookie, "not signed in"

# Server side: the queue page and its map data.
def timed(path, runs=20):
    times = []
    for _ in range(runs):
        begin = time.perf_counter()
        response = browser.get(args.base + path)
        times.append((time.perf_counter() - begin) * 1000)
        assert response.status_code == 200, response.status_code
    return statistics.median(times), max(times), response

median, worst, response = timed("/staff")
count = re.search(r"<strong>(\d+) requests", response.text).group(1)
print(f"GET /staff ({count} open requests, list of the 500 most urgent): median {median:.0f} ms, max {worst:.0f} ms, {len(response.content) // 1024} KiB")
median, worst, response = timed("/staff/map.json")
print(f"GET /staff/map.json ({len(response.json()['features'])} points): median {median:.0f} ms, max {worst:.0f} ms, {len(response.content) // 1024} KiB")

# The browser: navigation start until the markers are on the map.
options = webdriver.ChromeOptions()
options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,900"):
    options.add_argument(flag)
driver = webdriver.Chrome(service=ChromeService(shutil.which("chromedriver") or "/usr/bin/chromedriver"), options=options)
driver.get(args.base + "/healthz")
driver.add_cookie({"name": "civitas_session", "value": cookie, "path": "/"})
loads = []
for _ in range(args.runs):
    driver.get("about:blank")
    driver.get(args.base + "/staff")
    deadline = time.time() + 30
    while time.time() < deadline:
        drawn = driver.execute_script(
            "return document.querySelectorAll('.marker-cluster, .leaflet-marker-icon').length > 0 ? performance.now() : 0")
        if drawn:
            loads.append(drawn)
            break
        time.sleep(0.02)
    else:
        sys.exit(f"the map never drew its markers on {driver.current_url}: {driver.get_log('browser')[-5:]} {driver.page_source[:300]}")
driver.quit()
print(f"browser, /staff until the map shows its markers ({args.runs} loads): median {statistics.median(loads):.0f} ms, "
      f"max {max(loads):.0f} ms")
