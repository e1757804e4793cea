"""The HTTP API, through the framework's test client: the views' data, the limits, the refusals,
and that nothing is ever written into a run directory."""
from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("starlette", reason="rnnkit serve needs the serve extra: pip install 'rnnkit[serve]'")
from starlette.testclient import TestClient  # noqa: E402

from rnnkit.serve.app import MAX_BODY, create_app  # noqa: E402
from rnnkit.serve.views import MAX_CHARS  # noqa: E402


@pytest.fixture
def client(runs):
    return TestClient(create_app([runs]))


def snapshot(folder) -> dict:
    return {str(p.relative_to(folder)): (p.stat().st_mtime_ns, p.read_bytes()) for p in folder.rglob("*")
            if p.is_file()}


def test_the_views_never_write_into_a_run(client, runs):
    before = snapshot(runs)
    assert client.get("/api/runs").status_code == 200
    assert client.get("/api/curves?run=0/charlm").status_code == 200
    assert client.post("/api/play?run=0/charlm", json={"action": "sample", "length": 5}).status_code == 200
    assert client.post("/api/play?run=0/charlm", json={"action": "score", "text": "to be"}).status_code == 200
    assert client.post("/api/inside?run=0/charlm", json={"text": "to be"}).status_code == 200
    assert client.get("/api/gradflow?run=0/charlm").status_code == 200
    assert snapshot(runs) == before


def test_curves_have_one_point_per_step(client, runs):
    got = client.get("/api/curves?run=0/charlm").json()
    steps = (runs / "charlm" / "steps.jsonl").read_text().splitlines()
    assert got["source"] == "steps.jsonl" and got["train"]["step"] == [json.loads(s)["step"] for s in steps]
    assert got["metric"] == "val_loss" and len(got["val"]["value"]) == 1


def test_a_half_written_last_line_is_left_for_later(client, runs):
    path = runs / "charlm" / "steps.jsonl"
    n = len(path.read_text().splitlines())
    with open(path, "a") as f:
        f.write('{"step": 7, "loss": 2.5')                         # training is writing this line
    assert len(client.get("/api/curves?run=0/charlm").json()["train"]["step"]) == n
    with open(path, "a") as f:
        f.write(', "grad_norm": 0.3, "lr": 0.003, "time": 1.0}\n')   # now it is whole
    assert client.get("/api/curves?run=0/charlm").json()["train"]["step"][-1] == 7


def test_sample_is_reproducible_and_starts_with_the_prime(client):
    body = {"action": "sample", "prime": "to ", "length": 30, "seed": 3, "temperature": 0.8}
    a = client.post("/api/play?run=0/charlm", json=body).json()
    assert a["text"].startswith("to ") and len(a["text"]) == 33
    assert client.post("/api/play?run=0/charlm", json=body).json() == a


def test_score_and_inside_are_the_clis_numbers(client, runs):
    import rnnkit
    from rnnkit.diagnostics.gates import look_inside

    scored = client.post("/api/play?run=0/charlm", json={"action": "score", "text": "to be"}).json()
    assert scored["log_prob"] == pytest.approx(rnnkit.load(str(runs / "charlm")).score("to be")["log_prob"])
    got = client.post("/api/inside?run=0/charlm", json={"text": "to be"}).json()
    ref = look_inside(str(runs / "charlm"), "to be")
    assert got["tokens"] == list("to be") and got["tokens"] == ref.tokens
    names = [q["name"] for q in got["layers"][0]["quantities"]]
    assert names == ["i", "f", "g", "o", "c", "h"]
    for sent, q in zip(got["layers"][0]["quantities"], ref.results[0].quantities):
        assert sent["shape"] == [5, 8]
        np.testing.assert_allclose(unpacked(sent), q.values, atol=(sent["hi"] - sent["lo"]) / 65535)


def test_the_views_inside_use_the_playgrounds_model_loaded_outside_the_call_lock(client, monkeypatch):
    from rnnkit.tasks import charlm

    models, real, held = client.app.state.models, charlm.load, []
    monkeypatch.setattr(charlm, "load", lambda run, which: held.append(models.lock.locked()) or real(run, which))
    assert client.post("/api/inside?run=0/charlm", json={"text": "to be"}).status_code == 200
    assert client.get("/api/gradflow?run=0/charlm").status_code == 200
    assert client.post("/api/play?run=0/charlm", json={"action": "score", "text": "to be"}).status_code == 200
    assert client.post("/api/inside?run=0/charlm", json={"text": "or not"}).status_code == 200
    assert held == [False]                                # one load, while no model call held the lock


