"""The web console in a real browser: headless Chromium driven by Selenium, against a running vigild holding the
demo clinic (vigilctl demo) plus the HTML-injection events of seed_injection.py. scripts/browser-test sets it up
and runs it; it takes everything from the environment:

    CONSOLE_URL      the console, e.g. http://127.0.0.1:PORT/console/
    VIGIL_URL        the daemon's base URL (default: CONSOLE_URL's origin)
    TOKENS_FILE      the demo's tokens.txt (the officer's token is the one VIGIL_AUTH_TOKENS gives that role)
    DEMO_DIR         the demo folder (its admin key registers the browser's key)
    INJECTION_FILE   the manifest seed_injection.py wrote
    SCREENSHOT_DIR   where each page's screenshot goes
    VIGILCTL         vigilctl
    VIGILD_PID       the daemon's pid: the last test stops it and verifies the store offline
    VIGILD_LOG       the daemon's log (optional): it must not show a crash on stopping
    DATABASE_PATH    the store file, for vigilctl verify
    CHROMIUM, CHROMEDRIVER   default /usr/bin/chromium and /usr/bin/chromedriver (never downloaded)

Prints each test's name and result, then "N passed, N failed"; exits non-zero on any failure.
"""

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.request
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from urllib.parse import quote, unquote, urljoin, urlparse

sys.path.insert(0, str(Path(__file__).resolve().parent))
import demo_env  # noqa: E402

os.environ.setdefault("SE_OFFLINE", "true")  # Selenium Manager, should anything reach it, never downloads
from selenium import webdriver  # noqa: E402
from selenium.common.exceptions import (  # noqa: E402
    NoSuchElementException, StaleElementReferenceException, WebDriverException)
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402

# ---- The console's markup: align these with Sources/VigilConsole ------------------------------------------------

# Page name: (path, text the page's <h1> contains, case-insensitive). {code}, {session}, {alert} are filled in.
PAGES = {
    "today": ("/console/", "Today"),
    "participants": ("/console/participants", "Participants"),
    "participant": ("/console/participants/{code}", "{code}"),
    "session": ("/console/sessions/{session}", "{session}"),
    "alerts": ("/console/alerts", "Alerts"),
    "alert": ("/console/alerts/{alert}", "Alert"),
    "inventory": ("/console/inventory", "Inventory"),
    "lot": ("/console/lots/{lot}", "Lot {lot}"),
    "adverse-events": ("/console/adverse-events", "Adverse events"),
    "integrity": ("/console/integrity", "Integrity"),
    "key": ("/console/key", "key"),
}
NAV_LINKS = ["/console/", "/console/participants", "/console/alerts", "/console/inventory",
             "/console/adverse-events", "/console/integrity", "/console/key"]
SEL = {
    "main": "main#main",
    "nav": "nav#nav",
    "sign_in_form": "form#sign-in",
    "token_input": "form#sign-in input#token[name=token]",
    "sign_in_error": "form#sign-in p.error[role=alert], p.error[role=alert]",
    "sign_out_form": "header form#sign-out, form#sign-out",
    "submit": "button[type=submit], button:not([type]), input[type=submit]",
    "alert_row": ".alert[data-alert-id]",  # tr (tables) or li (missed follow-ups): data-rule, data-severity
    "today_open_alerts": "section#open-alerts",
    "today_expedited": "section#expedited-reports",
    "today_missed": "section#missed-follow-ups",
    "today_counts": "section#count-discrepancies",
    "today_integrity": "section#integrity",
    "chart": "svg.vitals-chart",
    "chart_point": "svg.vitals-chart .point",  # circle, rect or polygon, one per reading and series
    "chart_threshold": "svg.vitals-chart line.threshold",
    "alert_filters": "form#alert-filters",  # a GET form with a control named status
    "sign_action": 'form.sign-action[data-type="{type}"][data-alert-id="{alert}"]',
    "sign_status": "p.sign-status",
    "make_key": "section#officer-key button#make-key",
    "public_key": "section#officer-key code#public-key",
    "key_id": "section#officer-key code#key-id",
    "live_status": "#live-status",
}
SEVERITY_RANK = {"critical": 0, "urgent": 1, "warn": 2, "info": 3}
DAYS_LEFT = re.compile(r"(-?\d+)\s*days?\s+(left|overdue)|overdue|due today", re.I)
NUMBER = re.compile(r"-?\d{1,3}(?:[,\u202f\u00a0]\d{3})+(?:\.\d+)?|-?\d+(?:\.\d+)?")

