"""The pages in a real browser: headless Chromium (Debian packages ``chromium`` and
``chromium-driver``) driven by Selenium, against `kg serve` (kg.server) on 127.0.0.1.

The browser resolves no host name but 127.0.0.1 (``--host-resolver-rules``), and every
request the pages made is read back from Chromium's performance log: none may leave the
server. The tests write screenshots of both pages to build/screenshots/ (ignored by git);
``KG_SCREENSHOTS=docs/img python -m pytest tests/test_browser.py`` writes the ones the README
shows."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path
from urllib.parse import quote

import pytest

from conftest import ROOT, SAMPLE
from kg.query import example_query, list_queries, run_query
from test_web import FIGID, FIGURE, front_matter

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
SCREENSHOTS = ROOT / os.environ.get("KG_SCREENSHOTS", "build/screenshots")
EXAMPLE = "figures-of-gene"  # a library query whose example (LRP6) has rows in the sample


def _browser_paths() -> tuple[str, str]:
    chromium = CHROMIUM if os.access(CHROMIUM, os.X_OK) else shutil.which("chromium")
    driver = CHROMEDRIVER if os.access(CHROMEDRIVER, os.X_OK) else shutil.which("chromedriver")
    if chromium and driver:
        return chromium, driver
    missing = " and ".join(name for name, path in (("chromium", chromium), ("chromedriver", driver)) if not path)
    message = f"{missing} not installed: apt-get install chromium chromium-driver (.ci/run installs them)"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="module")
def server(sample_store):
    """`kg serve` itself (kg.server.make_server: Starlette + uvicorn + SPARQL worker
    processes) over the sample store, on 127.0.0.1 (a free port)."""
    from kg.server import make_server

    with make_server(sample_store, "127.0.0.1", 0, workers=1) as running:
        yield running.base


@pytest.fixture(scope="module")
def browser():
    chromium, driver_path = _browser_paths()
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed: pip install -e '.[test]'")
    from selenium.webdriver.chrome.service import Service

    os.environ["SE_OFFLINE"] = "true"  # Selenium Manager never downloads a driver
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     "--window-size=1400,1000", "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
                     "--no-first-run", "--no-default-browser-check", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync", "--disable-extensions",
                     "--dns-prefetch-disable", "--lang=en-US"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()
        os.environ.pop("SE_OFFLINE", None)


def wait_for(driver, script: str, timeout: float = 30):
    """Poll ``script`` (JavaScript returning a value) until it is truthy; return the value."""
    deadline = time.monotonic() + timeout
    while True:
        value = driver.execute_script(script)
        if value:
            return value
        if time.monotonic() > deadline:
            logs = [entry["message"] for entry in driver.get_log("browser")][-10:]
            raise AssertionError(f"timed out waiting for: {script}\nbrowser console: {logs}")
        time.sleep(0.1)


def requested_urls(driver) -> list[str]:
    """Every URL the page asked for since the last call (Chromium's performance log), and the
    resources the current page's Performance API lists."""
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message.get("method") == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    urls += driver.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    return urls


def assert_all_local(urls: list[str], base: str) -> None:
    assert urls, "no request was recorded"
    outside = [u for u in urls if not (u.startswith(base + "/") or u == base or u.startswith(("data:", "blob:", "about:")))]
    assert not outside, f"requests left the server: {outside}"


def full_page_screenshot(driver, path: Path, width: int = 1400, max_height: int = 2400) -> None:
    """The page at ``width``, as tall as its content (at most ``max_height``): the window
    is resized so that the viewport, what Chromium captures, holds the whole page."""
    height = driver.execute_script("return Math.max(document.body.scrollHeight, document.documentElement.scrollHeight)")
    chrome = driver.execute_script("return window.outerHeight - window.innerHeight")
    driver.set_window_size(width, min(max(height, 900), max_height) + chrome)
    time.sleep(0.3)
    path.parent.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(path))
    driver.set_window_size(1400, 1000)


def test_query_page_runs_a_library_query(browser, server, sample_store):
    from selenium.webdriver.common.by import By

    query = next(q for q in list_queries() if q.name == EXAMPLE)
    text = example_query(query)
    expected = run_query(text, store=sample_store)
    figids = sorted({row["figid"].value for row in expected.rows})
    assert figids, "the example should have rows in the sample"

    browser.get(server + "/")
    wait_for(browser, "return window.kgYasgui && document.querySelector('.yasqe .CodeMirror')")
    assert wait_for(browser, "return document.getElementById('endpoint').textContent") == server + "/sparql"
    assert len(browser.find_elements(By.CSS_SELECTOR, "button.example")) == len(list_queries())
    browser.find_element(By.CSS_SELECTOR, f'button.example[data-name="{EXAMPLE}"]').click()
    assert browser.execute_script("return kgYasgui.getTab().getQuery()") == text
    browser.find_element(By.CSS_SELECTOR, ".yasqe_queryButton").click()
    wait_for(browser, "return document.querySelectorAll('.yasr .dataTable tbody tr td').length > 1")
    table = browser.find_element(By.CSS_SELECTOR, ".yasr .dataTable").text
    for figid in figids:
        assert figid in table
    rows = browser.find_elements(By.CSS_SELECTOR, ".yasr .dataTable tbody tr")
    assert len(rows) == len(expected.rows)
    links = [a.get_attribute("href") for a in browser.find_elements(By.CSS_SELECTOR, ".yasr .dataTable a.iri")]
    assert links and all(link.startswith(server + "/resource?iri=") for link in links), links[:3]
    full_page_screenshot(browser, SCREENSHOTS / "query-page.png", max_height=1000)
    assert_all_local(requested_urls(browser), server)

    # a figure IRI in the results opens the figure's page on this server
    figure_link = next(a for a in browser.find_elements(By.CSS_SELECTOR, ".yasr .dataTable a.iri")
                       if "pfocr.wikipathways.org" in a.get_attribute("title"))
    title = figure_link.get_attribute("title")
    figure_link.click()
    wait_for(browser, "return document.querySelector('h1') && location.pathname === '/resource'")
    assert browser.current_url == server + "/resource?iri=" + quote(title, safe="")
    assert_all_local(requested_urls(browser), server)


def test_figure_page_shows_title_and_genes(browser, server):
    from selenium.webdriver.common.by import By

    meta = front_matter(FIGID)
    table = (SAMPLE / "_data" / f"{FIGID}-genes.tsv").read_text("utf-8").splitlines()
    symbols = {line.split("\t")[table[0].split("\t").index("ncbigene_symbol")] for line in table[1:]}
    browser.get(server + "/resource?iri=" + quote(FIGURE, safe=""))
    heading = wait_for(browser, "return document.querySelector('h1') && document.querySelector('h1').innerText")
    assert heading == meta["figtitle"]
    shown = {cell.text for cell in browser.find_elements(By.CSS_SELECTOR, "section.genes td.symbol")}
    assert symbols <= shown
    assert meta["papertitle"] in browser.find_element(By.CSS_SELECTOR, "section.paper").text
    assert browser.execute_script("return document.scripts.length") == 0
    full_page_screenshot(browser, SCREENSHOTS / "figure-page.png")
    assert_all_local(requested_urls(browser), server)
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert not errors, errors
