"""The playgrounds of the tasks that read numbers, not text: adding, classify on numeric sequences and
caption, through the HTTP API (the answers are `rnnkit predict`'s), and a caption in a real browser."""
from __future__ import annotations

import base64
import io

import numpy as np
import pytest

pytest.importorskip("starlette", reason="rnnkit serve needs the serve extra: pip install 'rnnkit[serve]'")
from starlette.testclient import TestClient  # noqa: E402

from rnnkit.tasks import TASKS, caption, load  # noqa: E402


@pytest.fixture(scope="module")
def numeric(tmp_path_factory):
    """A folder with a tiny adding (--lag 6), classify on .npz sequences (D = 2) and caption (digits) run."""
    from rnnkit.cli.main import main

    d = tmp_path_factory.mktemp("numeric")
    rng = np.random.default_rng(0)
    np.savez(d / "seqs.npz", X=rng.normal(size=(40, 5, 2)), y=np.arange(40) % 2)
    tiny = ["--hidden", "4", "--batch-size", "8", "--max-steps", "1", "--quiet"]
    assert main(["train", "adding", "--lag", "6", *tiny, "--out", str(d / "runs" / "adding")]) == 0
    assert main(["train", "classify", str(d / "seqs.npz"), *tiny, "--out", str(d / "runs" / "classify")]) == 0
    assert main(["train", "caption", *tiny, "--out", str(d / "runs" / "caption")]) == 0
    return d / "runs"


@pytest.fixture(scope="module")
def client(numeric):
    from rnnkit.serve.app import create_app

    return TestClient(create_app([numeric]))


def play(client, run, **body):
    return client.post(f"/api/play?run=0/{run}", json={"action": "predict", **body})


def test_adding_shows_the_prediction_and_the_true_sum(client, numeric):
    offered = client.get("/api/model?run=0/adding").json()
    assert offered["playground"] == "predict" and "6 numbers in [0, 1]" in offered["hint"]
    example = offered["example"]                       # the task's own generator, marked with *
    got = play(client, "adding", text=example).json()
    assert got == TASKS["adding"].predict(load(numeric / "adding"), [example])[0]
    u = [float(w.rstrip("*")) for w in example.split()]
    assert example.count("*") == 2 and got["expected"] == pytest.approx(sum(u[i] for i in got["marked"]))
    r = play(client, "adding", text="0.1 0.2 0.3")
    assert r.status_code == 422 and r.json()["error"].startswith("INPUT: expected 6 space-separated numbers")


def test_numeric_classify_takes_a_typed_sequence(client, numeric):
    offered = client.get("/api/model?run=0/classify").json()
    assert offered["playground"] == "predict" and "one step a line, 2 number(s) a step" in offered["hint"]
    got = play(client, "classify", text="0.5, -1\n2 0.25\n1e-1 3\n").json()
    model = load(numeric / "classify")
    assert got == TASKS["classify"].predict(model, [np.array([[0.5, -1], [2, 0.25], [0.1, 3]])])[0]
    r = play(client, "classify", text="0.5 1\n2")
    assert r.status_code == 400 and r.json()["error"] == "text, line 2: 1 number(s); the first line has 2"
    r = play(client, "classify", text="0.5 x")
    assert r.status_code == 400 and "text, line 1: expected numbers" in r.json()["error"]
    r = play(client, "classify", text="1 2 3")
    assert r.status_code == 422 and "expected a (T, 2) sequence" in r.json()["error"]


def test_caption_of_a_row_typed_vectors_and_an_upload(client, numeric):
    model = load(numeric / "caption")
    vectors, captions = caption.read_captioned([])
    got = play(client, "caption", row=3).json()
    assert got["truth"] == captions[3] and got["captions"][0]["input"] == "row 3 of the bundled digits"
    assert got["captions"][0]["caption"] == caption.predict(model, [vectors[3]])[0]["caption"]
    typed = "\n".join(" ".join(f"{x:g}" for x in v) for v in vectors[:2])
    said = [c["caption"] for c in play(client, "caption", vectors=typed).json()["captions"]]
    assert said == [r["caption"] for r in caption.predict(model, [vectors[:2]])]
    buf = io.BytesIO()
    np.savez(buf, vectors=vectors[:2].reshape(2, 8, 8))   # images, flattened as rnnkit predict does
    sent = play(client, "caption", npz=base64.b64encode(buf.getvalue()).decode()).json()
    assert [c["caption"] for c in sent["captions"]] == said and len(sent["captions"][0]["vector"]) == 64


@pytest.mark.parametrize("body,status,message", [
    ({"row": 10 ** 6}, 400, "row: expected an integer from 0 to 1796"),
    ({}, 400, "give one of vectors (typed), npz (an uploaded .npz) or row"),
    ({"row": 1, "vectors": "1 2"}, 400, "given vectors, row"),
    ({"npz": "not base64!"}, 400, "npz: expected the file's bytes in base64"),
    ({"npz": base64.b64encode(b"hello").decode()}, 422, "the uploaded file: not an npz/zip file"),
    ({"vectors": "1 2 3"}, 422, "expected vectors of 64 features"),
])
def test_bad_caption_input_is_a_clear_message(client, body, status, message):
    r = play(client, "caption", **body)
    assert r.status_code == status and message in r.json()["error"]


def test_a_caption_appears_in_the_browser(numeric):
    from tests.serve.browser import browsing, fill, visit, wait_for

    with browsing(numeric) as (base, driver):
        visit(driver, base + "/#play?run=0%2Fcaption")
        fill(driver, "row", "5")
        driver.find_element("id", "caption-row").click()
        said = wait_for(driver, "#predict-output b.said")[0].text
        assert said and "row 5 of the bundled digits" in driver.find_element("id", "predict-output").text
        assert driver.find_element("css selector", "#predict-output canvas.vector").get_attribute("width") == "8"
