"""The web application: routes, request limits, and model calls off the event loop.

    GET  /                      the page (static/index.html); the views are drawn by static/app.js
    GET  /api/runs              every run under the served folders (runs.list_runs)
    GET  /api/curves?run=ID[&since=S&metric=M]   views.curves: the lines appended since S
    GET  /api/model?run=ID      the task and what the playground offers for it
    POST /api/play?run=ID       {"action": "sample" | "score" | "forecast" | "predict", ...}: views.sample, ...
    POST /api/inside?run=ID     {"text"}: views.inside
    GET  /api/gradflow?run=ID   views.gradflow

Every run id goes through :meth:`Folders.resolve`. Request bodies are JSON of at most
``MAX_BODY`` bytes. Models are loaded once per checkpoint (the manifest's modification time tells
a new one; the best weights, else the last), shared by the playground and the views inside the
model, and called in a worker thread, one call at a time, so a slow sample does not stop the
page from listing runs or drawing curves.
"""
from __future__ import annotations

import json
import threading
from collections import OrderedDict
from pathlib import Path

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from rnnkit.errors import RnnkitError, RunError
from rnnkit.serve import views
from rnnkit.serve.folders import Folders, PathRefused
from rnnkit.serve.runs import list_runs
from rnnkit.train.run import Run

STATIC = Path(__file__).parent / "static"
MAX_BODY = 64 * 1024
MODELS_KEPT = 4


class Models:
    """The loaded models, newest used last; one model call at a time (the layers keep caches)."""

    def __init__(self):
        self.loaded: OrderedDict = OrderedDict()
        self.lock = threading.Lock()       # one model call at a time
        self.loading = threading.Lock()    # one change of ``loaded`` at a time

    def get(self, path: Path):
        """The :class:`~rnnkit.tasks.Trained` model of the run at ``path``: its best weights, else its last."""
        from rnnkit.tasks import open_trained

        which = Run(path).preferred_weights()
        if which is None:
            raise RunError(f"{path}: no weights yet (no best.safetensors, no last.safetensors): training has not "
                           f"written its first checkpoint")
        manifest = path / "manifest.json"
        key = (str(path), which, manifest.stat().st_mtime_ns if manifest.is_file() else 0)
        with self.loading:
            if key not in self.loaded:
                self.loaded[key] = open_trained(path, which)
                while len(self.loaded) > MODELS_KEPT:
                    self.loaded.popitem(last=False)
            self.loaded.move_to_end(key)
            return self.loaded[key]

    def call(self, fn, *args):
        with self.lock:
            return fn(*args)

    def use(self, path: Path, fn, *args):
        """``fn(the Trained model of the run at path, *args)``: loaded (:meth:`get`) outside the call lock, so
        that a load does not wait for another model's call, and called inside it."""
        return self.call(fn, self.get(path), *args)


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


async def _body(request: Request) -> dict:
    if int(request.headers.get("content-length") or 0) > MAX_BODY:
        raise views.InputRefused(f"the request is larger than {MAX_BODY // 1024} KiB; give a shorter text")
    data = b""
    async for chunk in request.stream():
        data += chunk
        if len(data) > MAX_BODY:
            raise views.InputRefused(f"the request is larger than {MAX_BODY // 1024} KiB; give a shorter text")
    try:
        body = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise views.InputRefused("the request is not JSON text (binary input?)") from None
    if not isinstance(body, dict):
        raise views.InputRefused("expected a JSON object")
    return body


def create_app(folders) -> Starlette:
    """The application serving the run directories under ``folders`` (paths, or a :class:`Folders`)."""
    folders = folders if isinstance(folders, Folders) else Folders(folders)
    models = Models()

    def handled(fn):
        async def endpoint(request: Request):
            try:
                return JSONResponse(await fn(request))
            except PathRefused as exc:
                return _error(404, str(exc))
            except views.InputRefused as exc:
                return _error(400, str(exc))
            except (RnnkitError, OSError) as exc:
                return _error(422, str(exc))
        return endpoint

    def run_path(request: Request) -> Path:
        return folders.resolve(request.query_params.get("run", ""))

    async def runs(request):
        found = await run_in_threadpool(list_runs, folders)
        return {"folders": [str(r) for r in folders.roots], "runs": found}

    async def curves(request):
        q = request.query_params
        return await run_in_threadpool(views.curves, run_path(request), q.get("since", ""), q.get("metric", ""))

    async def model(request):
        path = run_path(request)
        m, task, _ = await run_in_threadpool(models.get, path)
        return {"task": task, "playground": views.playground_kind(task), "hint": views.input_hint(task, m),
                "example": views.example_input(task, m), "max_chars": views.MAX_CHARS, "max_length": views.MAX_LENGTH,
                "max_upload": (MAX_BODY - 1024) * 3 // 4}   # base64 makes 4 bytes of 3; 1 KiB for the rest

    def play_now(path: Path, body: dict):
        trained = models.get(path)
        m, task, module = trained.model, trained.task, trained.module
        kind, action = views.playground_kind(task), body.get("action")
        if kind == "lm" and action in ("sample", "score"):
            return models.call(getattr(views, action), m, body)
        if kind == "forecast" and action == "forecast":
            return models.call(views.forecast, module, m, body)
        if kind == "predict" and action == "predict":
            return models.call(views.predict, module, task, m, body)
        raise views.InputRefused(f"action {action!r} is not offered for a {task!r} model in the browser")

    async def play(request):
        path, body = run_path(request), await _body(request)
        return await run_in_threadpool(play_now, path, body)

    async def inside(request):
        path, body = run_path(request), await _body(request)
        return await run_in_threadpool(models.use, path, views.inside, body.get("text"))

    async def gradflow(request):
        path = run_path(request)
        return await run_in_threadpool(models.use, path, views.gradflow)

    async def index(request):
        return FileResponse(STATIC / "index.html")

    app = Starlette(routes=[
        Route("/", index),
        Route("/api/runs", handled(runs)),
        Route("/api/curves", handled(curves)),
        Route("/api/model", handled(model)),
        Route("/api/play", handled(play), methods=["POST"]),
        Route("/api/inside", handled(inside), methods=["POST"]),
        Route("/api/gradflow", handled(gradflow)),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ])
    app.state.folders, app.state.models = folders, models
    return app