# ---- Set-up -------------------------------------------------------------------------------------------------------

CONSOLE_URL = os.environ["CONSOLE_URL"].rstrip("/") + "/"
ORIGIN = "{0.scheme}://{0.netloc}".format(urlparse(CONSOLE_URL))
VIGIL_URL = os.environ.get("VIGIL_URL", ORIGIN)
VIGILCTL = os.environ.get("VIGILCTL", "vigilctl")
SCREENSHOTS = Path(os.environ.get("SCREENSHOT_DIR", ".build/console-screenshots"))
INJECTION = json.loads(Path(os.environ["INJECTION_FILE"]).read_text())
MARKER = INJECTION["marker"]
OFFICER_TOKEN = demo_env.officer_token(os.environ["TOKENS_FILE"])
API = demo_env.Api(VIGIL_URL, OFFICER_TOKEN)
SIGNER = demo_env.Signer(VIGILCTL, VIGIL_URL, Path(tempfile.mkdtemp(prefix="console-test-")))

STATE = {}  # what one test finds for a later one


def make_driver():
    options = webdriver.ChromeOptions()
    options.binary_location = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1366,1000", "--no-first-run", "--disable-extensions",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     f"--user-data-dir={tempfile.mkdtemp(prefix='console-chromium-')}"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service(executable_path=os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver"))
    driver = webdriver.Chrome(service=service, options=options)
    driver.set_page_load_timeout(30)
    return driver


DRIVER = None


def wait(condition, timeout=15, what="condition"):
    return WebDriverWait(DRIVER, timeout, poll_frequency=0.1,
                         ignored_exceptions=(NoSuchElementException, StaleElementReferenceException)).until(
        condition, f"timed out waiting for {what}")


def find(css, root=None):
    return (root or DRIVER).find_element(By.CSS_SELECTOR, css)


def find_all(css, root=None):
    return (root or DRIVER).find_elements(By.CSS_SELECTOR, css)


def text_of(element):
    return " ".join((element.get_attribute("innerText") or "").split())


def numbers_in(text):
    return {Decimal(n.replace(",", "").replace("\u202f", "").replace("\u00a0", ""))
            for n in NUMBER.findall(text.replace("\u2212", "-"))}


def url(path):
    return urljoin(ORIGIN, path)


def browser_problems():
    """Console errors: CSP violations (an injection that got into the markup, or inline script/style the CSP
    blocks) and uncaught JavaScript errors. Failed resource loads (a 403 from a refused signature) are not."""
    problems = []
    for entry in DRIVER.get_log("browser"):
        message = entry.get("message", "")
        if "Content Security Policy" in message or (entry.get("source") == "javascript"
                                                    and entry.get("level") == "SEVERE"):
            problems.append(message)
    return problems


def assert_inert(where):
    state = DRIVER.execute_script("""
        return {pwned: typeof window.__pwned,
                injected: document.querySelectorAll('img[src="x"], [onerror], [onload], script:not([src])').length,
                scripts: Array.from(document.scripts, s => s.getAttribute('src'))};""")
    assert state["pwned"] == "undefined", f"{where}: window.__pwned is set"
    assert state["injected"] == 0, f"{where}: injected elements in the page"
    for src in state["scripts"]:
        assert src and src.startswith("/console/static/"), f"{where}: script not from /console/static/: {src}"
    problems = browser_problems()
    assert not problems, f"{where}: browser console: {problems}"


