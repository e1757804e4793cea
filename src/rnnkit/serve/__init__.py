"""``rnnkit serve``: the runs, their curves, a playground and the inside of a model, in the browser.

Modules, from the bottom up:

    folders.py     the served folders, and the one rule that turns a run id into a path inside them
    runs.py        finding run directories and describing each (task, size, best metrics, status)
    follow.py      reading only what was appended to a .jsonl file since the last read (live curves)
    views.py       what each page shows, as JSON-ready dicts, computed by the functions the CLI uses
    app.py         the web application (Starlette): routes, limits, model calls off the event loop
    server.py      binding the address and running the application (uvicorn)
    static/        the page, its script and style, and the vendored chart library (uPlot)

Only ``app.py`` and ``server.py`` import the web framework (the ``serve`` extra); the rest needs
NumPy alone. Nothing here writes into a served folder.
"""
