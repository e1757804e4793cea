"""The language model's tied input/output embeddings (Press & Wolf 2017): one matrix, both gradients."""
from __future__ import annotations

import numpy as np
import pytest

import rnnkit as rk
from rnnkit.cli.main import main
from rnnkit.data.vocab import Vocab
from rnnkit.errors import RnnkitError
from rnnkit.nn.module import Module
from rnnkit.tasks import charlm
from rnnkit.tasks.language_model import LanguageModel

TEXT = "the quick brown fox jumps over the lazy dog.\n" * 60


class Logits(Module):
    """The model's logits alone (its carried state has no gradient), for the gradient check."""

    def __init__(self, model: LanguageModel):
        super().__init__(model.dtype)
        self.lm = model

    def forward(self, ids):
        return self.lm.forward(ids)[0]

    def backward(self, dlogits):
        self.lm.backward(dlogits)


def tied_model(rnn) -> LanguageModel:
    return LanguageModel(Vocab(list("abcdefg")), "char", rnn, rnn.output_width, dropout=0.2, seed=0,
                         tie_weights=True)


@pytest.mark.parametrize("proj", [0, 3])
def test_tied_gradient_is_the_sum_of_both_uses(proj):
    model = tied_model(rk.LSTM(5 if not proj else 3, 5, num_layers=2, proj_size=proj, dtype="float64", seed=0))
    ids = np.random.default_rng(0).integers(0, 7, (3, 6))
    errors = rk.gradcheck_errors(Logits(model), ids)
    assert "lm.embedding.weight" in errors and "lm.head.weight" not in errors
    assert max(errors.values()) <= 1e-6, errors


def test_tied_model_holds_the_matrix_once():
    model = tied_model(rk.GRU(6, 6, seed=0))
    assert model.head.weight is model.embedding.params["weight"]
    assert {"embedding.weight", "head.bias"} <= set(model.state_dict()) and "head.weight" not in model.state_dict()
    untied = LanguageModel(model.vocab, "char", rk.GRU(6, 6, seed=0), 6, dropout=0.0, seed=0)
    assert untied.num_parameters() - model.num_parameters() == 7 * 6
    with pytest.raises(ValueError, match="head.weight"):
        model.load_state_dict(untied.state_dict())      # a state dict of the untied model: named tensors


def test_tied_sizes_must_match():
    with pytest.raises(ValueError, match="tie_weights: .*output width 4 .*proj_size.*given embed 6"):
        LanguageModel(Vocab(list("ab")), "char", rk.LSTM(6, 8, proj_size=4), 6, 0.0, 0, tie_weights=True)
    for given, message in [(dict(embed=12), "--embed must equal .* --hidden 16 .* given --embed 12"),
                           (dict(embed=12, proj_size=8), "--proj-size 8 .* given --embed 12")]:
        with pytest.raises(RnnkitError, match="--tie-weights: .*" + message):
            charlm.Config(hidden=16, tie_weights=True, **given).check()


def test_tied_run_trains_saves_loads_and_samples(tmp_path):
    path = tmp_path / "text.txt"
    path.write_text(TEXT)
    config = charlm.Config(data=[str(path)], hidden=24, embed=24, layers=1, bptt=16, batch_size=8, max_steps=60,
                           lr=0.01, tie_weights=True, eval_every=60, out=str(tmp_path / "run"), quiet=True)
    summary = charlm.train(config)
    assert summary["best_val_loss"] < np.log(len(set(TEXT))) - 1.0    # learned something: well below uniform
    model = rk.load(summary["run"])
    assert model.head.weight is model.embedding.params["weight"] and model.config.tie_weights
    assert len("".join(model.sample(20, seed=0))) == 20
    exported = model.to_torch_state_dict()                                # torch's tied module lists both names
    np.testing.assert_array_equal(exported["head.weight"], exported["embedding.weight"])
    assert main(["export", summary["run"], str(tmp_path / "tied.onnx"), "--check"]) == 0   # onnxruntime agrees
    with pytest.raises(RnnkitError, match="--tie-weights: a resumed run keeps its settings"):
        charlm.train(resume=summary["run"], changes={"tie_weights": False})


@pytest.mark.parametrize("tie, options", [(False, {}), (True, {"temperature": 0.6}), (False, {"top_k": 3})])
def test_the_compiled_sampler_draws_what_the_numpy_steps_draw(tie, options):
    """Without top-k/top-p a plain LSTM stack samples through Recurrent.step_draw (one compiled call a
    token); the tokens are those of step, the head and draw in NumPy, from the same seed."""
    pytest.importorskip("numba")
    from rnnkit import _fast
    vocab = Vocab(sorted(set(TEXT)))
    model = LanguageModel(vocab, "char", rk.LSTM(8, 8, num_layers=2, seed=0), 8, 0.0, seed=1, tie_weights=tie)

    def sample(backend):
        previous = _fast.set_backend(backend)
        try:
            return "".join(model.eval().sample(200, prime="the ", seed=5, **options))
        finally:
            _fast.set_backend(previous)
    assert sample("numba") == sample("numpy")