# WCAG 2.1 AA (1.4.3): text against its background at least 4.5:1, large text (24 px, or 18.66 px bold) 3:1.
# Every element with text of its own is measured with the colours the browser computed, the background taken
# from the nearest ancestor that paints one.
CONTRAST_SCRIPT = """
function channel(c) { c /= 255; return c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4); }
function luminance(rgb) { return 0.2126 * channel(rgb[0]) + 0.7152 * channel(rgb[1]) + 0.0722 * channel(rgb[2]); }
function parse(text) { const m = text.match(/rgba?\\(([^)]+)\\)/); if (!m) return null;
    const p = m[1].split(",").map(Number); return {rgb: p.slice(0, 3), alpha: p.length > 3 ? p[3] : 1}; }
function background(element) {
    for (let e = element; e; e = e.parentElement) {
        const c = parse(getComputedStyle(e).backgroundColor);
        if (c && c.alpha > 0) return c.rgb;
    }
    return [255, 255, 255];
}
const failures = [];
for (const element of document.querySelectorAll("body *")) {
    if (element.closest("svg") || element.closest(".skip")) continue;
    const own = [...element.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
    if (!own || !element.getClientRects().length) continue;
    const style = getComputedStyle(element);
    if (style.visibility === "hidden" || style.display === "none") continue;
    const color = parse(style.color).rgb, back = background(element);
    const [a, b] = [luminance(color), luminance(back)].sort((x, y) => y - x);
    const ratio = (a + 0.05) / (b + 0.05);
    const size = parseFloat(style.fontSize), bold = Number(style.fontWeight) >= 700;
    const needed = size >= 24 || (bold && size >= 18.66) ? 3 : 4.5;
    if (ratio < needed) failures.push(element.tagName + "." + element.className + " " + ratio.toFixed(2) + ": " +
        element.textContent.trim().slice(0, 40));
}
return failures;
"""


def assert_contrast(where):
    failures = DRIVER.execute_script(CONTRAST_SCRIPT)
    assert not failures, f"{where}: text below WCAG AA contrast: {failures[:5]}"


def screenshot(name):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    DRIVER.save_screenshot(str(SCREENSHOTS / f"{name}.png"))


def visit(name, marker_expected=False, query="", **fill):
    """Opens a page, checks its <h1>, that it is inert, and saves its screenshot; returns <main>."""
    path, heading = PAGES[name]
    path, heading = path.format(**{k: quote(v, safe="") for k, v in fill.items()}), heading.format(**fill)
    DRIVER.get(url(path + query))
    wait(lambda d: d.execute_script("return document.readyState") == "complete", what=f"{path} to load")
    h1 = find("h1")
    assert heading.lower() in text_of(h1).lower(), f"{path}: <h1> is {text_of(h1)!r}, expected {heading!r}"
    main = find(SEL["main"])
    assert_inert(path)
    assert_contrast(path)
    if marker_expected:
        assert MARKER in text_of(find("body")), f"{path}: the injection attempt is not shown as text"
    screenshot(name + (("-" + re.sub(r"[^A-Za-z0-9]+", "-", query).strip("-")) if query else ""))
    return main


def alert_rows(root=None):
    return [{"id": row.get_attribute("data-alert-id"), "rule": row.get_attribute("data-rule"),
             "severity": row.get_attribute("data-severity"), "text": text_of(row)}
            for row in find_all(SEL["alert_row"], root)]


def same_id(a, b):
    return a.replace("-", "").lower() == b.replace("-", "").lower()


def open_alerts_by_rule():
    by_rule = {}
    for alert in API.alerts(status="open"):
        if alert.get("participant") != INJECTION["participant"]:
            by_rule.setdefault(alert["rule"], []).append(alert)
    return by_rule


def sign_in(token):
    DRIVER.get(CONSOLE_URL)
    field = wait(lambda d: find(SEL["token_input"]), what="the sign-in form")
    field.clear()
    field.send_keys(token)
    find(SEL["submit"], find(SEL["sign_in_form"])).click()
    wait(lambda d: d.execute_script("return document.readyState") == "complete", what="sign-in answer")

# ---- Tests ----------------------------------------------------------------------------------------------------------


