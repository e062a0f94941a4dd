"""The dashboard of `swath serve` in a real browser and through its JSON API
(started by the Rust tests, crates/swath/tests/cli/dashboard.rs).

    dashboard_browser.py browser DASHBOARD_URL FLIGHT_URI USER TOKEN W2_SQL OUT_DIR
    dashboard_browser.py agree DASHBOARD_URL FLIGHT_URI USER TOKEN SQL_FILE
    dashboard_browser.py security DASHBOARD_URL FLIGHT_URI USER TOKEN OTHER_USER OTHER_TOKEN

`browser` drives Debian's chromium headless through chromium-driver (selenium):
it logs in with the token in the URL, runs W2 from a Flight SQL client, watches
the statement's row until done, opens the statement's page, cancels a long
statement with its button, and writes screenshots into OUT_DIR. Each mode prints
one JSON object on stdout; any failed check raises (exit status 1).
"""

import json
import os
import sys
import threading
import time
import urllib.error
import urllib.request

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(REPO, "python"))

import swath  # noqa: E402
from flight_client import statements  # noqa: E402 - tests/scripts, beside this file

# A statement that runs until cancelled (minutes at least) and holds memory in a
# hash aggregate while it runs.
LONG = "SELECT count(DISTINCT value % 2000000) AS n FROM generate_series(1, 100000000000)"


def run_all(uri, user, token, sqls, result):
    """Run `sqls` on one connection; put the last table or the error in result."""
    try:
        with swath.connect(uri, token=token, user=user) as conn:
            for sql in sqls:
                with conn.cursor() as cur:
                    cur.execute(sql)
                    result["table"] = cur.fetch_arrow_table()
    except Exception as e:  # noqa: BLE001 - the client's error, whatever its type
        result["error"] = f"{type(e).__name__}: {e}"


def start(uri, user, token, sqls):
    result = {}
    t = threading.Thread(target=run_all, args=(uri, user, token, sqls, result), daemon=True)
    t.start()
    return t, result


def http(method, url, token=None, headers=None, data=None, cookie=None):
    """(status, headers, body bytes) of one request; no redirects followed."""

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    h = dict(headers or {})
    if token:
        h["Authorization"] = f"Bearer {token}"
    if cookie:
        h["Cookie"] = cookie
    req = urllib.request.Request(url, method=method, headers=h, data=data)
    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(req, timeout=30) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def api(base, path, token, method="GET", headers=None):
    status, _, body = http(method, base + path, token=token, headers=headers)
    assert status == 200, f"{method} {path}: HTTP {status}: {body[:300]!r}"
    return json.loads(body)


def wait_for(what, fn, seconds=60, every=0.05):
    """Call fn until it returns a true value; that value."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            v = fn()
        except Exception as e:  # noqa: BLE001 - the page redrew what fn held
            if type(e).__name__ not in ("StaleElementReferenceException",
                                        "NoSuchElementException"):
                raise
            v = None
        if v:
            return v
        time.sleep(every)
    raise AssertionError(f"timed out waiting for {what}")


def find_query(base, token, needle, since_id=0):
    for q in api(base, "/api/queries", token)["queries"]:
        if needle in q["sql"] and q["id"] > since_id:
            return q
    return None


def texts(driver, selector):
    """The text of every element `selector` matches, read in one step (the page
    redraws twice a second, so elements found one call go stale by the next)."""
    return driver.execute_script(
        "return [...document.querySelectorAll(arguments[0])].map(e => e.textContent);",
        selector)


def opaque_fraction(png):
    """The share of a PNG's pixels that are not transparent (read by GDAL)."""
    from rasterio.io import MemoryFile

    with MemoryFile(png) as f, f.open() as src:
        assert src.count == 4, src.count  # RGBA
        alpha = src.read(4)
    return float((alpha > 0).mean())


# --- browser ------------------------------------------------------------------


