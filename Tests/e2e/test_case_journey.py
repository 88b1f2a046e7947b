"""Issue 7's journey in real browsers (Debian's Chromium through Selenium), every page checked by axe-core at 360 px:

1. a resident applies for unemployment insurance on a phone-sized window, one question per page, saves half-way,
   signs out, comes back and carries on where the answers stop, checks the answers and sends the claim;
2. an agent pulls the case from the queue and asks for proof of identity;
3. the resident sees what is needed, uploads it from the phone and sends it;
4. the agent approves;
5. the resident sees the decision with its explanation in plain words."""
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select

from conftest import Server, run
from test_dispatch_day import chrome, sign_in
from test_report_journey import PHONE, Visit, main_button, press

ANSWERS = {
    "full_name": "Maria Lopez", "birth_date": "1988-04-02", "mailing_address": "12 Elm St, Santa Fe NM", "phone": "505 555 0100",
    "last_employer": "Acme Foods", "last_day_worked": "2026-10-30", "separation_reason": "laid_off", "weekly_earnings": "120",
    "able_and_available": "yes",
}
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


@pytest.fixture
def browsers():
    resident, agent = chrome(PHONE), chrome(PHONE)
    yield resident, agent
    resident.quit()
    agent.quit()


def resident_sign_in(driver, base, email, password):
    driver.get(base + "/signin")
    driver.find_element(By.NAME, "email").send_keys(email)
    driver.find_element(By.NAME, "password").send_keys(password)
    press(driver, main_button(driver))


def answer_current(driver):
    """Answers the question on screen from ANSWERS, by keyboard where the browser allows it."""
    key = driver.current_url.split("/questions/")[1].split("?")[0]
    value = ANSWERS[key]
    radios = driver.find_elements(By.CSS_SELECTOR, "input[type=radio][name=answer]")
    if radios:
        choice = driver.find_element(By.ID, f"answer-{value}")
        driver.execute_script("arguments[0].focus()", choice)
        choice.send_keys(" ")
        assert choice.is_selected()
    elif driver.find_elements(By.ID, "answer-day"):
        # A date: three boxes, typed as a person would (the order on screen is the reader's).
        year, month, day = value.split("-")
        for name, part in (("day", day.lstrip("0")), ("month", month.lstrip("0")), ("year", year)):
            box = driver.find_element(By.ID, f"answer-{name}")
            box.clear()
            box.send_keys(part)
    else:
        field = driver.find_element(By.ID, "answer")
        field.clear()
        field.send_keys(value)
    return key


