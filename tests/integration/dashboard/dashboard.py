#!/usr/bin/python3
"""dashboard.py - drive paddockd's dashboard in headless chromium (67-dashboard.sh).

The environment names the daemon (DASH_URL, DASH_READ, DASH_OPERATE tokens,
PADDOCKCTL and DASH_SOCK to ask paddockctl what is true, DASH_ROOT the
services' root, DASH_TMP for browser profiles, DASH_SHOTS a directory for
screenshots or empty). Prints "ok: ..." per check; exits 1 with "FAIL: ..."
on the first that fails. Every wait has a deadline: nothing sleeps.
"""
import json
import os
import subprocess
import sys
import time
import uuid

from selenium import webdriver
from selenium.common.exceptions import NoAlertPresentException, TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

BASE = os.environ["DASH_URL"]
READ = os.environ["DASH_READ"]
OPERATE = os.environ["DASH_OPERATE"]
CTL = [os.environ["PADDOCKCTL"], "-s", os.environ["DASH_SOCK"]]
ROOT = os.environ["DASH_ROOT"]
TMP = os.environ["DASH_TMP"]
SHOTS = os.environ.get("DASH_SHOTS", "")
DEADLINE = 45  # seconds for anything to show up on a loaded 2-core machine
QUIET = 8  # seconds a hidden tab is watched: 4 history polls were it visible

drivers = []
profiles = [0]  # a fresh profile each: a profile keeps "JavaScript off"


def fail(msg):
    print("FAIL: " + msg, flush=True)
    for d in drivers:
        try:
            for e in d.get_log("browser"):  # what the page's script said
                print("browser: %s %s" % (e.get("level"), e.get("message")), flush=True)
            d.quit()
        except Exception:
            pass
    sys.exit(1)


def ok(msg):
    print("ok: " + msg, flush=True)


def browser(js=True):
    opts = webdriver.ChromeOptions()
    opts.binary_location = "/usr/bin/chromium"
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
              "--window-size=1280,1000", "--no-first-run", "--disable-extensions",
              "--user-data-dir=%s/chrome-%d" % (TMP, profiles[0])):
        opts.add_argument(a)
    profiles[0] += 1
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    opts.accept_insecure_certs = True  # the test's own CA, unknown to chromium
    if not js:
        opts.add_experimental_option(
            "prefs", {"profile.managed_default_content_settings.javascript": 2})
    d = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
    drivers.append(d)
    return d


def wait(d, cond, what, secs=DEADLINE):
    try:
        return WebDriverWait(d, secs, poll_frequency=0.1).until(lambda x: cond(x))
    except TimeoutException:
        fail("%s (not within %d s; page %s)" % (what, secs, d.current_url))


def ctl(*args):
    return subprocess.run(CTL + list(args), check=True, capture_output=True, text=True).stdout


def status(name):
    return json.loads(ctl("status", name, "--json"))[0]


def services():
    return [s["name"] for s in json.loads(ctl("list", "--json"))]


def login(d, token):
    d.get(BASE + "/login")
    d.find_element(By.NAME, "token").send_keys(token)
    d.find_element(By.CSS_SELECTOR, "#login button[type=submit]").click()
    wait(d, lambda x: x.current_url.rstrip("/") == BASE.rstrip("/"), "login lands on the list")


def cell(row, cls):
    return row.find_element(By.CSS_SELECTOR, "td." + cls)


def dash(v):
    return "\u2013" if v is None else str(v)


def check_row(row, s):
    """One row of the list or the summary against paddockctl status --json."""
    name = s["name"]
    state = cell(row, "state").text.split(" ")[0]
    if state != s["state"]:
        return "%s: state %r, status says %r" % (name, state, s["state"])
    if cell(row, "class").text != s["class"]:
        return "%s: class %r, status says %r" % (name, cell(row, "class").text, s["class"])
    if cell(row, "restarts").text != str(s["restarts"]):
        return "%s: restarts %r, status says %r" % (name, cell(row, "restarts").text, s["restarts"])
    if cell(row, "oom-kills").text != str(s["oom_kills"]):
        return "%s: OOM kills %r, status says %r" % (name, cell(row, "oom-kills").text,
                                                   s["oom_kills"])
    h = s.get("health")
    h = h.get("status") if isinstance(h, dict) else h
    if cell(row, "health").text != dash(h):
        return "%s: health %r, status says %r" % (name, cell(row, "health").text, h)
    mx = s["limits"].get("memory.max", "")
    mx = mx if mx.isdigit() else ""
    if cell(row, "memory").get_attribute("data-max") != mx:
        return "%s: memory.max %r, status says %r" % (
            name, cell(row, "memory").get_attribute("data-max"), mx)
    return None


