"""What the recurrent stack of a tag, forecast, caption or translate model reads (see :mod:`.inputs`).

Legend: B batch, T time steps, D features, E embedding, U casing classes, J·G character
features, S source steps.

* **tag**: the sentence split on whitespace (as ``tag.predict`` does), each word w_t entering the
  word-level stack as x_t = [E[word_t] ; onehot(casing_t) ; q_t] (B, T, E + U + J·G), q_t the
  character encoder's final states over w_t: :func:`tagger_features`, Tagger._encode in eval mode.
  Gradflow: windows of T words of the run's validation sentences, else random vocabulary words.
* **forecast**: the last window of the run's series (``model.tail``, the rows a continuation
  reads), or of a CSV file, scaled as the model scales it (``Forecaster.inputs``), labelled with
  the time stamps; or (univariate models) the numbers of ``--text``. Gradflow: windows of the
  run's series (T capped at its length).
* **caption**: one vector v (row ``--row`` of the run's data, the bundled digits by default, or of
  ``--file x.npz``); its greedy caption w_1 … w_n is generated and the stack reads
  x_t = [E[w_{t−1}] ; v] (w_0 = <bos>), each step labelled with the token it generates
  (:func:`greedy_caption`). Gradflow: rows of the data with random caption tokens.
* **translate**: the encoder over the tokenized source sentence (``--part encoder``), or the
  decoder over its greedy translation, teacher-forced on its own output (<bos> y_1 … y_n) from the
  encoder's final state, each step labelled with the token it generates (``--part decoder``).
  Gradflow: the encoder over windows of the run's held-out sources, else random source tokens.
"""
from __future__ import annotations

import re

import numpy as np

from rnnkit.diagnostics.probe import GENERATED_TOKEN, Probe, windows
from rnnkit.errors import DataError, RnnkitError

# -- tag -------------------------------------------------------------------------------------------------


def tagger_features(model, sentences: list[list[str]]) -> np.ndarray:
    """x (B, T, E + U + J·G) that ``Tagger._encode`` gives ``model.rnn`` for B sentences of T words
    each (eval mode: no dropout): [E[word_t] ; onehot(casing_t) ; q_t]."""
    from rnnkit.tasks.tagger import CASINGS

    ids = np.stack([model.encode(s) for s in sentences])                     # (B, T, 2 + S)
    B, T = ids.shape[:2]
    parts = [model.embedding.forward(ids[..., 0]),                            # (B, T, E)
             np.eye(len(CASINGS), dtype=model.dtype)[ids[..., 1]]]            # (B, T, U)
    if model.char is not None:
        chars = ids[..., 2:].reshape(B * T, -1)                               # (W, S), every word real
        clen = np.maximum((chars != 0).sum(axis=1), 1)
        parts.append(model.char.forward(chars[:, :clen.max()], clen).reshape(B, T, -1))   # (B, T, J·G)
    return np.concatenate(parts, axis=-1)


def tag_probe(model, text: str, source: str) -> Probe:
    words = text.split()                                                      # as tag.predict splits
    if not words:
        raise RnnkitError(f"{source}: the sentence has no words")
    return Probe(model.rnn, tagger_features(model, [words]), words, "step (input word)",
                 what=f"{len(words)} words of {source} (word embedding + casing + character features)")


def tag_words(model, T: int, batch: int, rng) -> list[list[str]]:
    """B windows of T words of the run's validation sentences, or random vocabulary words."""
    from rnnkit.tasks import tag

    try:
        _, val = tag.read_data(model.config)
        stream = [w for sentence in val.tokens for w in sentence]
    except (DataError, RnnkitError, OSError):
        stream = []
    rows = windows(np.array(stream, dtype=object), T, batch, rng) if stream else None
    if rows is None:
        rows = rng.choice(np.array(model.vocab.itos[2:], dtype=object), size=(batch, T))
    return [list(row) for row in rows]


# -- forecast --------------------------------------------------------------------------------------------


