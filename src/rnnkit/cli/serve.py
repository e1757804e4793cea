"""``rnnkit serve FOLDER ...``: the runs, their curves, a playground and the inside of a model in the browser.

Serves every run directory under the given folders at http://127.0.0.1:8765 (read-only: it never
writes into a run). Needs the serve extra: pip install "rnnkit[serve]". See docs/serve.md.
"""
from __future__ import annotations

import argparse

EXAMPLES = """examples:
  rnnkit serve runs/                       # http://127.0.0.1:8765 ; Ctrl-C stops it
  rnnkit serve runs/ sweeps/ --port 9000
  rnnkit serve runs/ --host 0.0.0.0        # other machines too (a warning is printed)
"""


def register(subparsers) -> None:
    p = subparsers.add_parser("serve", help="see runs and play with models in the browser", description=__doc__,
                              epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("folders", metavar="FOLDER", nargs="+", help="folders holding run directories")
    p.add_argument("--host", default="127.0.0.1",
                   help="the address to listen on (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=8765, help="the port (default 8765)")
    p.add_argument("--quiet", action="store_true", help="do not log each request")
    p.set_defaults(func=run)


def run(args) -> int:
    from rnnkit.errors import RnnkitError
    from rnnkit.serve.folders import Folders
    from rnnkit.serve.server import check_port

    check_port(args.port)
    folders = Folders(args.folders)
    try:
        from rnnkit.serve.server import serve
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as exc:
        raise RnnkitError(f"rnnkit serve needs the serve extra ({exc.name} is missing): "
                          f"pip install \"rnnkit[serve]\"") from None
    serve(folders, args.host, args.port, args.quiet)
    return 0