def shot(d, name):
    if SHOTS:
        # The whole page, no more: the window as tall as the document.
        d.set_window_size(1280, 400)
        d.set_window_size(1280, d.execute_script(
            "return document.documentElement.scrollHeight") + 140)
        d.save_screenshot(os.path.join(SHOTS, name))
        ok("screenshot %s" % name)


def main():
    names = services()

    # No token: the login form; a wrong token is refused there.
    d = browser(js=False)
    d.get(BASE + "/")
    if not d.current_url.endswith("/login"):
        fail("without a token / went to %s, not /login" % d.current_url)
    d.find_element(By.NAME, "token").send_keys("not-a-token")
    d.find_element(By.CSS_SELECTOR, "#login button[type=submit]").click()
    wait(d, lambda x: x.find_elements(By.ID, "login-error"), "a wrong token is refused")
    d.get(BASE + "/")
    if not d.current_url.endswith("/login"):
        fail("a wrong token gave access")
    ok("no token: the login form; a wrong token is refused")

    # JavaScript off, read token: the list, value for value as status says.
    login(d, READ)
    if d.find_elements(By.TAG_NAME, "script"):
        fail("the list carries a script")

    def list_matches(x):
        x.refresh()
        rows = {r.get_attribute("data-service"): r
                for r in x.find_elements(By.CSS_SELECTOR, "#services tbody tr")}
        if sorted(rows) != sorted(names):
            return False
        for n in names:
            if check_row(rows[n], status(n)):
                return False
        return True
    if not wait(d, list_matches, "the list shows what status --json says"):
        fail("unreachable")
    rows = {r.get_attribute("data-service"): r
            for r in d.find_elements(By.CSS_SELECTOR, "#services tbody tr")}
    hog = rows["hog"]
    meter = hog.find_elements(By.CSS_SELECTOR, "td.memory meter")
    if not meter or meter[0].get_attribute("max") != str(32 << 20):
        fail("hog: no memory bar against its 32M limit")
    if not cell(hog, "memory").text.endswith("/ 32.0 MiB"):
        fail("hog: memory cell %r" % cell(hog, "memory").text)
    if d.find_element(By.ID, "role").text != "read":
        fail("the footer does not say read")
    ok("JavaScript off: the list of %d services matches paddockctl status --json" % len(names))
    d.quit()
    drivers.remove(d)

    # Read token with JavaScript: charts and no actions.
    d = browser()
    login(d, READ)
    d.get(BASE + "/service/worker")
    wait(d, lambda x: int(x.find_element(By.ID, "chart-memory").get_attribute("data-points")
                          or 0) > 0, "the memory chart draws history")
    wait(d, lambda x: x.find_elements(By.CSS_SELECTOR, "#chart-memory polyline"),
         "the memory chart has a line")
    if d.find_elements(By.CSS_SELECTOR, "button.action") or d.find_elements(By.ID, "limits-form"):
        fail("a read token is shown actions")
    ok("read token: charts drawn, no action buttons, no limits form")

    # A hidden tab polls nothing: over a quiet window with another tab in
    # front, history requests stop (one may be under way as it hides).
    polls = ("return performance.getEntriesByType('resource')"
             ".filter(e => /\\/history$/.test(e.name)).length")
    d.execute_script("window.hides = 0; document.addEventListener('visibilitychange',"
                     " () => { if (document.hidden) window.hides++; });")
    page, before = d.current_window_handle, d.execute_script(polls)
    d.switch_to.new_window("tab")
    d.get(BASE + "/login")
    time.sleep(QUIET)  # a window in which nothing may happen, not a wait for something
    d.close()
    d.switch_to.window(page)
    during = d.execute_script(polls) - before
    if d.execute_script("return window.hides") == 0:
        fail("the service page was not hidden behind another tab")
    if during > 2:
        fail("a hidden tab polled the history %d times in %d s" % (during, QUIET))
    wait(d, lambda x: x.execute_script(polls) > before + during, "polling resumes when shown")
    ok("a hidden tab polls nothing (%d history requests in %d s hidden), resumes when shown"
       % (during, QUIET))
    d.quit()
    drivers.remove(d)

    # Operate token: stop and start worker, each confirmed.
    d = browser()
    login(d, OPERATE)
    d.get(BASE + "/service/worker")

    def act(action, want):
        b = wait(d, lambda x: [e for e in x.find_elements(By.CSS_SELECTOR, "button.action")
                               if e.get_attribute("data-action") == action and e.is_enabled()],
                 "the %s button is enabled" % action)[0]
        b.click()
        alert = wait(d, lambda x: x.switch_to.alert, "%s asks for confirmation" % action)
        if "worker" not in alert.text:
            fail("the confirmation does not name the service: %r" % alert.text)
        alert.accept()
        wait(d, lambda x: status("worker")["state"] == want,
             "%s from the page: status says %s" % (action, want))
        wait(d, lambda x: x.find_element(By.CSS_SELECTOR, "#summary td.state").text == want,
             "the page shows worker %s" % want)
    act("stop", "stopped")
    ok("stop from the page (confirmed): paddockctl status says stopped")
    act("start", "running")
    ok("start from the page (confirmed): paddockctl status says running")

    # Set a limit through the form.
    inp = d.find_element(By.CSS_SELECTOR, "#limits-form input[name='memory.max']")
    inp.clear()
    inp.send_keys("200M")
    d.find_element(By.CSS_SELECTOR, "#limits-form button[type=submit]").click()
    wait(d, lambda x: x.switch_to.alert, "set limits asks for confirmation").accept()
    wait(d, lambda x: status("worker")["limits"].get("memory.max") == str(200 << 20),
         "memory.max set from the page")
    wait(d, lambda x: x.find_element(By.CSS_SELECTOR, "#limits td[data-key='memory.max']").text
         == str(200 << 20), "the page shows the new memory.max")
    ok("set memory.max=200M from the page (confirmed): status shows %d" % (200 << 20))

    # A new log line appears on talker's page.
    d.get(BASE + "/service/talker")
    wait(d, lambda x: "talker up" in x.find_element(By.ID, "logs").text, "talker's log tail")
    nonce = "hello-" + uuid.uuid4().hex[:12]
    with open(os.path.join(ROOT, "tmp/say.tmp"), "w") as f:
        f.write(nonce + "\n")
    os.rename(os.path.join(ROOT, "tmp/say.tmp"), os.path.join(ROOT, "tmp/say"))
    wait(d, lambda x: nonce in x.find_element(By.ID, "logs").text, "the new log line appears")
    ok("a new log line appears live on the service page")

    # A service's output is hostile: markup in a log line shows as text.
    nonce = uuid.uuid4().hex[:12]
    hostile = "<img src=x onerror=alert(1)><b id=inj-%s>bold</b>" % nonce
    with open(os.path.join(ROOT, "tmp/say.tmp"), "w") as f:
        f.write(hostile + "\n")
    os.rename(os.path.join(ROOT, "tmp/say.tmp"), os.path.join(ROOT, "tmp/say"))
    wait(d, lambda x: hostile in x.find_element(By.ID, "logs").text,
         "the hostile log line appears as text")
    if d.find_elements(By.CSS_SELECTOR, "#logs img") or d.find_elements(By.ID, "inj-" + nonce):
        fail("a log line became markup on the live page")
    # Loaded again, the line comes in the server's tail before the stream.
    d.get(BASE + "/service/talker")
    wait(d, lambda x: hostile in x.find_element(By.ID, "logs").text,
         "the hostile line in the rendered tail")
    if d.find_elements(By.CSS_SELECTOR, "#logs img") or d.find_elements(By.ID, "inj-" + nonce):
        fail("a log line became markup in the rendered page")
    try:
        fail("an alert opened: %r" % d.switch_to.alert.text)
    except NoAlertPresentException:
        pass
    ok("a log line of markup shows as text, live and rendered, and runs nothing")

    # An OOM kill appears in hog's events and counts.
    d.get(BASE + "/service/hog")
    wait(d, lambda x: int(x.find_element(By.ID, "chart-memory").get_attribute("data-points")
                          or 0) > 0, "hog's memory chart draws")
    before = status("hog")["oom_kills"]
    open(os.path.join(ROOT, "tmp/eat"), "w").close()
    wait(d, lambda x: x.find_elements(By.CSS_SELECTOR, "#events li[data-type='oom-kill']"),
         "the OOM kill appears in hog's events")
    after = status("hog")["oom_kills"]
    if after <= before:
        fail("status shows no new OOM kill (%d -> %d)" % (before, after))
    wait(d, lambda x: x.find_element(By.CSS_SELECTOR, "#summary td.oom-kills").text
         == str(status("hog")["oom_kills"]), "the summary counts the OOM kill")
    ok("an OOM kill appears in the events (status: %d -> %d)" % (before, after))

    if SHOTS:
        # A few more points on the charts make a more telling picture.
        wait(d, lambda x: int(x.find_element(By.ID, "chart-memory").get_attribute("data-points")
                              or 0) >= 8, "hog's chart gathers points", secs=90)
        shot(d, "dashboard-service.png")
        d.get(BASE + "/")
        shot(d, "dashboard-list.png")
    d.quit()
    drivers.remove(d)


if __name__ == "__main__":
    try:
        main()
    except SystemExit:
        raise
    except Exception as e:  # a selenium error is a failure with its reason
        fail("%s: %s" % (type(e).__name__, e))