def series_numbers(model, text: str, source: str = "--text") -> np.ndarray:
    """(N, 1) values of a univariate series written as numbers separated by commas or spaces."""
    if len(model.spec["columns"]) != 1:
        raise RnnkitError(f"{source}: this forecaster also reads the feature columns "
                          f"{', '.join(model.spec['columns'][1:])}; numbers are read for a single-column "
                          f"model only: leave out --text (the run's last window) or give --file series.csv")
    values = []
    for item in (s for s in re.split(r"[,\s]+", text.strip()) if s):
        try:
            values.append(float(item))
        except ValueError:
            raise RnnkitError(f"{source}: expected numbers separated by commas or spaces, given {item!r}") from None
    need = 1 + int(model.spec["difference"])
    if len(values) < need or not np.all(np.isfinite(values)):
        raise RnnkitError(f"{source}: expected at least {need} finite numbers (the model reads changes from one "
                          f"value to the next)" if need > 1 else f"{source}: expected finite numbers")
    return np.array(values)[:, None]


def forecast_rows(model, file: str | None):
    """(values (N, D), time stamps (N,)): a CSV file, or the run's last rows (``model.tail``)."""
    from rnnkit.tasks import forecast

    if file is not None:
        series = forecast.read_data(file, model.config, list(model.spec["columns"]))
        return series.values, series.times
    return np.array(model.tail["values"], dtype=np.float64), list(model.tail["times"])


def forecast_probe(model, text: str | None, file: str | None, source: str) -> Probe:
    d = int(model.spec["difference"])
    if text is not None:
        values = series_numbers(model, text, source)
        x = model.inputs(values, source)[d:]                                  # (N − d, D)
        return Probe(model.rnn, x[None].astype(model.dtype), [f"{v:g}" for v in values[d:, 0]], "step (value)",
                     what=f"{len(x)} values of {source}, scaled as the model scales its inputs")
    values, times = forecast_rows(model, file)
    if len(values) <= model.first_origin:
        raise RnnkitError(f"{file}: {len(values)} rows; the model reads --window {model.window} "
                          f"(+{d} for the difference): give at least {model.first_origin + 1}")
    x = model.windows(model.inputs(values, file or "the run's series"), np.array([len(values) - 1]))   # (1, W, D)
    where = file or "the run's series"
    return Probe(model.rnn, x, list(times[-model.window:]), "time",
                 what=f"the last window of {where}: {times[-model.window]} .. {times[-1]} ({model.window} steps)")


def forecast_windows(model, T: int, batch: int, rng) -> np.ndarray:
    """B windows (B, T', D) of the run's scaled series, T' = min(T, the rows it has)."""
    from rnnkit.tasks import forecast

    try:
        cfg = model.config
        values = forecast.read_data(cfg.data[0] if cfg.data else None, cfg, list(model.spec["columns"])).values
    except (DataError, RnnkitError, OSError):
        values = np.array(model.tail["values"], dtype=np.float64)
    x = model.inputs(values)[int(model.spec["difference"]):]                  # (N', D)
    T = min(T, len(x))
    starts = rng.integers(0, len(x) - T + 1, size=batch)
    return np.stack([x[s:s + T] for s in starts]).astype(model.dtype)


# -- caption ---------------------------------------------------------------------------------------------


def greedy_caption(model, v: np.ndarray) -> tuple[np.ndarray, list[int]]:
    """(the ids read (T,): <bos> w_1 …, the ids generated (T,): w_1 … <eos>) of ``Captioner.generate``'s
    greedy caption of one standardised vector v (1, D); without <eos> within max_tokens, T = max_tokens."""
    emb, W_y, b_y = (model.embedding.params["weight"], model.head.params["weight"], model.head.params["bias"])
    eos, read, made, state = model.vocab.stoi["<eos>"], [model.vocab.stoi["<bos>"]], [], None
    for _ in range(model.config.max_tokens):
        y, state = model.rnn.step(np.concatenate([emb[read[-1:]], v], axis=1), state)   # [x_t; v] (1, E + D)
        made.append(int(np.argmax(y @ W_y.T + b_y)))
        if made[-1] == eos:
            break
        read.append(made[-1])
    return np.array(read[:len(made)]), made


