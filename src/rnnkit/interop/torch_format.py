"""PyTorch state dicts in and out: the names, the layouts, and the ``torch.nn`` modules that match.

rnnkit stores its parameters under PyTorch's names in PyTorch's layouts, so a
state dict moves between the two unchanged; this module adds the size
inference (a model built from the tensors alone), the checks, and the files.

Legend: V vocabulary, E embedding, D input features, H hidden, L layers,
K directions (2 if bidirectional), G gates (RNN 1, GRU 3, LSTM 4), M outputs.

rnnkit                              torch.nn (``batch_first=True``)           tensors
``RNN/LSTM/GRU(D, H, L, bidir)``    ``nn.RNN/LSTM/GRU(D, H, L, ..)``          ``weight_ih_l{k}[_reverse]`` (G·H, D | K·H),
                                                                              ``weight_hh_l{k}[_reverse]`` (G·H, H),
                                                                              ``bias_ih_l{k}[_reverse]``, ``bias_hh_l{k}[_reverse]`` (G·H,)
``Linear(D, M)``                    ``nn.Linear(D, M)``                       ``weight`` (M, D), ``bias`` (M,)
``Embedding(V, E)``                 ``nn.Embedding(V, E)``                    ``weight`` (V, E)

Gate order along G·H: LSTM i, f, g, o; GRU r, z, n (reset-after form, the only
one ``nn.GRU`` computes; a ``GRU(reset_after=False)`` has no torch equivalent).

The task models are these ``torch.nn.Module``s (attribute names = key prefixes;
dropout has no parameters)::

    class LanguageModel(nn.Module):        # charlm: keys embedding.weight, rnn.*, head.weight, head.bias
        def __init__(self, V, E, H, L, cell=nn.LSTM):
            super().__init__()
            self.embedding, self.rnn, self.head = nn.Embedding(V, E), cell(E, H, L, batch_first=True), nn.Linear(H, V)
        def forward(self, ids):            # (B, T) int64 -> logits (B, T, V)
            return self.head(self.rnn(self.embedding(ids))[0])

    class ManyToOne(nn.Module):            # classify, echo, adding: [embedding.weight], rnn.*, head.*
        # head = nn.Linear(K·H, M); forward: h_n of the top layer's K directions, concatenated:
        #   h_n = self.rnn(x)[1]  (h_n for GRU/RNN, h_n[0] of (h_n, c_n) for LSTM)
        #   logits = self.head(torch.cat(list(h_n[-K:]), dim=-1))          # (B, M)
        # with lengths: pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)

    class ManyToMany(nn.Module):           # copy (and tagging): [embedding.weight], rnn.*, head.*
        # logits = self.head(self.rnn(x)[0])                               # (B, T, M)

A ``Classifier`` is a ManyToOne with M = 1 for two classes (P(class 1) = σ(z))
and M = C otherwise (softmax).
"""
from __future__ import annotations

import re
from typing import Mapping

import numpy as np

from rnnkit.interop._common import InteropError, describe, float_dtype, load_checked, read_tensors, refuse_variants
from rnnkit.nn.conversions import register

GATES = {1: "RNN", 3: "GRU", 4: "LSTM"}
_WEIGHT_IH = re.compile(r"^(.*?)weight_ih_l(\d+)(_reverse)?$")


# -- reading the sizes off the tensors ---------------------------------------------------------------------


def find_prefix(tensors: Mapping[str, np.ndarray], source="state_dict") -> str:
    """The prefix of the recurrent stack's keys ("" for a bare stack, "rnn." in a task model)."""
    prefixes = sorted({m.group(1) for k in tensors if (m := _WEIGHT_IH.match(k))})
    if len(prefixes) != 1:
        found = ", ".join(repr(p) for p in prefixes) or "none"
        raise InteropError(f"{describe(source)}: expected the tensors of one recurrent stack (keys like "
                           f"'weight_ih_l0'); found prefixes: {found}; pass prefix=")
    return prefixes[0]