def browser(base, uri, user, token, w2_file, out_dir):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                "--disable-gpu", "--window-size=1400,1000"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    driver.set_page_load_timeout(60)
    report = {}
    try:
        # Log in once with the token in the URL: the cookie replaces it.
        driver.get(f"{base}/?token={token}")
        assert "token=" not in driver.current_url, driver.current_url
        wait_for("the page to show the user",
                 lambda: driver.find_element(By.ID, "user").text == user, 30)
        cookies = {c["name"]: c for c in driver.get_cookies()}
        assert cookies["swath_dashboard"]["httpOnly"], cookies
        wait_for("the executors table",
                 lambda: driver.find_elements(By.CSS_SELECTOR, "#executor-table tr[data-executor]"), 30)

        # W2 from a Flight SQL client; the page shows its row until done.
        w2 = statements(open(w2_file).read())
        thread, result = start(uri, user, token, w2)
        seen = []
        deadline = time.time() + 300
        row_id = None
        while time.time() < deadline:
            rows = driver.find_elements(By.CSS_SELECTOR, "#queries tbody tr[data-query-id]")
            for row in rows:
                try:
                    sql = row.find_element(By.CSS_SELECTOR, "td.sql").get_attribute("title")
                    if not sql.lstrip().startswith("COPY"):
                        continue
                    state = row.get_attribute("data-state")
                    fraction = float(row.find_element(By.TAG_NAME, "progress").get_attribute("data-fraction"))
                    row_id = row.get_attribute("data-query-id")
                except Exception:  # noqa: BLE001 - the row was redrawn meanwhile
                    continue
                if not seen or seen[-1] != (state, fraction):
                    seen.append((state, fraction))
                if state == "running" and 0.3 < fraction < 0.9 and "running" not in report:
                    driver.save_screenshot(os.path.join(out_dir, "dashboard-running.png"))
                    report["running"] = fraction
            if seen and seen[-1][0] in ("done", "failed", "cancelled"):
                break
            if not thread.is_alive() and "error" in result:
                raise AssertionError(f"W2 failed: {result['error']}")
            time.sleep(0.05)
        thread.join(120)
        assert "error" not in result, result.get("error")
        assert seen, "the page never showed the COPY statement"
        assert seen[-1] == ("done", 1.0), seen
        running = [f for s, f in seen if s == "running"]
        assert running, f"never seen running: {seen}"
        fractions = [f for _, f in seen]
        assert fractions == sorted(fractions), f"progress went back: {seen}"
        assert len(set(fractions)) >= 3, f"progress did not move while running: {seen}"
        report["w2_progress"] = seen
        driver.save_screenshot(os.path.join(out_dir, "dashboard.png"))

        # The statement's page: its plan with metrics and the items it read.
        driver.get(f"{base}/#/queries/{row_id}")
        wait_for("the plan", lambda: driver.find_elements(By.CSS_SELECTOR, "#d-plan .op"), 30)
        ops = texts(driver, "#d-plan .op")
        metrics = " ".join(texts(driver, "#d-plan .metrics"))
        assert any("CubeScanExec" in o for o in ops), ops
        assert "output_rows=" in metrics and "bytes_fetched=" in metrics, metrics
        items = texts(driver, "#d-items li")
        assert items and all(i for i in items), items
        assert driver.find_element(By.ID, "d-state").get_attribute("data-state") == "done"
        # The live quicklook of the COG: every chunk written is on it.
        detail = api(base, f"/api/queries/{row_id}", token)
        assert detail["quicklook_chunks"] == detail["rows_out"] > 0, detail
        wait_for("the quicklook to load", lambda: driver.execute_script(
            "const i = document.getElementById('d-quicklook');"
            "return i.complete && i.naturalWidth > 0;"), 30)
        status, headers, png = http("GET", f"{base}/api/queries/{row_id}/quicklook.png", token=token)
        assert status == 200 and headers["Content-Type"] == "image/png", status
        report["quicklook_opaque"] = opaque_fraction(png)
        assert report["quicklook_opaque"] > 0.5, report["quicklook_opaque"]
        driver.save_screenshot(os.path.join(out_dir, "dashboard-query.png"))
        report["operators"] = len(ops)
        report["items"] = len(items)

        # A long statement, cancelled with its button: the client's call ends
        # with CANCELLED, the row says cancelled, the memory it held returns.
        driver.get(f"{base}/#/")
        thread, result = start(uri, user, token, [LONG])

        def long_row():
            for row in driver.find_elements(By.CSS_SELECTOR, "#queries tbody tr[data-query-id]"):
                try:
                    title = row.find_element(By.CSS_SELECTOR, "td.sql").get_attribute("title")
                    if title == LONG:
                        return row
                except Exception:  # noqa: BLE001 - redrawn
                    pass
            return None

        long_id = wait_for("the long statement running", lambda: (
            (r := long_row()) is not None and r.get_attribute("data-state") == "running"
            and r.get_attribute("data-query-id")), 60)
        held = wait_for("the long statement to hold memory", lambda: (
            api(base, f"/api/queries/{long_id}", token).get("memory_bytes") or 0), 60)
        report["held_bytes"] = held
        started = time.time()
        # A real click on the button (found again if the page redrew it meanwhile).
        wait_for("the cancel button clicked", lambda: driver.find_element(
            By.CSS_SELECTOR, f'button[data-cancel="{long_id}"]').click() or True, 10)
        thread.join(60)
        assert not thread.is_alive(), "the client's call did not end after cancel"
        assert "error" in result and "ancel" in result["error"], result
        wait_for("the row to say cancelled", lambda: (
            (r := long_row()) is not None and r.get_attribute("data-state") == "cancelled"), 30)
        report["cancel_seconds"] = round(time.time() - started, 2)
        pool = wait_for("the pools to be empty", lambda: (
            api(base, "/api/executors", token)["process"]["pool_bytes"] == 0 and "empty"), 30)
        report["pool_after_cancel"] = pool
        wait_for("the summary to show the empty pool", lambda: driver.find_element(
            By.ID, "process-summary").get_attribute("data-pool-bytes") == "0", 30)
        driver.save_screenshot(os.path.join(out_dir, "dashboard-cancelled.png"))
        # Nothing the page asked for failed.
        assert not driver.find_element(By.ID, "status").text, driver.find_element(By.ID, "status").text
    finally:
        driver.quit()
    print(json.dumps(report))


