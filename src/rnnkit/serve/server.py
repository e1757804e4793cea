"""Binding the address and running the application (uvicorn), with the command line's messages.

The address is bound here, before uvicorn starts, so that a port in use is one clear error
(RnnkitError naming --port) instead of a log line from inside the server.
"""
from __future__ import annotations

import errno
import socket
import sys

from rnnkit.errors import RnnkitError

DEFAULT_HOST, DEFAULT_PORT = "127.0.0.1", 8765
EVERYWHERE = ("0.0.0.0", "::", "")


def check_port(port) -> None:
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise RnnkitError(f"--port: expected a port number from 1 to 65535, given {port!r}")


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on (host, port); RnnkitError naming --port or --host when it cannot be had."""
    check_port(port)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    # a port left in TIME_WAIT by a server just stopped may be taken again; one that is listening may not
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(64)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise RnnkitError(f"--port {port}: the port is in use (another 'rnnkit serve'?); "
                              f"give another one, e.g. --port {port + 1}") from None
        raise RnnkitError(f"--host {host}: cannot listen there ({exc.strerror or exc})") from None
    return sock


def warning_for(host: str) -> str | None:
    """The warning printed for an address that other machines can reach."""
    if host in EVERYWHERE:
        return (f"warning: --host {host or '0.0.0.0'} serves your runs to every machine that can reach this one, "
                f"without a password; use it only on a network you trust")
    return None


def serve(folders, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, quiet: bool = False) -> None:
    """Serve ``folders`` at http://host:port until interrupted (Ctrl-C)."""
    import uvicorn

    from rnnkit.serve.app import create_app

    app = create_app(folders)
    sock = bind(host, port)
    warning = warning_for(host)
    if warning:
        print(warning, file=sys.stderr)
    shown = f"[{host}]" if ":" in host else host
    print(f"rnnkit serve: http://{shown}:{port}  (Ctrl-C stops it)", flush=True)
    config = uvicorn.Config(app, log_level="warning" if quiet else "info", access_log=not quiet)
    uvicorn.Server(config).run(sockets=[sock])
