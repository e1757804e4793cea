"""The timed workloads, each built for rnnkit and for PyTorch with the same weights.

Legend: T time steps, B batch, D input features, H hidden units, L layers,
V symbols (generation).

* training step: forward over a (B, T, D) float32 batch, then backward of
  sum(out), which gives dx and every weight gradient. PyTorch's input has
  ``requires_grad=True`` so that both compute dx (rnnkit always does).
* generation: a 2-layer LSTM over one-hot symbols, B = 1, one token at a
  time through ``layer.step``, a ``Linear`` head, greedy choice fed back.

Every builder returns a zero-argument callable that does the work once.
PyTorch is imported lazily: it is optional for the benchmark.
"""
from __future__ import annotations

import numpy as np

import rnnkit as rk

CLASSES = {"lstm": "LSTM", "gru": "GRU", "rnn": "RNN"}


GATES = {"lstm": 4, "gru": 3, "rnn": 1}


def rnnkit_layer(cell: str, D: int, H: int, L: int, seed: int = 0, bidirectional: bool = False,
                 **variants) -> rk.Recurrent:
    """The rnnkit stack; ``variants``: cell-variant options (``proj_size=P``, ``layer_norm=True``, ...)."""
    return getattr(rk, CLASSES[cell])(D, H, num_layers=L, bidirectional=bidirectional, seed=seed, **variants)


def with_backend(name: str, run):
    """``run`` with rnnkit's element-wise code set to ``name`` ("numba" or "numpy") for each call."""
    from rnnkit import _fast

    def call():
        previous = _fast.set_backend(name)
        try:
            return run()
        finally:
            _fast.set_backend(previous)
    return call


def batch(T: int, B: int, D: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((B, T, D)).astype(np.float32)


def rnnkit_train(layer: rk.Recurrent, x: np.ndarray):
    """Forward and backward of sum(out) through an rnnkit layer."""
    dout = None

    def run():
        nonlocal dout
        out, _ = layer.forward(x)
        if dout is None:
            dout = np.ones_like(out)
        layer.backward(dout)
    return run


def torch_layer(cell: str, layer: rk.Recurrent):
    """The PyTorch layer of the same shape, holding ``layer``'s weights (a projected LSTM: ``proj_size``)."""
    import torch
    cls = getattr(torch.nn, CLASSES[cell])
    extra = {"proj_size": layer.proj_size} if layer.proj_size else {}
    twin = cls(layer.input_size, layer.hidden_size, num_layers=layer.num_layers, batch_first=True,
               bidirectional=layer.bidirectional, **extra)
    twin.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in layer.state_dict().items()})
    return twin


def torch_train(twin, x: np.ndarray):
    """Forward and backward of sum(out) through a PyTorch layer (dx included)."""
    import torch
    xt = torch.from_numpy(x.copy()).requires_grad_(True)

    def run():
        xt.grad = None
        out, _ = twin(xt)
        out.backward(torch.ones_like(out))
    return run


def max_difference(layer: rk.Recurrent, twin, x: np.ndarray) -> float:
    """max |out_rnnkit − out_torch| over one forward: the two compute the same thing."""
    import torch
    with torch.no_grad():
        want = twin(torch.from_numpy(x))[0].numpy()
    return float(np.max(np.abs(layer.forward(x)[0] - want)))


def rnnkit_generate(H: int, V: int, L: int, tokens: int):
    """Greedy generation of ``tokens`` symbols through ``LSTM.step``; returns (run, modules)."""
    lstm, head = rk.LSTM(V, H, num_layers=L, seed=0).eval(), rk.Linear(H, V, seed=1)
    eye = np.eye(V, dtype=np.float32)

    def run():
        state, tok, out = None, 0, []
        for _ in range(tokens):
            y, state = lstm.step(eye[tok:tok + 1], state)
            tok = int(np.argmax(head.forward(y)))
            out.append(tok)
        return out
    return run, (lstm, head)


def rnnkit_sampler(H: int, V: int, L: int, tokens: int):
    """``tokens`` symbols from the charlm sampler (``LanguageModel.sample``: embedding, 2-layer
    LSTM ``step``, head, softmax and a draw per token), embedding size 64."""
    from rnnkit.data.vocab import Vocab
    from rnnkit.tasks.language_model import LanguageModel
    model = LanguageModel(Vocab([chr(32 + i) for i in range(V)]), "char",
                          rk.LSTM(64, H, num_layers=L, seed=0), 64, 0.0, seed=1).eval()
    return lambda: list(model.sample(tokens, seed=0))


