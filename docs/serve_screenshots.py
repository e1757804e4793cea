"""Make docs/images/serve-*.png: each view of ``rnnkit serve``, taken by the headless Chromium the tests use.

    python docs/serve_screenshots.py          # about a minute; needs the test extra and chromium

Two character-level models (an LSTM and a GRU) are trained for a few hundred steps on the bundled
corpus, and a captioner on the bundled digits, into a temporary folder, which is served on a free port
and visited view by view.
"""
from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from selenium.webdriver import ActionChains  # noqa: E402

from rnnkit.cli.main import main  # noqa: E402
from tests.serve.browser import browsing, fill, visit, wait_for  # noqa: E402

OUT = ROOT / "docs" / "images"
TEXT = "ROMEO: But, soft! what light through yonder window breaks?"


def shoot(driver, name: str) -> None:
    driver.save_screenshot(str(OUT / f"serve-{name}.png"))
    print("wrote", OUT / f"serve-{name}.png")


def main_() -> None:
    with tempfile.TemporaryDirectory() as d:
        runs = Path(d) / "runs"
        for cell in ("lstm", "gru"):
            assert main(["train", "charlm", "--cell", cell, "--hidden", "48", "--embed", "16", "--max-steps", "400",
                         "--eval-every", "50", "--quiet", "--out", str(runs / f"charlm-{cell}")]) == 0
        assert main(["train", "caption", "--max-steps", "300", "--quiet", "--out", str(runs / "caption")]) == 0
        (Path(d) / "empty").mkdir()
        with browsing(runs, 1220, 1000) as (base, driver):
            visit(driver, base + "/#runs")
            shoot(driver, "runs")
            visit(driver, base + "/#curves?runs=0%2Fcharlm-lstm,0%2Fcharlm-gru")
            wait_for(driver, "#loss-step canvas")
            shoot(driver, "curves")
            visit(driver, base + "/#play?run=0%2Fcharlm-lstm")
            fill(driver, "prime", "ROMEO:")
            driver.find_element("id", "sample").click()
            wait_for(driver, "#sample-output pre")
            driver.find_element("id", "score").click()
            wait_for(driver, "#score-output table")
            shoot(driver, "playground")
            visit(driver, base + "/#inside?run=0%2Fcharlm-lstm")
            fill(driver, "text", TEXT)
            driver.find_element("id", "look").click()
            canvas = wait_for(driver, "canvas#heatmap")[0]
            cw, ch = (int(canvas.get_attribute(f"data-cell-{k}")) for k in ("width", "height"))
            at = (int(9.5 * cw - canvas.size["width"] / 2), int(5.5 * ch - canvas.size["height"] / 2))
            ActionChains(driver).move_to_element_with_offset(canvas, *at).click().perform()  # unit 5, "O"
            wait_for(driver, "#strip span")
            shoot(driver, "inside")
            driver.find_element("id", "gradflow-go").click()
            wait_for(driver, "#gradflow canvas")
            driver.execute_script("document.getElementById('gradflow').scrollIntoView()")
            time.sleep(0.3)
            shoot(driver, "gradflow")
            visit(driver, base + "/#play?run=0%2Fcaption")
            fill(driver, "row", "7")
            driver.find_element("id", "caption-row").click()
            wait_for(driver, "#predict-output b.said")
            shoot(driver, "caption")
        with browsing(Path(d) / "empty", 1000, 420) as (base, driver):
            visit(driver, base + "/")
            shoot(driver, "empty")


if __name__ == "__main__":
    main_()