def test_a_run_with_only_last_weights_is_looked_inside_as_the_playground_sees_it(client, runs):
    """Before its first evaluation a run has no best.safetensors: every view takes the last weights."""
    from rnnkit.diagnostics.gates import look_inside
    from rnnkit.diagnostics.gradflow import run_flows
    from rnnkit.serve.views import GRADFLOW_BATCH, GRADFLOW_T

    path = runs / "charlm"
    manifest = json.loads((path / "manifest.json").read_text())
    del manifest["files"]["best.safetensors"]
    (path / "manifest.json").write_text(json.dumps(manifest))
    (path / "best.safetensors").unlink()
    got = client.post("/api/inside?run=0/charlm", json={"text": "to be"}).json()
    ref = look_inside(str(path), "to be", which="last")
    for sent, q in zip(got["layers"][0]["quantities"], ref.results[0].quantities):
        np.testing.assert_allclose(unpacked(sent), q.values, atol=(sent["hi"] - sent["lo"]) / 65535)
    flow = client.get("/api/gradflow?run=0/charlm").json()
    [ref] = run_flows(str(path), GRADFLOW_T, batch=GRADFLOW_BATCH, which="last")
    np.testing.assert_allclose(flow["grad_norm"], ref.grad_norm)


def unpacked(q: dict) -> np.ndarray:
    """views.packed read back, as static/app.js reads it."""
    import base64

    levels = np.frombuffer(base64.b64decode(q["levels"]), dtype="<u2").reshape(q["shape"])
    return q["lo"] + levels * ((q["hi"] - q["lo"]) / 65535)


def test_a_look_inside_too_big_is_refused_naming_what_fits(client, monkeypatch):
    from rnnkit.serve import views

    monkeypatch.setattr(views, "MAX_VALUES", 6 * 8 * 10)  # 10 steps of i, f, g, o, c, h of 8 units
    assert client.post("/api/inside?run=0/charlm", json={"text": "to be, or "}).status_code == 200
    r = client.post("/api/inside?run=0/charlm", json={"text": "to be, or n"})
    assert r.status_code == 400
    assert r.json()["error"] == ("text: 11 steps × 48 numbers a step (every gate and state of every layer) is more "
                                 "than the 480 one look inside may show; give at most 10 characters")


@pytest.mark.parametrize("body,message", [
    ({"action": "score", "text": "x" * (MAX_CHARS + 1)}, "too long"),
    ({"action": "score", "text": "to\x00be"}, "binary"),
    ({"action": "score", "text": "   "}, "empty"),
    ({"action": "score", "text": 3}, "expected text"),
    ({"action": "sample", "length": 10 ** 9}, "length: expected an integer from 0 to 2000"),
    ({"action": "sample", "temperature": -1}, "temperature"),
    ({"action": "predict", "text": "to be"}, "not offered"),
])
def test_bad_input_is_refused_clearly(client, body, message):
    r = client.post("/api/play?run=0/charlm", json=body)
    assert r.status_code == 400 and message in r.json()["error"]


def test_a_huge_or_binary_body_is_refused(client):
    r = client.post("/api/inside?run=0/charlm", content=b"x" * (MAX_BODY + 1))
    assert r.status_code == 400 and "larger than" in r.json()["error"]
    r = client.post("/api/inside?run=0/charlm", content=bytes(range(256)))
    assert r.status_code == 400 and "not JSON text" in r.json()["error"]


@pytest.mark.parametrize("query", ["../charlm", "0/..", "0%2F..%2F..", "0/charlm%2F..%2F..", "0/%2e%2e", "1/charlm"])
def test_paths_outside_are_refused(client, query):
    r = client.get("/api/curves?run=" + query)
    assert r.status_code == 404 and "error" in r.json()


@pytest.mark.parametrize("path", ["/static/../app.py", "/static/%2e%2e/app.py", "/static/..%2Fapp.py"])
def test_static_files_stay_in_their_folder(client, path):
    assert client.get(path).status_code == 404


def test_the_page_and_its_chart_library_are_served_locally(client):
    page = client.get("/").text
    assert "/static/uPlot.iife.min.js" in page and "http" not in page.replace("http-equiv", "")
    assert client.get("/static/uPlot.iife.min.js").status_code == 200


def test_a_damaged_run_does_not_stop_the_others(client, runs):
    (runs / "broken").mkdir()
    (runs / "broken" / "config.json").write_text("[]")
    listed = {r["name"]: r for r in client.get("/api/runs").json()["runs"]}
    assert listed["broken"]["error"] and listed["charlm"]["status"] == "finished"
    assert client.get("/api/curves?run=0/charlm").status_code == 200


def test_a_damaged_model_is_an_error_message(client, runs):
    (runs / "charlm" / "best.safetensors").write_bytes(b"garbage")
    r = client.post("/api/play?run=0/charlm", json={"action": "score", "text": "to be"})
    assert r.status_code == 422 and "best.safetensors" in r.json()["error"]


def test_a_model_is_loaded_with_one_read_of_its_config(runs, monkeypatch):
    from rnnkit.serve.app import Models
    from rnnkit.train import run as run_module

    read, real = [], run_module.read_json
    monkeypatch.setattr(run_module, "read_json", lambda path: read.append(path.name) or real(path))
    model, task, _ = Models().get(runs / "charlm")
    assert task == "charlm" and model.config.hidden == 8 and read.count("config.json") == 1