def test_apply_save_return_send_document_requested_approved_and_explained(browsers, tmp_path):
    phone, agent = browsers
    site = Server(tmp_path, "sqlite:" + str(tmp_path / "data" / "civitas.sqlite"), env={"AUTH_BCRYPT_COST": "4", "MAP_TILE_URL": ""})
    try:
        base = site.base
        visit_phone, visit_agent = Visit(phone), Visit(agent)

        # A resident makes an account on the phone and signs in.
        phone.get(base + "/register")
        phone.find_element(By.NAME, "email").send_keys("maria@example.org")
        phone.find_element(By.NAME, "password").send_keys("four words make a password")
        press(phone, main_button(phone))
        resident_sign_in(phone, base, "maria@example.org", "four words make a password")
        phone.get(base + "/cases")
        visit_phone("apply: kinds of cases")
        assert "Training or reassignment request" not in phone.page_source, "staff-only kinds are not offered"
        press(phone, phone.find_element(By.XPATH, "//li[.//h2[contains(., 'Unemployment insurance claim')]]//a[contains(@class, 'button')]"))
        visit_phone("apply: start page")
        assert "Who can apply" in phone.page_source and "How long it takes" in phone.page_source
        press(phone, phone.find_element(By.XPATH, "//button[normalize-space()='Start now']"))
        case_id = phone.current_url.split("/my/cases/")[1].split("/")[0]

        # Four questions, then save and leave.
        for step in range(4):
            visit_phone(f"apply: question {step + 1}")
            answer_current(phone)
            press(phone, phone.find_element(By.CSS_SELECTOR, "button[name=continue]"))
        answer_current(phone)
        press(phone, phone.find_element(By.CSS_SELECTOR, "button[name=save]"))
        assert f"/my/cases/{case_id}" in phone.current_url
        visit_phone("apply: saved for later")
        press(phone, phone.find_element(By.CSS_SELECTOR, "form[action='/signout'] button"))

        # Back later: the application carries on where the answers stop.
        resident_sign_in(phone, base, "maria@example.org", "four words make a password")
        phone.get(base + "/my/cases")
        visit_phone("my applications: a draft")
        press(phone, phone.find_element(By.PARTIAL_LINK_TEXT, "Unemployment insurance claim"))
        press(phone, phone.find_element(By.LINK_TEXT, "Continue the application"))
        assert phone.current_url.endswith("/questions/last_day_worked"), phone.current_url
        while "/questions/" in phone.current_url:
            key = answer_current(phone)
            if key == "weekly_earnings":
                visit_phone("apply: money question")
            press(phone, phone.find_element(By.CSS_SELECTOR, "button[name=continue]"))
        assert phone.current_url.endswith("/check")
        visit_phone("apply: check your answers")
        assert "$120" in phone.page_source and "Did you quit" not in phone.page_source
        # Change one answer: the question, then straight back to the check page.
        press(phone, phone.find_element(By.CSS_SELECTOR, "a[href*='/questions/last_employer?return=check']"))
        field = phone.find_element(By.ID, "answer")
        field.clear()
        field.send_keys("Acme Foods Inc")
        press(phone, phone.find_element(By.CSS_SELECTOR, "button[name=continue]"))
        assert phone.current_url.endswith("/check"), phone.current_url
        assert "Acme Foods Inc" in phone.page_source
        press(phone, phone.find_element(By.XPATH, "//button[contains(., 'Send the application')]"))
        visit_phone("my case: sent")
        assert phone.current_url.endswith(f"/my/cases/{case_id}/sent"), phone.current_url
        main = phone.find_element(By.TAG_NAME, "main").text
        assert "Application sent" in main and f"#{case_id}" in main and "What happens next" in main
        assert "We have your claim and will start on it soon." in main

        # The agent pulls the next case and asks for proof of identity.
        sign_in(agent, base, site, tmp_path, "ana@labor.gov", "agent", "Workforce Solutions")
        code, _, err = run(["cases", "skills", "ana@labor.gov", "--skills", "ui", "--database", site.database_url], cwd=tmp_path)
        assert code == 0, err
        agent.get(base + "/staff/cases")
        visit_agent("staff: cases")
        press(agent, agent.find_element(By.XPATH, "//button[contains(., 'Next case')]"))
        assert agent.current_url.endswith(f"/staff/cases/{case_id}"), agent.current_url
        visit_agent("staff: the pulled case")
        press(agent, agent.find_element(By.XPATH, "//button[contains(., 'Start the review')]"))
        # The answers on one page, as staff fill them in for a caller (checked by axe, not changed here).
        agent.get(base + f"/staff/cases/{case_id}/answers")
        visit_agent("staff: the answers form")
        assert agent.find_element(By.ID, "answer-last_employer").get_attribute("value") == "Acme Foods Inc"
        agent.get(base + f"/staff/cases/{case_id}")
        agent.find_element(By.ID, "reason-request_documents").send_keys("Please upload a photo or scan of your ID.")
        box = agent.find_element(By.ID, "documents-request_documents-proof_of_identity")
        agent.execute_script("arguments[0].focus()", box)
        box.send_keys(" ")
        press(agent, agent.find_element(By.XPATH, "//button[contains(., 'Ask the claimant for documents')]"))
        visit_agent("staff: waiting on the claimant")

        # The claimant's sister calls to help: the agent records her as an authorised representative, keyboard only.
        # A name left blank is refused on the form, which opens again with the error by the field.
        summary = agent.find_element(By.XPATH, "//summary[contains(., 'Add a person to this case')]")
        agent.execute_script("arguments[0].focus()", summary)
        summary.send_keys(Keys.ENTER)
        agent.find_element(By.ID, "party-role").send_keys("authorised representative")
        press(agent, agent.find_element(By.XPATH, "//form[contains(@action, '/parties')]//button"))
        assert agent.find_element(By.ID, "parties").get_attribute("open") is not None
        assert "A person on a case needs a name" in agent.find_element(By.ID, "parties").text
        visit_agent("staff: a person without a name refused")
        agent.find_element(By.ID, "party-role").send_keys("authorised representative")
        agent.find_element(By.ID, "party-name").send_keys("Rosa Lopez")
        press(agent, agent.find_element(By.XPATH, "//form[contains(@action, '/parties')]//button"))
        assert "Rosa Lopez – authorised representative" in agent.find_element(By.TAG_NAME, "main").text

        # The resident sees what is needed and uploads it from the phone.
        phone.get(base + f"/my/cases/{case_id}")
        visit_phone("my case: document needed")
        assert "What we need from you" in phone.page_source and "Please upload a photo or scan of your ID." in phone.page_source
        assert "Rosa Lopez – authorised representative" in phone.find_element(By.TAG_NAME, "main").text
        assert Select(phone.find_element(By.ID, "type")).first_selected_option.get_attribute("value") == "proof_of_identity"
        scan = tmp_path / "id.pdf"
        scan.write_bytes(PDF)
        phone.find_element(By.ID, "file").send_keys(str(scan))
        press(phone, phone.find_element(By.XPATH, "//button[contains(., 'Upload')]"))
        press(phone, phone.find_element(By.XPATH, "//button[contains(., 'Send the documents')]"))
        visit_phone("my case: documents sent")

        # The agent approves; the resident reads the decision and why.
        agent.get(base + f"/staff/cases/{case_id}")
        press(agent, agent.find_element(By.XPATH, "//button[contains(., 'Approve')]"))
        visit_agent("staff: approved")
        phone.get(base + f"/my/cases/{case_id}")
        visit_phone("my case: decided")
        text = phone.find_element(By.TAG_NAME, "main").text
        assert "Your claim is approved." in text
        assert "your weekly earnings of $120 are within the $300 limit in rule UI-4 v2" in text
        assert "qualifies under rule UI-2 v1" in text

        # An admin reads the workflow as a diagram and imports a type from the browser; a broken file lists its mistakes.
        agent.delete_all_cookies()
        sign_in(agent, base, site, tmp_path, "it@labor.gov", "admin", "Workforce Solutions")
        agent.get(base + "/staff/casetypes/unemployment-claim")
        visit_agent("staff: the claim's workflow")
        agent.get(base + "/staff/casetypes")
        broken = tmp_path / "broken.yaml"
        broken.write_text("key: leave\nname: Leave\ndepartment: HR\nqueues: [{name: Q}]\nfields: []\nstates: [{key: a, label: A, sla: soon}]\n"
                          "transitions: []\n")
        agent.find_element(By.ID, "definition").send_keys(str(broken))
        press(agent, agent.find_element(By.XPATH, "//button[contains(., 'Import')]"))
        visit_agent("staff: import with mistakes")
        assert "states[0].sla: must read like" in agent.page_source
    finally:
        site.stop()
