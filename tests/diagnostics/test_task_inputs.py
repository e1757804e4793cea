"""inspect and gradflow on the tag, forecast, caption and translate models: the inputs the diagnostics
build are what each model feeds its recurrent stack (checked through the model's own outputs)."""
from __future__ import annotations

import numpy as np
import pytest

from rnnkit.cli.main import main
from rnnkit.diagnostics.gates import inspect_stack
from rnnkit.diagnostics.inputs import greedy_caption, probe, tagger_features, trained_inputs
from rnnkit.diagnostics.plotting import read_csv
from rnnkit.tasks import caption, forecast, open_trained, tag, translate, translate_data

PAIRS = [("i am hungry .", "j'ai faim ."), ("it is raining .", "il pleut ."), ("i am tired .", "je suis fatigué ."),
         ("where is the station ?", "où est la gare ?"), ("he is here .", "il est ici .")]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Tiny trained runs of the four tasks (bundled data, or a few pairs for translate; 5 steps each)."""
    root = tmp_path_factory.mktemp("task-runs")
    out = {name: str(root / name) for name in ("tag", "forecast", "caption", "translate")}
    tag.train(tag.Config(hidden=5, embed=6, char_embed=3, char_hidden=3, max_steps=5, quiet=True, out=out["tag"]))
    forecast.train(forecast.Config(cell="lstm", hidden=5, window=6, max_steps=5, quiet=True, out=out["forecast"]))
    caption.train(caption.Config(hidden=6, embed=4, layers=2, max_steps=5, quiet=True, out=out["caption"]))
    pairs = root / "pairs.tsv"
    pairs.write_text("".join(f"{s}\t{t}\n" for s, t in PAIRS * 8), encoding="utf-8")
    translate.train(translate.Config(data=[str(pairs)], hidden=6, embed=5, layers=2, min_count=1, val_fraction=0.1,
                                     max_length=7, beam=2, max_steps=5, quiet=True, out=out["translate"]))
    return out


def _top_h(results) -> np.ndarray:
    """(T, K·H): the top layer's outputs, directions side by side, as the module returns them."""
    top = max(r.layer for r in results)
    return np.concatenate([r.quantities[-1].values for r in results if r.layer == top], axis=1)


def test_tag_features_are_what_the_tagger_feeds_its_stack(runs):
    model, task, _ = open_trained(runs["tag"])
    words = ["EU", "rejects", "German", "call", "to", "boycott", "Britsh", "lamb"]
    x = tagger_features(model, [words])                                          # (1, T, E + U + J·G)
    assert x.shape == (1, len(words), model.rnn.input_size)
    logits = model.forward(model.batch([words])[0])                              # through Tagger._encode
    out, _ = model.rnn.forward(x)
    np.testing.assert_allclose(model.head.forward(out), logits, atol=1e-6)
    p = probe(model, task, "EU rejects German call")
    assert p.labels == ["EU", "rejects", "German", "call"]
    np.testing.assert_allclose(_top_h(inspect_stack(p.rnn, p.x)), model.rnn.forward(p.x)[0][0], atol=1e-5)


def test_forecast_reads_the_runs_last_window(runs):
    model, task, _ = open_trained(runs["forecast"])
    p = probe(model, task)
    tail = np.array(model.tail["values"])
    assert p.labels == model.tail["times"][-6:] and p.x.shape == (1, 6, 1)
    results = inspect_stack(p.rnn, p.x)
    h_T = _top_h(results)[-1:]                                                   # the final state
    u = model.head.forward(h_T.astype(model.dtype))                             # (1, h) scaled changes
    np.testing.assert_allclose(model.unscale(u, tail, [len(tail) - 1]), model.forecast(tail, [len(tail) - 1]),
                               rtol=1e-5)
    numbers = probe(model, task, "112, 118 132\n129")
    assert numbers.labels == ["118", "132", "129"]                              # the first is differenced away
    np.testing.assert_allclose(numbers.x[0, :, 0], model.inputs(np.array([[112.0], [118], [132], [129]]))[1:, 0],
                               rtol=1e-6)


def test_caption_steps_are_the_greedy_caption(runs):
    model, task, _ = open_trained(runs["caption"])
    vectors, _ = caption.read_captioned([])
    v = model.scale(vectors[5:6])
    read, made = greedy_caption(model, v)
    said = [model.vocab.itos[k] for k in made if model.vocab.itos[k] != "<eos>"]
    assert model.join(said) == model.generate(v, model.config.max_tokens)[0]
    p = probe(model, task, row=5)
    assert p.labels == model.vocab.decode(made) and p.x.shape == (1, len(read), model.rnn.input_size)
    h = _top_h(inspect_stack(p.rnn, p.x))                                        # (T, H)
    logits = h @ model.head.params["weight"].T.astype(np.float64) + model.head.params["bias"]
    assert list(logits.argmax(axis=1)) == made


def test_translate_encoder_and_decoder(runs):
    model, task, _ = open_trained(runs["translate"])
    enc = probe(model, task, "Where is the station?")
    assert enc.rnn is model.encoder and enc.labels == ["where", "is", "the", "station", "?"]
    np.testing.assert_allclose(_top_h(inspect_stack(enc.rnn, enc.x)), model.encoder.forward(enc.x)[0][0], atol=1e-5)
    dec = probe(model, task, "Where is the station?", part="decoder")
    made = translate.translate(model, "Where is the station?", beam=1)["translation"]
    assert [w for w in dec.labels if w != "<eos>"] == translate_data.target_tokens(made)
    _, state = model.encoder.forward(enc.x)
    expected, _ = model.decoder.forward(dec.x, state=state)                      # s_0 = h_S
    np.testing.assert_allclose(_top_h(inspect_stack(dec.rnn, dec.x, dec.state0)), expected[0], atol=1e-5)
    zero_start = _top_h(inspect_stack(dec.rnn, dec.x))
    assert not np.allclose(zero_start, expected[0], atol=1e-5)                 # the initial state matters