def test_signed_out_console_asks_for_a_token():
    DRIVER.get(CONSOLE_URL)
    wait(lambda d: find(SEL["token_input"]), what="the sign-in form")
    assert not find_all(SEL["nav"]), "the navigation is shown before signing in"
    assert_inert("sign-in")
    screenshot("sign-in")
    with urllib.request.urlopen(CONSOLE_URL, timeout=15) as response:
        csp = response.headers.get("Content-Security-Policy", "")
    for directive in ("default-src 'none'", "script-src 'self'", "frame-ancestors 'none'"):
        assert directive in csp, f"Content-Security-Policy lacks {directive!r}: {csp!r}"


def test_a_wrong_token_is_refused():
    sign_in("not-the-token-" + OFFICER_TOKEN[:4])
    wait(lambda d: find(SEL["token_input"]), what="the sign-in form again")
    error = wait(lambda d: find(SEL["sign_in_error"]), what="the sign-in error")
    assert text_of(error), "the sign-in error is empty"
    assert not find_all(SEL["nav"]), "signed in with a wrong token"
    DRIVER.get(CONSOLE_URL)
    wait(lambda d: find(SEL["token_input"]), what="the sign-in form on the next visit")
    assert not find_all(SEL["nav"]), "a session after a wrong token"
    assert_inert("sign-in error")
    screenshot("sign-in-error")


def test_the_officer_token_signs_in():
    sign_in(OFFICER_TOKEN)
    nav = wait(lambda d: find(SEL["nav"]), what="the navigation after signing in")
    assert "today" in text_of(find("h1")).lower(), f"after sign-in: <h1> {text_of(find('h1'))!r}"
    hrefs = {urlparse(a.get_attribute("href")).path for a in find_all("a[href]", nav)}
    missing = [link for link in NAV_LINKS if link not in hrefs and link.rstrip("/") not in hrefs]
    assert not missing, f"navigation lacks {missing}"
    assert find_all(SEL["sign_out_form"]), "no sign-out form in the header"
    cookies = DRIVER.get_cookies()
    assert cookies, "no session cookie"
    for cookie in cookies:
        assert cookie.get("httpOnly"), f"cookie {cookie['name']} is readable by scripts (not HttpOnly)"
        assert cookie.get("sameSite") in ("Strict", "Lax"), f"cookie {cookie['name']} SameSite {cookie.get('sameSite')}"
    assert OFFICER_TOKEN not in json.dumps(cookies), "the token itself is the cookie"


def test_today_lists_what_needs_attention():
    # Missed follow-ups are raised by the scheduler, which first runs 30 s after vigild starts.
    by_rule = API.wait_for("missed follow-up alerts (API)", lambda: (
        lambda rules: rules if "missed_follow_up" in rules else None)(open_alerts_by_rule()), timeout=75)
    for rule in ("hypertension", "count_discrepancy", "serious_adverse_event", "missed_follow_up"):
        assert rule in by_rule, f"the demo has no open {rule} alert (API)"
    main = visit("today")
    section = find(SEL["today_open_alerts"], main)
    rows = alert_rows(section)
    listed = {row["rule"] for row in rows}
    for rule in ("hypertension", "count_discrepancy", "serious_adverse_event"):
        assert rule in listed, f"Today's open alerts lack a {rule} alert: {sorted(listed)}"
    ranks = [SEVERITY_RANK.get(row["severity"], 9) for row in rows]
    assert ranks == sorted(ranks), f"open alerts not by severity: {[row['severity'] for row in rows]}"
    open_ids = {a["alertId"] for a in API.alerts(status="open")}
    for row in rows:
        assert any(same_id(row["id"], i) for i in open_ids), f"Today lists {row['id']} as open; the API does not"

    expedited = text_of(find(SEL["today_expedited"], main))
    reports = API.get("/v1/adverse-events?open=true")["adverseEvents"]
    assert reports, "the demo has no open expedited report (API)"
    for report in reports:
        assert report["aeId"] in expedited, f"expedited reports lack {report['aeId']}"
    assert DAYS_LEFT.search(expedited), f"expedited reports show no days left: {expedited[:300]!r}"

    missed = text_of(find(SEL["today_missed"], main))
    participants = {a.get("participant") for a in by_rule["missed_follow_up"]} - {None}
    assert any(p in missed for p in participants), f"missed follow-ups lack {sorted(participants)}: {missed[:300]!r}"

    counts = text_of(find(SEL["today_counts"], main))
    short = [lot["lot"] for lot in API.get("/v1/inventory")["lots"]
             if lot.get("lastCount") and Decimal(str(lot["lastCount"]["differenceMg"])) != 0]
    assert short, "the demo has no count discrepancy (API)"
    assert all(lot in counts for lot in short), f"count discrepancies lack {short}: {counts[:300]!r}"

    integrity = text_of(find(SEL["today_integrity"], main))
    assert numbers_in(integrity), f"the integrity summary shows no log size: {integrity!r}"