def recurrent_sizes(tensors: Mapping[str, np.ndarray], prefix: str = "", source="state_dict") -> dict:
    """input_size, hidden_size, num_layers, bidirectional and gates (G) of a stack's tensors.

    Read off ``weight_ih_l0`` (G·H, D) and ``weight_hh_l0`` (G·H, H), or (G·H, P)
    with ``weight_hr_l0`` (P, H) of an LSTM with projections (then ``proj_size``
    is in the result too); the layers counted as ``weight_ih_l{k}`` keys;
    bidirectional if ``weight_ih_l0_reverse`` exists. Anything else is checked on loading.
    """
    where = describe(source)
    w_ih, w_hh = tensors.get(f"{prefix}weight_ih_l0"), tensors.get(f"{prefix}weight_hh_l0")
    if w_ih is None or w_hh is None:
        raise InteropError(f"{where}: missing {prefix}weight_ih_l0 or {prefix}weight_hh_l0: "
                           "not a PyTorch RNN/LSTM/GRU state dict")
    if w_ih.ndim != 2 or w_hh.ndim != 2 or w_hh.shape[1] == 0 or w_hh.shape[0] % w_hh.shape[1]:
        raise InteropError(f"{where}: {prefix}weight_ih_l0 {w_ih.shape} and {prefix}weight_hh_l0 {w_hh.shape} "
                           "are not (G·H, D) and (G·H, H)")
    hidden, gates = w_hh.shape[1], w_hh.shape[0] // w_hh.shape[1]
    w_hr, extra = tensors.get(f"{prefix}weight_hr_l0"), {}
    if w_hr is not None and w_hr.ndim == 2 and w_hr.shape[0] == w_hh.shape[1] and w_hh.shape[0] == 4 * w_hr.shape[1]:
        # an LSTM projection's (P, H) and (4·H, P); a weight_hr_l0 that is not is listed as unexpected on loading
        hidden, gates, extra = w_hr.shape[1], 4, {"proj_size": int(w_hr.shape[0])}
    if gates not in GATES:
        raise InteropError(f"{where}: {prefix}weight_hh_l0 {w_hh.shape} has {gates} gate blocks; "
                           "expected 1 (RNN), 3 (GRU) or 4 (LSTM)")
    layers = 0
    while f"{prefix}weight_ih_l{layers}" in tensors:
        layers += 1
    return {"input_size": int(w_ih.shape[1]), "hidden_size": int(hidden), "num_layers": layers,
            "bidirectional": f"{prefix}weight_ih_l0_reverse" in tensors, "gates": gates, **extra}


def _strip(tensors: Mapping[str, np.ndarray], prefix: str) -> dict[str, np.ndarray]:
    return {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}


# -- building rnnkit modules from tensors ------------------------------------------------------------------------


def build_recurrent(tensors: Mapping[str, np.ndarray], prefix: str, cls=None, nonlinearity: str = "tanh",
                    dtype=None, source="state_dict"):
    """An untrained rnnkit stack with the sizes of ``tensors`` (``cls`` checked or chosen by G)."""
    from rnnkit.nn.recurrent import GRU, LSTM, RNN

    sizes = recurrent_sizes(tensors, prefix, source)
    classes = {"RNN": RNN, "GRU": GRU, "LSTM": LSTM}
    inferred = classes[GATES[sizes.pop("gates")]]
    if cls is not None and cls is not inferred and not issubclass(cls, inferred):
        raise InteropError(f"{describe(source)}: these tensors are a {inferred.__name__} "
                           f"({prefix}weight_hh_l0 {tensors[prefix + 'weight_hh_l0'].shape}), not a {cls.__name__}")
    kwargs = dict(sizes, dtype=float_dtype(tensors, dtype))
    if inferred is RNN:
        kwargs["nonlinearity"] = nonlinearity
    return (cls or inferred)(**kwargs)


def recurrent_from_torch(source, cls=None, prefix: str | None = None, nonlinearity: str = "tanh", dtype=None):
    """An rnnkit RNN, LSTM or GRU holding the weights of a ``torch.nn.RNN/LSTM/GRU``.

    Args:
        source: a safetensors file (``safetensors.torch.save_file(m.state_dict(), path)``)
            or a dict of arrays with torch's names.
        cls: ``rk.LSTM``, ``rk.GRU`` or ``rk.RNN`` to insist on; None takes
            the one the gate count G of ``weight_hh_l0`` (G·H, H) names.
        prefix: the keys' prefix ("rnn." inside a model); None finds it.
        nonlinearity: "tanh" or "relu" for an RNN (not in the tensors).
        dtype: "float32" / "float64"; None keeps float64 tensors float64.

    Sizes (input, hidden, layers, bidirectional) come from the tensors; a
    missing, extra or wrongly shaped tensor raises one InteropError listing them all.
    """
    tensors = read_tensors(source)
    prefix = find_prefix(tensors, source) if prefix is None else prefix
    model = build_recurrent(tensors, prefix, cls, nonlinearity, dtype, source)
    load_checked(model, _strip(tensors, prefix), source)
    return model