def test_cli_inspects_each_task(runs, tmp_path, capsys):
    cases = [(["tag", "--text", "EU rejects German call"], 4, "4 words of --text"),
             (["forecast"], 6, "the last window of the run's series: 1960-07 .. 1960-12"),
             (["forecast", "--text", "1 2 3 4 5"], 4, "4 values of --text"),
             (["caption", "--row", "1"], None, "row 1 of the bundled digits: greedy caption"),
             (["translate", "--text", "I am tired.", "--part", "decoder"], None, "the decoder over its greedy")]
    for k, (argv, steps, said) in enumerate(cases):
        out = tmp_path / f"ins{k}"
        assert main(["inspect", runs[argv[0]], *argv[1:], "--out", str(out)]) == 0
        printed = capsys.readouterr().out
        assert said in printed and "saturated" in printed
        sat = read_csv(out / "saturation.csv")
        assert steps is None or len({r["step"] for r in sat}) == steps
    times = [r["token"] for r in read_csv(tmp_path / "ins1" / "saturation.csv") if r["quantity"] == "h"]
    assert times == ["1960-07", "1960-08", "1960-09", "1960-10", "1960-11", "1960-12"]


@pytest.mark.parametrize("argv,message", [
    (["tag"], "--text: give the sentence"),
    (["tag", "--text", "a b", "--part", "decoder"], "--part: only a translate model"),
    (["caption", "--row", "99999"], "--row: expected a row 0..1796"),
    (["caption", "--text", "seven"], "--text: a caption model reads a vector"),
    (["forecast", "--text", "1, two"], "--text: expected numbers separated by commas or spaces, given 'two'"),
    (["forecast", "--text", "5"], "--text: expected at least 2 finite numbers"),
    (["translate", "--text", "..."], None),
])
def test_cli_errors_name_the_option(runs, argv, message, tmp_path, capsys):
    code = main(["inspect", runs[argv[0]], *argv[1:], "--out", str(tmp_path)])
    if message is None:
        assert code == 0                                                         # punctuation is a token
    else:
        assert code == 2 and message in capsys.readouterr().err


@pytest.mark.parametrize("task,T", [("tag", 12), ("forecast", 20), ("caption", 9), ("translate", 8)])
def test_gradflow_runs_on_each_task(runs, task, T, tmp_path, capsys):
    assert main(["gradflow", "--run", runs[task], "--T", str(T), "--batch", "2", "--out", str(tmp_path)]) == 0
    rows = read_csv(tmp_path / "gradflow.csv")
    assert len(rows) == T + 1 and float(rows[0][list(rows[0])[1]]) == pytest.approx(1.0)
    assert 0 < float(rows[T][list(rows[0])[1]]) < 1


def trained_inputs_of(run, T, batch):
    """(model, Probe): the model of ``run`` and its gradient-flow inputs."""
    trained = open_trained(run)
    return trained.model, trained_inputs(trained, T, batch)


def test_gradflow_inputs_come_from_the_task(runs):
    model, p = trained_inputs_of(runs["tag"], 12, 2)
    E = model.embedding.embedding_dim
    casing = p.x[..., E:E + 8]
    assert np.all(casing.sum(axis=-1) == 1)                                      # one casing class per word
    rows = model.embedding.params["weight"]
    assert all(np.any(np.all(rows == w, axis=1)) for w in p.x[0, :, :E])        # embedding rows, not N(0, 1)
    model, p = trained_inputs_of(runs["forecast"], 1000, 2)
    assert p.x.shape == (2, 143, 1)                                              # capped: 144 months, differenced
    model, p = trained_inputs_of(runs["translate"], 8, 3)
    assert p.rnn is model.encoder and p.x.shape == (3, 8, 5)
    model, p = trained_inputs_of(runs["caption"], 9, 2)
    E = model.embedding.embedding_dim
    np.testing.assert_array_equal(p.x[:, 0, :E], np.repeat(model.embedding.params["weight"][[2]], 2, axis=0))
    assert np.all(p.x[:, :, E:] == p.x[:, :1, E:])                              # v at every step


def test_a_forecaster_with_features_reads_a_csv_window_not_numbers(tmp_path, capsys):
    csv = tmp_path / "sales.csv"
    rows = [f"{2000 + i // 12}-{i % 12 + 1:02d},{10 + i % 7 + 0.1 * i},{i % 3}" for i in range(40)]
    csv.write_text("month,sales,promo\n" + "\n".join(rows) + "\n")
    run = str(tmp_path / "run")
    forecast.train(forecast.Config(data=[str(csv)], target="sales", features=["promo"], window=4, hidden=3,
                                   test_size=4, max_steps=2, quiet=True, out=run))
    assert main(["inspect", run, "--text", "1 2 3", "--out", str(tmp_path / "a")]) == 2
    assert "--text: this forecaster also reads the feature columns promo" in capsys.readouterr().err
    assert main(["inspect", run, "--file", str(csv), "--out", str(tmp_path / "b")]) == 0
    assert "the last window of " + str(csv) + ": 2003-01 .. 2003-04 (4 steps)" in capsys.readouterr().out
    model, task, _ = open_trained(run)
    p = probe(model, task, file=str(csv))
    assert p.x.shape == (1, 4, 2)