def test_participants_page_links_each_participant():
    main = visit("participants", marker_expected=True)
    paths = {unquote(urlparse(a.get_attribute("href")).path) for a in find_all("a[href]", main)}
    codes = {a["participant"] for a in API.alerts() if a.get("participant")}
    for code in sorted(codes):
        assert f"/console/participants/{code}" in paths, f"no link to participant {code}"


def test_participant_page():
    hypertension = open_alerts_by_rule()["hypertension"][0]
    code, session = hypertension["participant"], hypertension.get("session")
    STATE["hypertension"] = hypertension
    main = visit("participant", code=code)
    detail = API.get(f"/v1/participants/{quote(code, safe='')}")
    text = text_of(main)
    for s in detail.get("sessions", []):
        sid = s if isinstance(s, str) else (s.get("session") or s.get("id"))
        if sid:
            assert sid in text, f"participant {code}: session {sid} not shown"
    if session:
        paths = {unquote(urlparse(a.get_attribute("href")).path) for a in find_all("a[href]", main)}
        assert f"/console/sessions/{session}" in paths, f"participant {code}: no link to {session}"
    ids = [row["id"] for row in alert_rows(main)]
    assert any(same_id(i, hypertension["alertId"]) for i in ids), f"participant {code}: hypertension alert missing"


def test_injection_participant_page_is_inert():
    main = visit("participant", marker_expected=True, code=INJECTION["participant"])
    assert MARKER in text_of(main), "site and medications: the attempt is not shown as text"


def test_session_page_has_the_vitals_chart():
    hypertension = STATE.get("hypertension") or open_alerts_by_rule()["hypertension"][0]
    session = hypertension["session"]
    main = visit("session", session=session)
    chart = find(SEL["chart"], main)
    points = find_all(SEL["chart_point"], chart)
    thresholds = find_all(SEL["chart_threshold"])
    vitals = API.get(f"/v1/sessions/{quote(session, safe='')}")["vitals"]
    assert len(points) >= len(vitals) > 0, f"{len(points)} points for {len(vitals)} vitals readings"
    assert thresholds, "no threshold lines"
    outside = DRIVER.execute_script("""
        const svg = arguments[0], box = svg.viewBox.baseVal;
        if (!box || !box.width) return [];
        return Array.from(svg.querySelectorAll('.point'), p => p.getBBox())
            .map(b => [b.x + b.width / 2, b.y + b.height / 2])
            .filter(([x, y]) => x < box.x || y < box.y || x > box.x + box.width || y > box.y + box.height);""", chart)
    assert not outside, f"points outside the chart: {outside[:5]}"
    assert chart.size["width"] > 100 and chart.size["height"] > 50, f"chart drawn at {chart.size}"


def test_injection_session_page_is_inert():
    visit("session", session=INJECTION["session"])


def test_inventory_page_shows_lots_and_balances():
    main = visit("inventory", marker_expected=True)
    rows = find_all("tr", main)
    for lot in API.get("/v1/inventory")["lots"]:
        matching = [row for row in rows if lot["lot"] in text_of(row).split()
                    or any(lot["lot"] == text_of(cell) for cell in find_all("th, td", row))]
        assert matching, f"lot {lot['lot']} not listed"
        balance = Decimal(str(lot["onHandMg"]))
        assert any(balance in numbers_in(text_of(row)) for row in matching), \
            f"lot {lot['lot']}: balance {balance} mg not shown in {text_of(matching[0])!r}"


