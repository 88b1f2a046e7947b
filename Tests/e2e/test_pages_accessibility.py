"""The account pages in a real browser (Debian's Chromium, driven by Selenium) at 360 pixels wide: axe-core finds no
violations on any of them, nothing scrolls sideways, and sign-in works with the keyboard alone."""
import html
import importlib.util
import io
import pathlib
import re
import shutil
import urllib.parse

import pytest
import zxingcpp
from PIL import Image
from selenium import webdriver
from selenium.webdriver.chrome.service import Service as ChromeService
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from conftest import Server, run, wait_until_gone
from test_identity import totp


@pytest.fixture(scope="module")
def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage"):
        options.add_argument(flag)
    # A phone: 360 CSS pixels wide (a desktop window cannot be made that narrow in headless Chromium).
    options.add_experimental_option("mobileEmulation", {"deviceMetrics": {"width": 360, "height": 780, "pixelRatio": 2}})
    driver = webdriver.Chrome(service=ChromeService(shutil.which("chromedriver") or "/usr/bin/chromedriver"), options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


@pytest.fixture
def site(tmp_path):
    server = Server(tmp_path, "sqlite:" + str(tmp_path / "data" / "civitas.sqlite"), env={"AUTH_BCRYPT_COST": "4"})
    yield server
    server.stop()


# axe-core as bundled in the PyPI package axe-playwright-python (installed without Playwright: only its copy of
# axe.min.js is used, injected through Selenium).
AXE = (pathlib.Path(importlib.util.find_spec("axe_playwright_python").submodule_search_locations[0]) / "axe.min.js").read_text()
RULES = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]


def check(driver, name):
    """axe-core (WCAG 2.0, 2.1 and 2.2 A and AA rules, and best practices) finds nothing; the page fits 360 px."""
    driver.execute_script(AXE)
    results = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {runOnly: {type: 'tag', values: arguments[0]}}).then(done, e => done({violations: [{id: 'axe-error', help: String(e), nodes: []}]}));",
        RULES)
    violations = [(v["id"], v["help"], [n["target"] for n in v["nodes"]][:3]) for v in results["violations"]]
    assert violations == [], f"{name}: {violations}"
    viewport, width = driver.execute_script("return [window.innerWidth, document.documentElement.scrollWidth]")
    assert viewport == 360, viewport
    assert width <= viewport, f"{name} scrolls sideways: {width}px"


def submit(driver, button=None, keyboard=False):
    """Presses the page's main button (or `button`) and waits for the next page."""
    button = button or driver.find_element(By.CSS_SELECTOR, "main button[type=submit]")
    if keyboard:
        button.send_keys(Keys.ENTER)
    else:
        button.click()
    wait_until_gone(driver, button)


def fill(driver, **fields):
    for name, value in fields.items():
        element = driver.find_element(By.NAME, name)
        element.clear()
        element.send_keys(value)


def test_account_pages_pass_axe_on_a_phone_and_work_by_keyboard(browser, site, tmp_path):
    base = site.base
    for path in ["/signin", "/register", "/password/forgot", "/password/reset?token=expired", "/verify-email?token=expired",
                 "/contact", "/accessibility", "/privacy", "/contact?lang=es", "/accessibility?lang=es", "/privacy?lang=es"]:
        browser.get(base + path)
        check(browser, path)
    browser.get(base + "/signin?lang=en")

    # Registration with errors shows the error summary, linked to the fields.
    browser.get(base + "/register")
    fill(browser, email="not-an-address", password="short")
    submit(browser, keyboard=True)
    assert "There is a problem" in browser.page_source
    check(browser, "/register with errors")
    fill(browser, email="ana@example.org", password="a long enough passphrase")
    submit(browser)
    assert "Check your email" in browser.page_source
    check(browser, "check your email")

    # Keyboard only: Tab from the top of the sign-in page reaches the fields in order, Enter submits.
    browser.delete_all_cookies()
    browser.get(base + "/signin")
    body = browser.find_element(By.TAG_NAME, "body")
    body.send_keys(Keys.TAB)
    focused = []
    for _ in range(8):
        active = browser.switch_to.active_element
        focused.append(active.get_attribute("name") or active.get_attribute("href") or active.tag_name)
        if active.get_attribute("name") == "email":
            active.send_keys("ana@example.org")
        if active.get_attribute("name") == "password":
            active.send_keys("a long enough passphrase" + Keys.ENTER)
            WebDriverWait(browser, 15).until(expected_conditions.url_contains("/account"))
            break
        active.send_keys(Keys.TAB)
    assert "email" in focused and "password" in focused, focused
    assert browser.current_url.endswith("/account"), browser.current_url
    check(browser, "/account (resident)")
    # The account's own changes: a refused phone number, then a new password, each by the form on the page.
    fill(browser, phone="call me")
    submit(browser, browser.find_element(By.CSS_SELECTOR, "form[action='/account/details'] button"))
    assert "at least 7 digits" in browser.page_source
    check(browser, "/account with a refused phone number")
    fill(browser, **{"current-password": "a long enough passphrase", "new-password": "another long passphrase"})
    submit(browser, browser.find_element(By.CSS_SELECTOR, "form[action='/account/password'] button"))
    assert "Your password is changed." in browser.page_source
    check(browser, "/account after a password change")

    # Staff: set-up link, password, two-factor set-up, recovery codes, console, account with tokens.
    code, out, err = run(["users", "add", "--email", "sam@city.gov", "--role", "supervisor", "--department", "Transportation",
                          "--database", site.database_url], cwd=tmp_path)
    assert code == 0, err
    link = re.search(r"/password/reset\?token=[0-9a-f]+", out).group(0)
    browser.delete_all_cookies()
    browser.get(base + link)
    check(browser, "choose your password")
    fill(browser, password="supervisor passphrase")
    submit(browser)
    check(browser, "password saved")
    browser.get(base + "/signin")
    fill(browser, email="sam@city.gov", password="supervisor passphrase")
    submit(browser)
    assert browser.current_url.endswith("/account/two-factor")
    check(browser, "/account/two-factor")
    otpauth = html.unescape(re.search(r'href="(otpauth://[^"]+)"', browser.page_source).group(1))
    secret = urllib.parse.parse_qs(urllib.parse.urlparse(otpauth).query)["secret"][0]
    # The QR code on the page, as a phone's camera sees it, holds the same key (read by an independent decoder).
    picture = Image.open(io.BytesIO(browser.find_element(By.CSS_SELECTOR, ".qr svg").screenshot_as_png))
    scanned = [result.text for result in zxingcpp.read_barcodes(picture)]
    assert scanned == [otpauth], scanned
    fill(browser, code=totp(secret))
    submit(browser)
    assert "Save your recovery codes" in browser.page_source
    check(browser, "recovery codes")
    browser.get(base + "/staff")
    check(browser, "/staff")
    browser.get(base + "/account")
    fill(browser, name="nightly export")
    submit(browser, browser.find_element(By.XPATH, "//button[contains(., 'Create token')]"))
    assert "civp_" in browser.page_source
    check(browser, "/account (staff, new token)")