def test_a_run_without_weights_yet_is_an_error_message(client, runs):
    for name in ("best.safetensors", "last.safetensors"):
        (runs / "charlm" / name).unlink()
    r = client.get("/api/model?run=0/charlm")
    assert r.status_code == 422 and "no weights yet" in r.json()["error"]


@pytest.fixture(scope="module")
def other_tasks(tmp_path_factory):
    """A folder with a tiny echo, translate and forecast run (one training step each)."""
    from rnnkit.cli.main import main

    d = tmp_path_factory.mktemp("tasks")
    (d / "pairs.tsv").write_text("".join(f"a{i % 5} b{i % 3}\tx{i % 3} y{i % 5}\n" for i in range(40)))
    tiny = ["--hidden", "4", "--embed", "4", "--batch-size", "4", "--max-steps", "1", "--quiet"]
    assert main(["train", "echo", *tiny, "--out", str(d / "runs" / "echo")]) == 0
    assert main(["train", "translate", str(d / "pairs.tsv"), *tiny, "--out", str(d / "runs" / "translate")]) == 0
    assert main(["train", "forecast", *tiny, "--out", str(d / "runs" / "forecast")]) == 0
    return TestClient(create_app([d / "runs"]))


def test_predict_is_the_tasks_own(other_tasks):
    from rnnkit.tasks import TASKS, load

    assert other_tasks.get("/api/model?run=0/echo").json()["playground"] == "predict"
    model = load(other_tasks.app.state.folders.resolve("0/echo"))
    text = " ".join(["1"] * model.config.length)
    got = other_tasks.post("/api/play?run=0/echo", json={"action": "predict", "text": text}).json()
    assert got == TASKS["echo"].predict(model, [text])[0]
    r = other_tasks.post("/api/play?run=0/echo", json={"action": "predict", "text": "1 2"})
    assert r.status_code == 422 and "error" in r.json()


def test_translate_gives_the_n_best(other_tasks):
    got = other_tasks.post("/api/play?run=0/translate", json={"action": "predict", "text": "a1 b2", "beam": 3,
                                                              "nbest": 2}).json()
    assert len(got["nbest"]) == 2 and got["translation"] == got["nbest"][0]["translation"]
    r = other_tasks.post("/api/play?run=0/translate", json={"action": "predict", "text": "a1", "beam": 99})
    assert r.status_code == 400 and "beam" in r.json()["error"]


def test_forecast_continues_the_runs_series(other_tasks):
    from rnnkit.tasks import load
    from rnnkit.tasks.forecast import continue_series

    assert other_tasks.get("/api/model?run=0/forecast").json()["playground"] == "forecast"
    got = other_tasks.post("/api/play?run=0/forecast", json={"action": "forecast", "steps": 5}).json()
    model = load(other_tasks.app.state.folders.resolve("0/forecast"))
    assert got["forecast"] == continue_series(model, 5)
    assert len(got["history"]["time"]) == len(got["history"]["value"]) == len(model.tail["times"])


@pytest.mark.parametrize("run", ["0/echo", "0/forecast"])
def test_inside_without_text_looks_at_what_the_task_reads(other_tasks, run):
    from rnnkit.diagnostics.gates import look_inside

    got = other_tasks.post(f"/api/inside?run={run}", json={"text": ""}).json()
    ref = look_inside(other_tasks.app.state.folders.resolve(run))
    assert got["tokens"] == ref.tokens and got["what"] == ref.what


def test_a_slow_model_call_does_not_block_the_page(runs, monkeypatch):
    """While a sample is being drawn (held here until released), the runs list and the curves still answer."""
    import asyncio
    import threading

    import httpx2

    from rnnkit.serve import views

    started, release = threading.Event(), threading.Event()

    def slow_sample(model, body):
        started.set()
        assert release.wait(10), "never released (the event loop was blocked)"
        return {"text": "done", "prime": ""}

    monkeypatch.setattr(views, "sample", slow_sample)

    async def scenario():
        transport = httpx2.ASGITransport(app=create_app([runs]))
        async with httpx2.AsyncClient(transport=transport, base_url="http://serve") as c:
            slow = asyncio.ensure_future(c.post("/api/play?run=0/charlm", json={"action": "sample"}))
            while not started.is_set():
                await asyncio.sleep(0.01)
            listed = await asyncio.wait_for(c.get("/api/runs"), 10)
            curves = await asyncio.wait_for(c.get("/api/curves?run=0/charlm"), 10)
            assert not slow.done()  # the sample is still being drawn
            release.set()
            return listed, curves, await slow

    listed, curves, sampled = asyncio.run(scenario())
    assert listed.status_code == curves.status_code == 200 and sampled.json()["text"] == "done"