def test_adverse_events_page_shows_days_left():
    main = visit("adverse-events", marker_expected=True)
    text = text_of(main)
    rows = find_all("tr", main)
    now = datetime.now(timezone.utc)
    for report in API.get("/v1/adverse-events")["adverseEvents"]:
        assert report["aeId"] in text, f"adverse event {report['aeId']} not listed"
        if report.get("open") and report.get("reportDueAt"):
            row = next((r for r in rows if report["aeId"] in text_of(r)), None)
            assert row is not None, f"{report['aeId']}: no row"
            match = DAYS_LEFT.search(text_of(row))
            assert match, f"{report['aeId']}: no days left in {text_of(row)!r}"
            due = datetime.fromisoformat(report["reportDueAt"].replace("Z", "+00:00"))
            expected = (due - now).total_seconds() / 86400
            if match.group(1) and match.group(2).lower() == "left":
                assert abs(int(match.group(1)) - expected) <= 1.01, \
                    f"{report['aeId']}: {match.group(0)!r}, due {report['reportDueAt']} ({expected:.1f} days)"


def test_alerts_page_filters():
    main = visit("alerts", marker_expected=False)
    assert alert_rows(main), "no alerts listed"
    form = find(SEL["alert_filters"], main)
    status = find("[name=status]", form)
    assert (form.get_attribute("method") or "get").lower() == "get", "the filter form is not a GET form"
    if status.tag_name == "select":
        Select(status).select_by_value("acknowledged")
    else:
        status.clear()
        status.send_keys("acknowledged")
    find(SEL["submit"], form).click()
    wait(lambda d: "status=acknowledged" in d.current_url, what="the filtered URL")
    acknowledged = {a["alertId"] for a in API.alerts(status="acknowledged")}
    rows = alert_rows(find(SEL["main"]))
    assert rows, "no acknowledged alerts listed (the seeding acknowledged one)"
    for row in rows:
        assert any(same_id(row["id"], i) for i in acknowledged), f"{row['id']} is listed but not acknowledged"
    assert any(same_id(row["id"], INJECTION["acknowledgedAlert"]) for row in rows)
    assert_inert("alerts?status=acknowledged")
    screenshot("alerts-status-acknowledged")

    main = visit("alerts", query="?status=open")
    open_ids = {a["alertId"] for a in API.alerts(status="open")}
    rows = alert_rows(main)
    assert rows and all(any(same_id(r["id"], i) for i in open_ids) for r in rows), "status=open lists others"

    code = INJECTION["participant"]
    main = visit("alerts", query="?participant=" + quote(code))
    theirs = {a["alertId"] for a in API.alerts(participant=code)}
    rows = alert_rows(main)
    assert rows and all(any(same_id(r["id"], i) for i in theirs) for r in rows), "participant filter lists others"


def test_alert_page_shows_the_note_and_who():
    main = visit("alert", marker_expected=True, alert=INJECTION["acknowledgedAlert"])
    text = text_of(main)
    assert "Ack " + MARKER in text, "the acknowledgement's note is not shown as text"
    assert "Officer " + MARKER in text, "the acknowledging officer's name is not shown as text"


def test_integrity_page_shows_size_and_signed_head():
    for attempt in range(3):
        head = API.get("/v1/log/head")
        main = visit("integrity")
        text = text_of(main)
        if head["chainHash"][:16] in text and Decimal(head["size"]) in numbers_in(text):
            return
        time.sleep(1)
    raise AssertionError(f"integrity page lacks the signed head (size {head['size']}, "
                         f"chain hash {head['chainHash'][:16]}…): {text[:400]!r}")