def torch_generate(modules, tokens: int):
    """The same generation with ``torch.nn.LSTM`` and ``torch.nn.Linear`` under ``no_grad``."""
    import torch
    lstm, head = modules
    tl = torch_layer("lstm", lstm).eval()
    th = torch.nn.Linear(head.in_features, head.out_features)
    th.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in head.state_dict().items()})
    eye = torch.eye(lstm.input_size)

    def run():
        state, tok, out = None, 0, []
        with torch.no_grad():
            for _ in range(tokens):
                y, state = tl(eye[tok].view(1, 1, -1), state)
                tok = int(torch.argmax(th(y[0])))
                out.append(tok)
        return out
    return run


def train_flops(cell: str, T: int, B: int, D: int, H: int, L: int, bidirectional: bool = False,
                P: int = 0) -> float:
    """3 × the forward GEMM FLOPs of a stack (the backward does twice the forward's products); with a
    projection h is P wide (W_hh is G·H × P) and each step adds h = W_hr m, an H × P product."""
    K, W = 2 if bidirectional else 1, P or H
    forward = sum(2 * T * B * (((D if layer == 0 else K * W) + W) * GATES[cell] * H + H * P) * K for layer in range(L))
    return 3.0 * forward


CHARLM = {"V": 65, "E": 64, "H": 256, "L": 2, "B": 64, "T": 100, "lr": 2e-3, "clip": 5.0}


def charlm_batches(V: int, B: int, T: int, n: int = 4, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """``n`` (inputs, targets) pairs of random symbol ids, each (B, T): a stream cut as TBPTT cuts it."""
    ids = np.random.default_rng(seed).integers(V, size=(B, n * T + 1))
    return [(ids[:, k * T:(k + 1) * T], ids[:, k * T + 1:(k + 1) * T + 1]) for k in range(n)]


def rnnkit_charlm(c: dict = CHARLM):
    """One ``rnnkit train charlm`` step, as the Trainer runs it: zero grads, forward with the carried
    state, softmax cross-entropy, backward, clip the global norm, Adam, inside the Trainer's
    ``cores_for_pairs`` (BLAS at one thread, the layers' batch parts and large products split over the cores).
    Returns (run, model)."""
    from rnnkit.data.vocab import Vocab
    from rnnkit.functional.losses import softmax_cross_entropy
    from rnnkit.optim import Adam, clip_grad_norm
    from rnnkit.tasks.language_model import LanguageModel
    from rnnkit.train.trainer import cores_for_pairs
    model = LanguageModel(Vocab([chr(32 + i) for i in range(c["V"])]), "char",
                          rk.LSTM(c["E"], c["H"], num_layers=c["L"], seed=0), c["E"], 0.0, seed=1)
    opt, batches, carry = Adam(lr=c["lr"]), charlm_batches(c["V"], c["B"], c["T"]), {"state": None, "k": 0}

    def run():
        with cores_for_pairs(model):
            step()

    def step():
        x, y = batches[carry["k"] % len(batches)]
        carry["k"] += 1
        model.zero_grad()
        logits, carry["state"] = model.forward(x, carry["state"])
        _, dlogits = softmax_cross_entropy(logits, y)
        model.backward(dlogits)
        grads = model.gradients()
        clip_grad_norm(grads, c["clip"])
        opt.step(model.parameters(), grads)
    return run, model


def torch_charlm_parts(model, c: dict = CHARLM):
    """(net, optimizer, batches) of the PyTorch loop equivalent to :func:`rnnkit_charlm` (same weights):
    nn.Embedding, nn.LSTM, nn.Linear; Adam; the same batches as tensors."""
    import torch

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = torch.nn.Embedding(c["V"], c["E"])
            self.rnn = torch.nn.LSTM(c["E"], c["H"], num_layers=c["L"], batch_first=True)
            self.head = torch.nn.Linear(c["H"], c["V"])

        def forward(self, x, state):
            h, state = self.rnn(self.embedding(x), state)
            return self.head(h), state

    net = Net()
    net.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in model.state_dict().items()})
    batches = [(torch.from_numpy(x), torch.from_numpy(y)) for x, y in charlm_batches(c["V"], c["B"], c["T"])]
    return net, torch.optim.Adam(net.parameters(), lr=c["lr"]), batches


def torch_charlm(model, c: dict = CHARLM):
    """The equivalent PyTorch loop (:func:`torch_charlm_parts`): cross_entropy, clip_grad_norm_, Adam,
    the carried state detached between steps."""
    import torch
    net, opt, batches = torch_charlm_parts(model, c)
    carry = {"state": None, "k": 0}

    def run():
        x, y = batches[carry["k"] % len(batches)]
        carry["k"] += 1
        opt.zero_grad()
        logits, state = net(x, carry["state"])
        carry["state"] = tuple(s.detach() for s in state)
        torch.nn.functional.cross_entropy(logits.reshape(-1, c["V"]), y.reshape(-1)).backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), c["clip"])
        opt.step()
    return run