def caption_vectors(model, file: str | None) -> tuple[np.ndarray, str]:
    """(raw vectors (N, D), where from): ``file``, else the run's data, else the bundled digits."""
    from pathlib import Path

    from rnnkit.tasks import caption

    path = file or (model.config.data[0] if model.config.data else caption.bundled_path())
    if file is None and not Path(path).is_file():
        raise RnnkitError(f"--file: the run's data {path!r} is not there; give the vectors as --file x.npz")
    vectors, _ = caption.vector_inputs(model, [path])
    return vectors, file or ("the bundled digits" if not model.config.data else path)


def caption_probe(model, file: str | None, row: int) -> Probe:
    from rnnkit.tasks.captioner import condition_forward

    vectors, where = caption_vectors(model, file)
    if isinstance(row, bool) or not isinstance(row, int) or not 0 <= row < len(vectors):
        raise RnnkitError(f"--row: expected a row 0..{len(vectors) - 1} of {where}, given {row!r}")
    v = model.scale(vectors[row:row + 1])                                     # (1, D)
    read, made = greedy_caption(model, v)
    x, _ = condition_forward(model.embedding.params["weight"][read][None], v)  # (1, T, E + D)
    words = model.vocab.decode(made)
    return Probe(model.rnn, x, words, GENERATED_TOKEN,
                 what=f"row {row} of {where}: greedy caption {model.join([w for w in words if w != '<eos>'])!r}")


def caption_batch(model, T: int, batch: int, rng) -> np.ndarray:
    """[E[w_{t−1}] ; v] (B, T, E + D): rows of the run's data, <bos> then random caption tokens."""
    from rnnkit.tasks.captioner import condition_forward

    try:
        vectors, _ = caption_vectors(model, None)
    except (DataError, RnnkitError, OSError):
        vectors = np.random.default_rng(rng.integers(2**31)).standard_normal((batch, model.features))
        vectors = vectors * np.array(model.scaler["std"]) + np.array(model.scaler["mean"])
    v = model.scale(vectors[rng.integers(0, len(vectors), size=batch)])       # (B, D)
    ids = rng.integers(4, len(model.vocab), size=(batch, T))                  # past <pad> <unk> <bos> <eos>
    ids[:, 0] = model.vocab.stoi["<bos>"]
    x, _ = condition_forward(model.embedding.params["weight"][ids], v)
    return x


# -- translate -------------------------------------------------------------------------------------------


def translate_probe(model, text: str, part: str, source: str) -> Probe:
    from rnnkit.tasks.seq2seq import BOS_ID
    from rnnkit.tasks.translate_data import source_tokens

    tokens = source_tokens(text)[:model.config.max_length]
    if not tokens:
        raise RnnkitError(f"{source}: expected a sentence with at least one word")
    src = model.source_vocab.encode(tokens)
    if part == "encoder":
        x = model.src_embedding.params["weight"][src][None]                  # (1, S, E)
        return Probe(model.encoder, x, model.source_vocab.decode(src), "step (source token)",
                     what=f"the encoder over {len(src)} source tokens of {source}")
    made = model.greedy([src], model.config.max_length)[0]
    ended = len(made) < model.config.max_length                              # else no <eos> came
    read = [BOS_ID] + (made if ended else made[:-1])                         # teacher forcing on its own output
    _, state, _ = model.encode([src])                                         # s_0 = h_S
    labels = model.target_vocab.decode(made) + (["<eos>"] if ended else [])
    return Probe(model.decoder, model.tgt_embedding.params["weight"][read][None], labels, GENERATED_TOKEN, state,
                 what=f"the decoder over its greedy translation of {source}: "
                      f"{' '.join(model.target_vocab.decode(made))!r}")


def source_windows(run, model, T: int, batch: int, rng) -> np.ndarray:
    """(B, T) source ids: windows of the held-out sources of ``run`` (a :class:`~rnnkit.train.run.Run`), one
    after another, else random tokens."""
    from rnnkit.data.pairs import read_pairs
    from rnnkit.tasks.translate_data import source_tokens

    try:
        pairs = read_pairs([str(run.file("heldout.tsv"))])
        stream = model.source_vocab.encode([t for s in pairs.sources for t in source_tokens(s)])
    except (DataError, RnnkitError, OSError):
        stream = []
    ids = windows(stream, T, batch, rng) if len(stream) else None
    return ids if ids is not None else rng.integers(2, len(model.source_vocab), size=(batch, T))