def test_acknowledge_an_alert_in_the_browser():
    main = visit("key")
    find(SEL["make_key"], main).click()
    wait(lambda d: re.fullmatch(r"[A-Za-z0-9+/]{43}=", text_of(find(SEL["public_key"])))
         and re.fullmatch(r"[0-9a-f]{64}", text_of(find(SEL["key_id"]))), what="the new key")
    public_key, key_id = text_of(find(SEL["public_key"])), text_of(find(SEL["key_id"]))
    assert re.fullmatch(r"[A-Za-z0-9+/]{43}=", public_key), f"public key {public_key!r}"
    assert re.fullmatch(r"[0-9a-f]{64}", key_id), f"key id {key_id!r}"
    assert text_of(find("#key-status")), "no key status"
    screenshot("key-made")
    DRIVER.refresh()
    wait(lambda d: text_of(find(SEL["public_key"])) == public_key, what="the stored key after a reload")

    admin = demo_env.admin_key_file(os.environ["DEMO_DIR"], VIGILCTL)
    SIGNER.submit("key.registered", {"publicKey": public_key, "name": "Browser Officer", "role": "safety_officer"},
                  admin)

    alert = open_alerts_by_rule()["count_discrepancy"][0]
    STATE["acknowledged"] = alert["alertId"]
    main = visit("alert", alert=alert["alertId"])
    form_css = SEL["sign_action"].format(type="alert.acknowledged", alert=alert["alertId"])
    form = find(form_css, main)
    find("textarea[name=note]", form).send_keys("Recounted with a second pharmacist (browser test)")
    find(SEL["submit"], form).click()
    wait(lambda d: "stored" in text_of(find(SEL["sign_status"], find(form_css))).lower()
         or text_of(find(SEL["sign_status"], find(form_css))).lower().startswith("refused"),
         what="the signature's answer")
    status = text_of(find(SEL["sign_status"], find(form_css)))
    assert "stored" in status.lower(), f"signing answered: {status!r}"
    screenshot("alert-acknowledging")
    wait(lambda d: d.execute_script("return performance.getEntriesByType('navigation')[0].type") == "reload",
         what="the page to reload after signing")

    answer = API.wait_for("the acknowledgement in the alerts view", lambda: (
        lambda a: a if a.get("acknowledged") else None)(API.get(f"/v1/alerts/{alert['alertId']}")))
    assert answer["acknowledged"]["keyid"] == key_id, f"acknowledged by {answer['acknowledged']}"
    assert answer["status"] == "acknowledged", f"status {answer['status']}"

    deadline = time.monotonic() + 15
    while True:
        main = visit("today")
        rows = alert_rows(find(SEL["today_open_alerts"], main))
        if not any(same_id(row["id"], alert["alertId"]) for row in rows):
            break
        assert time.monotonic() < deadline, "Today still lists the acknowledged alert as open"
        time.sleep(1)
    screenshot("today-after-acknowledging")


def test_live_updates_add_a_new_alert_without_a_reload():
    main = visit("today")
    assert main.get_attribute("data-live") == "alerts", "Today's <main> has no data-live=\"alerts\""
    if find_all(SEL["live_status"]):
        wait(lambda d: "connected" in text_of(find(SEL["live_status"])).lower(), what="Live: connected")
    DRIVER.execute_script("window.__noReload = 1;")
    before = {row["id"] for row in alert_rows(find(SEL["today_open_alerts"]))}
    SIGNER.submit("vitals.recorded", {"temperatureC": 40.4}, INJECTION["keys"]["clinician"],
                  participant=INJECTION["participant"], session=INJECTION["session"])
    wait(lambda d: any(r["rule"] == "temperature" and r["id"] not in before
                       for r in alert_rows(find(SEL["today_open_alerts"]))),
         timeout=20, what="the temperature alert to appear live")
    assert DRIVER.execute_script("return window.__noReload") == 1, "the page reloaded instead of updating"
    assert_inert("today (live)")
    screenshot("today-live-update")


def test_every_page_is_inert_and_screenshotted():
    visit("today")
    visit("participants", marker_expected=True)
    visit("participant", marker_expected=True, code=INJECTION["participant"])
    visit("session", session=INJECTION["session"])
    visit("inventory", marker_expected=True)
    visit("lot", marker_expected=True, lot=INJECTION["lot"])
    visit("adverse-events", marker_expected=True)
    visit("alerts")
    visit("alert", marker_expected=True, alert=INJECTION["acknowledgedAlert"])
    visit("alert", alert=INJECTION["openAlert"])
    visit("integrity")
    visit("key")
    shots = sorted(p.name for p in SCREENSHOTS.glob("*.png"))
    for name in ("sign-in", "today", "participants", "participant", "session", "inventory", "lot",
                 "adverse-events", "alerts", "alert", "integrity", "key"):
        assert f"{name}.png" in shots, f"no screenshot {name}.png"


