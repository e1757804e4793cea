"""A real headless Chromium for the serve tests (Debian's chromium and chromium-driver, driven by Selenium).

:func:`chromium` gives a WebDriver, or skips the test with the reason no browser can be had;
:func:`browsing` a folder serves it with the real command and opens a browser; :func:`visit`,
:func:`wait_for` and :func:`fill` are the steps every page test takes.
"""
from __future__ import annotations

import os
import shutil
from contextlib import contextmanager

import pytest

BROWSERS = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")
DRIVERS = ("/usr/bin/chromedriver",)
WAIT = 20  # seconds: the longest a view may take to appear


def chromium(width: int = 1280, height: int = 900):
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed: pip install -e '.[test]'")
    browser = next((b for b in BROWSERS if os.access(b, os.X_OK)), None) or shutil.which("chromium")
    driver = next((d for d in DRIVERS if os.access(d, os.X_OK)), None) or shutil.which("chromedriver")
    if browser is None or driver is None:
        pytest.skip("no headless browser here: the browser tests need Debian's chromium and chromium-driver "
                    "(apt-get install -y chromium chromium-driver; .ci/run installs them)")
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                f"--window-size={width},{height}"):
        options.add_argument(arg)
    return webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=driver))


def visit(driver, url: str) -> None:
    """Open ``url`` and wait until the page has drawn its view (app.js sets data-ready)."""
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(url)
    WebDriverWait(driver, WAIT).until(lambda d: d.find_element("id", "view").get_attribute("data-ready") == "1")


def wait_for(driver, css: str) -> list:
    """The elements matching ``css``, once there are any (TimeoutException after WAIT seconds)."""
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, WAIT).until(lambda d: d.find_elements("css selector", css))


def fill(driver, name: str, text: str) -> None:
    """Replace what the form field ``name`` holds by ``text``, as typed."""
    field = driver.find_element("name", name)
    field.clear()
    field.send_keys(text)


@contextmanager
def browsing(folder, width: int = 1280, height: int = 900):
    """(base URL, driver) of ``rnnkit serve FOLDER`` on a free port and a browser, both stopped afterwards."""
    from tests.serve.test_server import free_port, start, stop

    driver = chromium(width, height)
    port = free_port()
    try:
        proc = start(folder, port)
    except BaseException:
        driver.quit()
        raise
    try:
        yield f"http://127.0.0.1:{port}", driver
    finally:
        driver.quit()
        stop(proc)
