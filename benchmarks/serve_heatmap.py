"""How long `rnnkit serve`'s inside view takes for a large model: a 2-layer LSTM-512 on 300 characters.

Run by hand (about a minute; needs the serve extra, Debian's chromium and chromium-driver)::

    python benchmarks/serve_heatmap.py [--hidden 512] [--layers 2] [--chars 300]

A charlm of that size is trained for one step (its weights do not matter for the timing) in a
temporary folder, served by the real command, and looked inside three times:

* server: POST /api/inside from Python (model load on the first call excluded), and the reply's size;
* browser: from the click on "Look inside" to the drawn canvas (request, unpacking and drawing), and
  the drawing alone (the canvas's ``data-draw-ms``, measured by static/app.js).
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

TEXT = "To be, or not to be, that is the question: whether 'tis nobler in the mind to suffer the slings and " \
       "arrows of outrageous fortune, or to take arms against a sea of troubles and by opposing end them. To " \
       "die, to sleep, no more; and by a sleep to say we end the heart-ache and the thousand natural shocks. "


def post(url: str, body: dict) -> bytes:
    request = urllib.request.Request(url, json.dumps(body).encode(), {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=300) as r:
        return r.read()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hidden", type=int, default=512)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--chars", type=int, default=300)
    args = ap.parse_args()
    from rnnkit.cli.main import main as rnnkit
    from tests.serve.browser import browsing, fill, visit, wait_for

    text = (TEXT * (args.chars // len(TEXT) + 1))[:args.chars]
    with tempfile.TemporaryDirectory() as d:
        Path(d, "corpus.txt").write_text(TEXT * 20)
        assert rnnkit(["train", "charlm", str(Path(d, "corpus.txt")), "--hidden", str(args.hidden), "--layers",
                       str(args.layers), "--batch-size", "2", "--bptt", "16", "--max-steps", "1", "--quiet",
                       "--out", str(Path(d, "runs", "big"))]) == 0
        with browsing(Path(d, "runs")) as (base, driver):
            url = base + "/api/inside?run=0%2Fbig"
            post(url, {"text": text})  # loads the model
            for _ in range(3):
                started = time.perf_counter()
                size = len(post(url, {"text": text}))
                print(f"server: {1000 * (time.perf_counter() - started):.0f} ms, reply {size / 1e6:.2f} MB")
            visit(driver, base + "/#inside?run=0%2Fbig")
            for _ in range(3):
                fill(driver, "text", text)
                driver.execute_script("document.getElementById('inside-output').innerHTML = ''")
                started = time.perf_counter()
                driver.find_element("id", "look").click()
                canvas = wait_for(driver, "canvas#heatmap")[0]
                total = time.perf_counter() - started
                print(f"browser: {1000 * total:.0f} ms from the click to the drawn canvas "
                      f"({canvas.get_attribute('data-units')} units x {canvas.get_attribute('data-steps')} steps), "
                      f"of which drawing {canvas.get_attribute('data-draw-ms')} ms")


if __name__ == "__main__":
    main()