def test_sign_out():
    DRIVER.get(CONSOLE_URL)
    form = wait(lambda d: find(SEL["sign_out_form"]), what="the sign-out form")
    find(SEL["submit"], form).click()
    wait(lambda d: find(SEL["token_input"]), what="the sign-in form after signing out")
    DRIVER.get(url("/console/alerts"))
    wait(lambda d: find(SEL["token_input"]), what="the sign-in form for a page after signing out")
    assert not find_all(SEL["alert_row"]), "alerts shown after signing out"
    assert_inert("signed out")


def test_the_store_verifies_after_vigild_stops():
    pid = int(os.environ["VIGILD_PID"])
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 30
    while True:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
            if stat.rsplit(")", 1)[1].split()[0] in ("Z", "X"):
                break
        except FileNotFoundError:
            break
        assert time.monotonic() < deadline, "vigild did not stop within 30 s"
        time.sleep(0.2)
    args = [VIGILCTL, "verify", "--database", os.environ["DATABASE_PATH"]]
    for key in demo_env.admin_public_keys():
        args += ["--admin-key", key]
    result = subprocess.run(args, capture_output=True, text=True)
    print("  " + (result.stdout + result.stderr).strip().replace("\n", "\n  "))
    assert result.returncode == 0, f"vigilctl verify exited {result.returncode}"
    if os.environ.get("VIGILD_LOG"):
        log = Path(os.environ["VIGILD_LOG"]).read_text(errors="replace")
        for sign in ("Fatal error", "Program crashed"):
            assert sign not in log, f"vigild crashed while stopping: {log[log.index(sign):][:300]!r}"


TESTS = [
    test_signed_out_console_asks_for_a_token,
    test_a_wrong_token_is_refused,
    test_the_officer_token_signs_in,
    test_today_lists_what_needs_attention,
    test_participants_page_links_each_participant,
    test_participant_page,
    test_injection_participant_page_is_inert,
    test_session_page_has_the_vitals_chart,
    test_injection_session_page_is_inert,
    test_inventory_page_shows_lots_and_balances,
    test_adverse_events_page_shows_days_left,
    test_alerts_page_filters,
    test_alert_page_shows_the_note_and_who,
    test_integrity_page_shows_size_and_signed_head,
    test_acknowledge_an_alert_in_the_browser,
    test_live_updates_add_a_new_alert_without_a_reload,
    test_every_page_is_inert_and_screenshotted,
    test_sign_out,
    test_the_store_verifies_after_vigild_stops,
]


def main():
    global DRIVER
    only = set(sys.argv[1:])
    passed = failed = 0
    DRIVER = make_driver()
    caps = DRIVER.capabilities
    print(f"chromium {caps.get('browserVersion')}, chromedriver "
          f"{caps.get('chrome', {}).get('chromedriverVersion', '?').split()[0]}", flush=True)
    try:
        for test in TESTS:
            if only and test.__name__ not in only:
                continue
            started = time.monotonic()
            try:
                test()
                passed += 1
                print(f"PASS {test.__name__} ({time.monotonic() - started:.1f} s)", flush=True)
            except Exception as error:  # noqa: BLE001 - every failure is reported, then the next test runs
                failed += 1
                if isinstance(error, WebDriverException):
                    print(f"FAIL {test.__name__}: {error.msg}", flush=True)
                elif isinstance(error, AssertionError):
                    print(f"FAIL {test.__name__}: {error}", flush=True)
                else:
                    print(f"FAIL {test.__name__}: {error!r}", flush=True)
                    traceback.print_exc(limit=4)
                try:
                    screenshot("FAILED-" + test.__name__)
                except Exception:  # noqa: BLE001
                    pass
    finally:
        DRIVER.quit()
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