# --- the API and swath.queries agree ------------------------------------------


def agree(base, uri, user, token, sql_file):
    sqls = statements(open(sql_file).read())
    with swath.connect(uri, token=token, user=user) as conn:
        for sql in sqls:
            with conn.cursor() as cur:
                cur.execute(sql)
                cur.fetch_arrow_table()
        with conn.cursor() as cur:
            cur.execute(
                "SELECT id, \"user\", origin, state, sql, rows_out, chunks_done, chunks_total, "
                "partitions_done, partitions_total, bytes_fetched, fraction, error "
                "FROM swath.queries ORDER BY id")
            table = cur.fetch_arrow_table().to_pylist()
    api_rows = {q["id"]: q for q in api(base, "/api/queries", token)["queries"]}
    # The statement reading swath.queries sees itself planned (system tables are
    # read when the statement is planned); the API, asked after, sees it done.
    me = [r for r in table if "swath.queries" in r["sql"]]
    assert len(me) == 1 and me[0]["state"] == "planned", me
    assert api_rows_done(base, token, me[0]["id"])
    mine = [r for r in table if r["id"] != me[0]["id"]]
    assert len(mine) >= len(sqls), (len(mine), table)
    compared = 0
    for row in mine:
        q = api_rows[row["id"]]
        for key in row:
            assert q[key] == row[key], (key, q[key], row[key])
        compared += 1
    # The datacube statement's counts are real: every planned chunk row read.
    cube = [r for r in mine if r["chunks_total"] > 0]
    assert cube and all(r["chunks_done"] == r["chunks_total"] and r["bytes_fetched"] > 0 for r in cube), cube
    print(json.dumps({"compared": compared, "cube_rows": [r["chunks_total"] for r in cube]}))


def api_rows_done(base, token, id_):
    q = api(base, f"/api/queries/{id_}", token)
    assert q["state"] == "done" and q["operators"] is not None, q
    return True


# --- security -----------------------------------------------------------------