def test_resident_pages_pass_axe_in_spanish(browser, site, tmp_path):
    """The pages residents use, read in Spanish: axe finds nothing, the page says it is Spanish, nothing scrolls sideways."""
    base = site.base
    browser.delete_all_cookies()
    browser.get(base + "/?lang=es")

    def spanish(name):
        assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "es", name
        check(browser, "es " + name)

    for path in ["/", "/report", "/report?q=bache", "/requests", "/find", "/cases", "/cases/unemployment-claim", "/signin", "/register",
                 "/password/forgot", "/contact", "/accessibility", "/privacy"]:
        browser.get(base + path)
        spanish(path)
    browser.get(base + "/requests")
    first = browser.find_element(By.CSS_SELECTOR, "main a[href^='/requests/']").get_attribute("href")
    browser.get(first)
    spanish("a report")

    # A report begun in Spanish: the first question, then the same page refusing an empty answer.
    browser.get(base + "/report")
    radio = browser.find_element(By.CSS_SELECTOR, "input[type=radio][name=service]")
    browser.execute_script("arguments[0].click()", radio)
    submit(browser, browser.find_element(By.XPATH, "//form[@method='post']//button[@type='submit']"))
    spanish("report: first step")
    submit(browser, browser.find_element(By.XPATH, "//main//form[@method='post']//button[@type='submit']"))
    spanish("report: first step again")

    # A resident's account and an application, in Spanish.
    browser.get(base + "/register")
    fill(browser, email="rosa@example.org", password="una frase bastante larga")
    submit(browser)
    browser.get(base + "/signin")
    fill(browser, email="rosa@example.org", password="una frase bastante larga")
    submit(browser)
    for path in ["/account", "/my/requests", "/my/cases"]:
        browser.get(base + path)
        spanish(path)
    browser.get(base + "/cases/unemployment-claim")
    submit(browser, browser.find_element(By.XPATH, "//form[contains(@action, '/start')]//button"))
    assert "/questions/full_name" in browser.current_url, browser.current_url
    spanish("application: a question")
    submit(browser, browser.find_element(By.CSS_SELECTOR, "button[name=continue]"))
    assert "Responda" in browser.page_source
    spanish("application: an answer needed")
    case = browser.current_url.split("/my/cases/")[1].split("/")[0]
    browser.get(base + f"/my/cases/{case}/questions/birth_date")
    assert browser.find_element(By.ID, "answer-day").location["x"] < browser.find_element(By.ID, "answer-month").location["x"]
    spanish("application: a date")
    for path in [f"/my/cases/{case}/check", f"/my/cases/{case}"]:
        browser.get(base + path)
        spanish(path)
    submit(browser, browser.find_element(By.XPATH, "//button[contains(., 'Cancelar esta solicitud')]"))
    spanish("application: cancel?")
    submit(browser, browser.find_element(By.XPATH, "//button[contains(., 'Sí, cancelarla')]"))
    assert "Solicitud cancelada" in browser.page_source
    spanish("application: cancelled")
