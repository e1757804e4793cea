"""``rnnkit export RUN OUT``: write a run's model for other tools.

``OUT`` ending in ``.onnx`` gets an ONNX graph (ONNX's own LSTM/GRU/RNN
operators; needs ``pip install 'rnnkit[onnx]'``), ``.safetensors`` the weights
under PyTorch's names (see ``rnnkit.interop.torch_format`` for the matching
``torch.nn`` modules). The same as ``rnnkit.export_onnx(rnnkit.load(RUN), OUT)``.

A translate model becomes two graphs, ``NAME.encoder.onnx`` and ``NAME.decoder.onnx`` (the decoder
runs one step per call, for a host loop); every other model one graph, ``OUT``.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from rnnkit.cli._common import add_run_argument, load_model
from rnnkit.errors import RnnkitError

EXAMPLES = """examples:
  rnnkit export runs/charlm charlm.onnx              # ids (B, T) int64 -> logits (B, T, V)
  rnnkit export runs/classify clf.onnx --check       # and compare onnxruntime with rnnkit on random input
  rnnkit export runs/charlm step.onnx --state        # ids, h0, c0 -> logits, h_n, c_n: generate step by step
  rnnkit export runs/tag tagger.onnx --check         # packed word/casing/char ids (B, T, 2 + S) -> tag logits
  rnnkit export runs/caption cap.onnx --state        # v, ids, h0 -> logits, h_n: caption step by step
  rnnkit export runs/translate mt.onnx --check       # mt.encoder.onnx + mt.decoder.onnx (one decoder step)
  rnnkit export runs/charlm charlm.safetensors       # weights under torch names, for torch.nn modules
"""


def register(subparsers) -> None:
    p = subparsers.add_parser("export", help="write a run's model as ONNX or torch-named safetensors",
                              description=__doc__, epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_run_argument(p)
    p.add_argument("out", metavar="OUT", help="the file to write: NAME.onnx or NAME.safetensors")
    p.add_argument("--opset", type=int, default=17, help="ONNX opset, 14 or newer (default 17)")
    p.add_argument("--probabilities", action="store_true",
                   help="ONNX: add a 'probabilities' output (softmax; a classifier always has it)")
    p.add_argument("--no-lengths", action="store_true",
                   help="ONNX: no 'lengths' input (every sequence runs its full length)")
    p.add_argument("--state", action="store_true",
                   help="ONNX: add initial-state inputs h0 [c0] and final-state outputs h_n [c_n] (charlm, caption: "
                        "run a sequence piece by piece, for generation)")
    p.add_argument("--check", action="store_true",
                   help="ONNX: run the graph with onnxruntime on random input and compare it with rnnkit")
    p.set_defaults(func=run)


def run(args) -> int:
    from rnnkit.interop import export_onnx, save_torch
    from rnnkit.interop.onnx_export import part_path

    out = Path(args.out)
    if out.suffix not in (".onnx", ".safetensors"):
        raise RnnkitError(f"OUT: expected a name ending in .onnx or .safetensors, given {args.out!r}")
    if not out.parent.is_dir():
        raise RnnkitError(f"OUT: directory {str(out.parent)!r} does not exist")
    model = load_model(args)
    if out.suffix == ".safetensors":
        save_torch(model, out)
        print(f"wrote {out} ({model.num_parameters():,} parameters under PyTorch's names)")
        return 0
    protos = export_onnx(model, out, lengths=False if args.no_lengths else None,
                         probabilities=True if args.probabilities else None, state=args.state, opset=args.opset)
    parts = {"": protos} if not isinstance(protos, dict) else protos       # translate: an encoder and a decoder
    for part, proto in parts.items():
        path = part_path(out, part) if part else out
        inputs = ", ".join(i.name for i in proto.graph.input)
        outputs = ", ".join(o.name for o in proto.graph.output)
        print(f"wrote {path} (opset {args.opset}; inputs {inputs}; outputs {outputs})")
        if args.check:
            _check(model, proto, path)
    if getattr(model, "crf", None) is not None:  # a tagger trained with --crf
        print("the CRF is not in the graph: its logits are the CRF's emission scores; decode them with Viterbi "
              "over crf.transitions, crf.start_transitions and crf.end_transitions (rnnkit: model.decode)")
    return 0


def _check(model, proto, path: Path) -> None:
    """Compare onnxruntime with rnnkit on random input (one graph); RnnkitError beyond 1e-4."""
    from rnnkit.interop import compare_onnx

    diffs = compare_onnx(model, proto)
    print("onnxruntime vs rnnkit, max |difference|: " + ", ".join(f"{k} {v:.1e}" for k, v in diffs.items()))
    if max(diffs.values()) > 1e-4:
        raise RnnkitError(f"{path}: onnxruntime differs from rnnkit by up to {max(diffs.values()):.1e}")
