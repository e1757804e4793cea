"""Live curves read only what was appended (serve/follow.py), through the HTTP API: appends, a half-written
last line, and a file replaced or cut (a run started again) that starts the page over."""
from __future__ import annotations

import json
import os

import pytest

pytest.importorskip("starlette", reason="rnnkit serve needs the serve extra: pip install 'rnnkit[serve]'")
from starlette.testclient import TestClient  # noqa: E402

from rnnkit.diagnostics.curves import train_rows  # noqa: E402
from rnnkit.serve.app import create_app  # noqa: E402
from rnnkit.train.run import Run  # noqa: E402


def line(step: int) -> str:
    return json.dumps({"step": step, "time": step / 10, "loss": 3.0 - step / 100, "grad_norm": 0.5,
                       "clipped": step % 2 == 0, "lr": 0.003}) + "\n"


class Page:
    """What the page does: keep the rows it has, ask for what was appended since."""

    def __init__(self, client, run="0/charlm"):
        self.client, self.run, self.since, self.metric, self.steps, self.last = client, run, "", "", [], None

    def refresh(self) -> dict:
        r = self.client.get("/api/curves", params={"run": self.run, "since": self.since, "metric": self.metric})
        assert r.status_code == 200, r.text
        self.last = r.json()
        self.steps = (self.last["train"]["step"] if self.last["restart"] else self.steps + self.last["train"]["step"])
        self.since, self.metric = self.last["since"], self.last["metric"] or ""
        return self.last


@pytest.fixture
def page(runs):
    return Page(TestClient(create_app([runs])))


def test_only_appended_whole_lines_are_sent(page, runs):
    path = runs / "charlm" / "steps.jsonl"
    assert page.refresh()["restart"] and page.steps == [1, 2, 3, 4, 5, 6]
    with open(path, "a") as f:
        f.write(line(7) + line(8) + line(9)[:20])                       # two whole lines and a half-written one
    assert page.refresh()["train"]["step"] == [7, 8] and not page.last["restart"]
    assert page.refresh()["train"]["step"] == []                         # the half line is not sent
    with open(path, "a") as f:
        f.write(line(9)[20:])
    assert page.refresh()["train"]["step"] == [9] and page.last["train"]["clipped"] == [False]
    assert page.steps == [r[0] for r in train_rows(Run(runs / "charlm"))] == list(range(1, 10))
    assert page.last["metric"] == "val_loss" and page.last["val"]["step"] == []  # no evaluation since


def test_a_replaced_or_cut_file_starts_over(page, runs):
    path = runs / "charlm" / "steps.jsonl"
    page.refresh()
    (runs / "new.jsonl").write_text(line(1) + line(2))
    os.replace(runs / "new.jsonl", path)                                 # replaced: a run started from scratch
    assert page.refresh()["restart"] and page.steps == [1, 2]
    path.write_text(line(1))                                             # cut in place, shorter
    assert page.refresh()["restart"] and page.steps == [1]
    with open(path, "r+") as f:                                          # rewritten in place, longer
        f.write(line(5) + line(6) + line(7))
    assert page.refresh()["restart"] and page.steps == [5, 6, 7]
    assert page.refresh()["train"]["step"] == [] and not page.last["restart"]


@pytest.mark.parametrize("since", ["1.2", "a.b.c-1.2.3", "1.2.3", "1.2.3-4.5.6-7.8.9"])
def test_a_bad_position_is_refused(page, since):
    r = page.client.get("/api/curves", params={"run": "0/charlm", "since": since})
    assert r.status_code == 400 and "since" in r.json()["error"]
