"""``rnnkit serve`` driven by a real headless Chromium: what a user sees and clicks.

The server is the real command (``python -m rnnkit serve``) on a free port; the run a tiny charlm
trained for 6 steps. Skips only where no browser can be had (see browser.py).
"""
from __future__ import annotations

import shutil

import pytest

from tests.serve.browser import WAIT, browsing, fill, visit, wait_for


@pytest.fixture(scope="module")
def served(trained, tmp_path_factory):
    """A copy of the trained folder (the live-curves test writes into it, as training would)."""
    copy = tmp_path_factory.mktemp("served") / "runs"
    shutil.copytree(trained, copy)
    return copy


@pytest.fixture(scope="module")
def site(served):
    """(base URL, browser) of a server over the copy of the trained folder."""
    with browsing(served) as got:
        yield got


def test_the_runs_list_shows_the_trained_run(site):
    base, driver = site
    visit(driver, base + "/#runs")
    rows = driver.find_elements("css selector", "#runs tr.run")
    assert [r.get_attribute("data-id") for r in rows] == ["0/charlm"]
    text = rows[0].text
    assert "charlm" in text and "finished" in text and "hidden=8" in text


def test_a_curve_has_one_point_per_step(site, served):
    base, driver = site
    visit(driver, base + "/#curves?runs=0%2Fcharlm")
    steps = (served / "charlm" / "steps.jsonl").read_text().splitlines()
    box = wait_for(driver, "#loss-step[data-points]")[0]
    assert int(box.get_attribute("data-points")) == len(steps) == 6
    assert box.find_elements("css selector", "canvas")  # drawn by uPlot
    evals = (served / "charlm" / "metrics.jsonl").read_text().splitlines()
    assert int(driver.find_element("id", "val-step").get_attribute("data-points")) == len(evals)


def test_a_sample_appears_after_clicking(site):
    base, driver = site
    visit(driver, base + "/#play?run=0%2Fcharlm")
    driver.find_element("name", "prime").send_keys("to be")
    fill(driver, "length", "40")
    driver.find_element("id", "sample").click()
    out = wait_for(driver, "#sample-output pre.out")[0]
    assert out.text.startswith("to be") and len(out.text) > len("to be")
    driver.find_element("id", "score").click()
    wait_for(driver, "#score-output table")


def test_the_heat_map_has_one_cell_per_character_and_unit(site):
    """The canvas is units × characters blocks; hovering and clicking a block name its unit."""
    from selenium.webdriver import ActionChains

    base, driver = site
    text = "to be, or not"
    visit(driver, base + "/#inside?run=0%2Fcharlm")
    fill(driver, "text", text)
    driver.find_element("id", "look").click()
    canvas = wait_for(driver, "canvas#heatmap")[0]
    size = {k: int(canvas.get_attribute(k)) for k in ("width", "height", "data-cell-width", "data-cell-height")}
    assert size["width"] // size["data-cell-width"] == size["width"] / size["data-cell-width"] == len(text)
    assert size["height"] / size["data-cell-height"] == 8  # hidden units
    assert (canvas.size["width"], canvas.size["height"]) == (size["width"], size["height"])  # drawn 1:1
    # a point inside the block of unit 5, character 2 (offsets are from the canvas's centre)
    x = (2.5 * size["data-cell-width"]) - size["width"] / 2
    y = (5.5 * size["data-cell-height"]) - size["height"] / 2
    ActionChains(driver).move_to_element_with_offset(canvas, int(x), int(y)).perform()
    assert driver.find_element("id", "hm-tip").text.startswith('unit 5, step 2 " ": h = ')
    ActionChains(driver).move_to_element_with_offset(canvas, int(x), int(y)).click().perform()
    assert canvas.get_attribute("data-chosen") == "5"
    assert "unit 5 of h" in driver.find_element("id", "strip-title").text
    assert len(wait_for(driver, "#strip span")) == len(text)
    assert "saturated" in driver.find_element("id", "saturation").text
    driver.find_element("id", "gradflow-go").click()
    wait_for(driver, "#gradflow canvas")


def test_a_folder_without_runs_gets_a_helpful_page(tmp_path):
    with browsing(tmp_path) as (base, driver):
        visit(driver, base + "/")
        text = driver.find_element("id", "empty").text
    assert "No runs here yet" in text and "rnnkit train charlm" in text


def test_huge_input_is_refused_on_the_page(site):
    base, driver = site
    visit(driver, base + "/#play?run=0%2Fcharlm")
    # the text box caps typing; a script (or a pasted file) can still send more: the server says why
    driver.execute_script("document.querySelector('#score-form textarea').removeAttribute('maxlength');"
                          "document.querySelector('#score-form textarea').value = 'x'.repeat(5000);")
    driver.find_element("id", "score").click()
    assert "too long" in wait_for(driver, "#score-output .error")[0].text


def test_curves_follow_a_run_being_written(site, served):
    """A line being written is not drawn; once whole, the next refresh (every 2 s) draws it."""
    from selenium.webdriver.support.ui import WebDriverWait

    base, driver = site
    path = served / "charlm" / "steps.jsonl"
    n = len(path.read_text().splitlines())
    visit(driver, base + "/#curves?runs=0%2Fcharlm")
    box = wait_for(driver, "#loss-step[data-points]")[0]
    with open(path, "a") as f:
        f.write('{"step": %d, "time": 9.0, "loss": 2.5, "grad_' % (n + 1))
    driver.execute_script("return new Promise((done) => setTimeout(done, 2500))")  # one refresh later
    assert int(box.get_attribute("data-points")) == n
    with open(path, "a") as f:
        f.write('norm": 0.4, "clipped": true, "lr": 0.003}\n')
    WebDriverWait(driver, WAIT).until(lambda d: box.get_attribute("data-points") == str(n + 1))


def test_a_forecast_is_plotted(tmp_path):
    from rnnkit.cli.main import main

    assert main(["train", "forecast", "--hidden", "4", "--batch-size", "4", "--max-steps", "1", "--quiet",
                 "--out", str(tmp_path / "runs" / "forecast")]) == 0
    with browsing(tmp_path / "runs") as (base, driver):
        visit(driver, base + "/#play?run=0%2Fforecast")
        fill(driver, "steps", "7")
        driver.find_element("id", "forecast").click()
        box = wait_for(driver, "#forecast-output[data-points]")[0]
        assert box.get_attribute("data-points") == "7" and box.find_elements("css selector", "canvas")