def _encoder_parts(tensors, source, nonlinearity, dtype) -> dict:
    """The keyword arguments of a ManyToOne/ManyToMany: rnn, out_dim, vocab_size, embed."""
    rnn = build_recurrent(tensors, "rnn.", None, nonlinearity, dtype, source)
    head = tensors.get("head.weight")
    if head is None or head.ndim != 2:
        raise InteropError(f"{describe(source)}: missing head.weight (M, K·H): not an rnnkit task model's state dict")
    emb = tensors.get("embedding.weight")
    vocab_size, embed = (None, None) if emb is None else emb.shape
    return {"rnn": rnn, "out_dim": int(head.shape[0]), "vocab_size": vocab_size, "embed": embed}


def many_to_one_from_torch(source, nonlinearity: str = "tanh", dtype=None):
    """A :class:`~rnnkit.tasks.models.ManyToOne` (``[embedding.]``, ``rnn.``, ``head.``) from torch tensors."""
    from rnnkit.tasks.models import ManyToOne

    tensors = read_tensors(source)
    model = ManyToOne(**_encoder_parts(tensors, source, nonlinearity, dtype))
    load_checked(model, tensors, source)
    return model.eval()


def many_to_many_from_torch(source, nonlinearity: str = "tanh", dtype=None):
    """A :class:`~rnnkit.tasks.models.ManyToMany` from torch tensors (keys as for ManyToOne)."""
    from rnnkit.tasks.models import ManyToMany

    tensors = read_tensors(source)
    model = ManyToMany(**_encoder_parts(tensors, source, nonlinearity, dtype))
    load_checked(model, tensors, source)
    return model.eval()


def language_model_from_torch(source, vocab, level: str = "char", nonlinearity: str = "tanh", dtype=None):
    """A charlm :class:`~rnnkit.tasks.language_model.LanguageModel` from torch tensors and its vocabulary
    (an :class:`rnnkit.data.vocab.Vocab` or a list of tokens, id order)."""
    from rnnkit.data.vocab import Vocab
    from rnnkit.tasks.language_model import LanguageModel

    tensors = read_tensors(source)
    vocab = vocab if isinstance(vocab, Vocab) else Vocab(list(vocab))
    emb = tensors.get("embedding.weight")
    if emb is None or emb.ndim != 2:
        raise InteropError(f"{describe(source)}: missing embedding.weight (V, E): not a language model's state dict")
    if emb.shape[0] != len(vocab):
        raise InteropError(f"vocab: {len(vocab)} tokens, but {describe(source)} embeds {emb.shape[0]}")
    rnn = build_recurrent(tensors, "rnn.", None, nonlinearity, dtype, source)
    model = LanguageModel(vocab, level, rnn, int(emb.shape[1]), dropout=0.0, seed=0)
    load_checked(model, tensors, source)
    return model.eval()


# -- rnnkit -> torch ------------------------------------------------------------------------------------------


def load_torch_state_dict(model, source) -> None:
    """Load torch tensors (a safetensors path or a dict) into an existing rnnkit ``model``;
    one InteropError listing every missing, unexpected or wrongly shaped tensor."""
    load_checked(model, read_tensors(source), source)


def to_torch_state_dict(model) -> dict[str, np.ndarray]:
    """``{torch name: array}`` (copies, the model's dtype) that ``torch_module.load_state_dict``
    accepts after ``torch.from_numpy``; InteropError for a textbook GRU, which torch cannot compute, and for
    the cell variants torch.nn lacks (all but ``proj_size``)."""
    for name, m in model.named_modules():
        refuse_variants(m, "torch.nn", allowed=("proj_size", "recurrent_dropout", "weight_drop"))
        if getattr(m, "reset_after", True) is False:
            raise InteropError(f"{name or type(model).__name__}: GRU(reset_after=False) is the textbook form; "
                               "torch.nn.GRU computes only the reset-after form (export it to ONNX or Keras instead)")
    state = model.state_dict()
    for name, m in model.named_modules():   # a tied head (charlm --tie-weights): torch lists E under both names
        if hasattr(m, "tied"):
            state[f"{name}weight"] = m.weight.copy()
    return state


def save_torch(model, path) -> None:
    """Write ``model``'s weights as a safetensors file that ``safetensors.torch.load_file`` reads
    into the ``torch.nn`` module of the table above (written atomically)."""
    from rnnkit.train.checkpoint import save_tensors

    save_tensors(path, to_torch_state_dict(model), {"format": "pt"})


# the modules' doors to these conversions (the core does not import interop: see rnnkit.nn.conversions)
register(recurrent_from_torch=recurrent_from_torch, to_torch_state_dict=to_torch_state_dict,
         load_torch_state_dict=load_torch_state_dict)
