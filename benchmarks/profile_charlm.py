"""Where a ``rnnkit train charlm`` step's time goes, part by part, beside the same PyTorch loop.

Usage (from the repository root)::

    python benchmarks/profile_charlm.py                 # compare.py's charlm step, every core
    python benchmarks/profile_charlm.py --threads 1 --steps 20

The step of ``compare.py``'s end-to-end point (``workloads.rnnkit_charlm``: embedding 64, 2-layer
LSTM 256, head over 65 symbols, batch 64, bptt 100, carried state, clip 5, Adam), inside the Trainer's
``cores_for_pairs``, taken apart with a clock between its parts:

    zero_grad | forward (embedding, LSTM, head) | loss | backward (head, LSTM, embedding) | clip | Adam

and the PyTorch loop of ``workloads.torch_charlm`` (same weights) the same way, where its loss and
backward are one call. Each figure is the median over ``--steps`` steps after 5 warm-up steps, in the
environment ``compare.py`` uses (OpenBLAS overrides removed, kernel printed). It says how much of a
step is the recurrent layers and how much could be won anywhere else.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import machine  # noqa: E402  (benchmarks/machine.py)

WARMUP = 5


def timed(into: dict, key: str, fn):
    """fn, which adds its time into ``into[key]`` (a list) on every call."""
    def run(*args, **kwargs):
        start = time.perf_counter()
        out = fn(*args, **kwargs)
        into.setdefault(key, []).append(time.perf_counter() - start)
        return out
    return run


def rnnkit_parts(steps: int) -> dict:
    import workloads as w

    from rnnkit.functional.losses import softmax_cross_entropy
    from rnnkit.optim import Adam, clip_grad_norm
    from rnnkit.train.trainer import cores_for_pairs
    c, parts = w.CHARLM, {}
    _, model = w.rnnkit_charlm()
    for name in ("embedding", "rnn", "head"):
        module = getattr(model, name)
        module.forward = timed(parts, f"  {name} forward", module.forward)
        module.backward = timed(parts, f"  {name} backward", module.backward)
    opt, batches, state = Adam(lr=c["lr"]), w.charlm_batches(c["V"], c["B"], c["T"]), None
    loss = timed(parts, "loss", softmax_cross_entropy)
    clip, adam = timed(parts, "clip", clip_grad_norm), timed(parts, "Adam", opt.step)
    forward, backward = timed(parts, "forward", model.forward), timed(parts, "backward", model.backward)
    with cores_for_pairs(model):
        for k in range(WARMUP + steps):
            start = time.perf_counter()
            x, y = batches[k % len(batches)]
            model.zero_grad()
            logits, state = forward(x, state)
            backward(loss(logits, y)[1])
            grads = model.gradients()
            clip(grads, c["clip"])
            adam(model.parameters(), grads)
            parts.setdefault("step", []).append(time.perf_counter() - start)
    return parts


def loss_backward(logits, y) -> None:
    import torch
    torch.nn.functional.cross_entropy(logits, y).backward()


def torch_parts(steps: int) -> dict:
    import torch
    import workloads as w
    c, parts = w.CHARLM, {}
    _, model = w.rnnkit_charlm()
    net, opt, batches = w.torch_charlm_parts(model)
    state = None
    for k in range(WARMUP + steps):
        start = time.perf_counter()
        x, y = batches[k % len(batches)]
        opt.zero_grad()
        logits, state = timed(parts, "forward", net)(x, state)
        state = tuple(s.detach() for s in state)
        timed(parts, "loss + backward", loss_backward)(logits.reshape(-1, c["V"]), y.reshape(-1))
        timed(parts, "clip", torch.nn.utils.clip_grad_norm_)(net.parameters(), c["clip"])
        timed(parts, "Adam", opt.step)()
        parts.setdefault("step", []).append(time.perf_counter() - start)
    return parts


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--threads", type=int, default=machine.usable_cores(), help="BLAS / PyTorch threads")
    p.add_argument("--steps", type=int, default=30, help="timed steps after the warm-up (default 30)")
    args = p.parse_args(argv)
    machine.enter_timing_environment(__file__, argv, args.threads)
    import numpy as np
    try:
        import torch
        torch.set_num_threads(args.threads)
    except ImportError:
        torch = None
    print(machine.header(machine.describe(args.threads, torch)))
    libraries = {"rnnkit": rnnkit_parts} | ({"torch": torch_parts} if torch is not None else {})
    for name, parts_of in libraries.items():
        print(f"{name} (ms, medians):")
        for part, times in parts_of(args.steps).items():
            kept = times[WARMUP * len(times) // (WARMUP + args.steps):]  # each part runs once a step
            print(f"  {part:<22} {np.median(kept) * 1e3:8.1f}")


if __name__ == "__main__":
    main()