def security(base, uri, user, token, other_user, other_token):
    checks = {}
    s, _, _ = http("GET", base + "/api/queries")
    assert s == 401, s
    s, _, _ = http("GET", base + "/api/queries", token="not-a-token-0123456789")
    assert s == 401, s
    s, h, _ = http("GET", base + "/")
    assert s in (302, 303, 307) and h["Location"] == "/login", (s, dict(h))
    s, _, body = http("GET", base + "/?token=wrong-token-0123456789")
    assert s == 401 and b"not valid" in body, s
    s, _, body = http("POST", base + "/login", data=b"token=wrong-token-0123456789",
                      headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert s == 401 and b"not valid" in body, s
    s, h, _ = http("POST", base + "/login", data=f"token={token}".encode(),
                   headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert s == 303, s
    cookie = h["Set-Cookie"]
    for flag in ("HttpOnly", "SameSite=Strict", "Path=/"):
        assert flag in cookie, cookie
    assert token not in cookie, "the cookie must not carry the token"
    jar = cookie.split(";")[0]
    s, h, body = http("GET", base + "/api/queries", cookie=jar)
    assert s == 200 and json.loads(body)["user"] == user, (s, body[:200])
    assert "default-src 'self'" in h["Content-Security-Policy"], dict(h)
    assert h["X-Content-Type-Options"] == "nosniff"
    checks["login"] = "ok"

    # A secret in a statement never reaches the API or swath.queries.
    secret = "SEKRIT-do-not-show-0123456789"
    result = {}
    run_all(uri, user, token, [
        "CREATE EXTERNAL TABLE leak STORED AS STAC LOCATION 's3://no-bucket/collection.json' "
        f"OPTIONS ('aws.secret_access_key' '{secret}', 'aws.access_key_id' 'AKIDEXAMPLE')"], result)
    assert "error" in result, result
    _, _, body = http("GET", base + "/api/queries", token=token)
    assert secret.encode() not in body, "a secret reached /api/queries"
    assert b"'aws.secret_access_key' '***'" in body, (result, body[:300])
    with swath.connect(uri, token=token, user=user) as conn:
        with conn.cursor() as cur:
            cur.execute("SELECT sql FROM swath.queries")
            text = json.dumps(cur.fetch_arrow_table().to_pylist())
    assert secret not in text, "a secret reached swath.queries"
    checks["secrets"] = "masked"

    # Cancel: only with the request header, only by the owner.
    thread, result = start(uri, user, token, [LONG])
    q = wait_for("the long statement", lambda: (
        (q := find_query(base, token, LONG)) is not None and q["state"] == "running" and q), 60)
    path = f"/api/queries/{q['id']}/cancel"
    s, _, body = http("POST", base + path, token=token)
    assert s == 403 and b"X-Swath-Request" in body, (s, body)
    s, _, body = http("POST", base + path, cookie=jar)
    assert s == 403, (s, body)
    s, _, body = http("POST", base + path, token=other_token, headers={"X-Swath-Request": "1"})
    assert s == 403 and b"only the user" in body, (s, body)
    s, _, body = http("POST", base + path, token=token, headers={"X-Swath-Request": "1"})
    assert s == 200 and json.loads(body)["cancelled"] is True, (s, body)
    thread.join(60)
    assert not thread.is_alive() and "ancel" in result.get("error", ""), result
    s, _, body = http("POST", base + path, token=token, headers={"X-Swath-Request": "1"})
    assert s == 409, (s, body)
    s, _, _ = http("GET", base + "/api/queries/999999", token=token)
    assert s == 404, s
    s, _, _ = http("GET", base + "/api/queries/not-a-number", token=token)
    assert s == 404, s
    checks["cancel"] = "owner only"

    # Logging out forgets the cookie.
    s, _, _ = http("POST", base + "/logout", cookie=jar)
    assert s == 303, s
    s, _, _ = http("GET", base + "/api/queries", cookie=jar)
    assert s == 401, s
    checks["logout"] = "ok"
    print(json.dumps(checks))


def main():
    mode, args = sys.argv[1], sys.argv[2:]
    if mode == "browser":
        browser(*args)
    elif mode == "agree":
        agree(*args)
    elif mode == "security":
        security(*args)
    else:
        raise SystemExit(f"unknown mode {mode}")


if __name__ == "__main__":
    main()
