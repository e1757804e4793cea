"""What every diagnostic shares: CSV files, optional matplotlib figures, atomic writes.

Every diagnostic writes its numbers as CSV first, so nothing depends on the
picture alone; the PNG comes second and only when matplotlib is installed
(``pip install "rnnkit[plot]"``). matplotlib is imported inside
:func:`pyplot`, never with rnnkit, and always with the non-interactive Agg
backend, so the commands work on a machine without a display. Files are
written atomically (rendered to memory, then
:func:`rnnkit.train.checkpoint.atomic_write_bytes`).
"""
from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Sequence
from pathlib import Path

from rnnkit.train.checkpoint import atomic_write_bytes

PLOT_HINT = 'matplotlib is not installed, so only the CSV files were written; for the plots: pip install "rnnkit[plot]"'
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def pyplot():
    """matplotlib.pyplot with the Agg backend, or None when matplotlib is not installed."""
    try:
        import matplotlib
        matplotlib.use("Agg", force=True)
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    return plt


def _cell(value) -> str:
    """A CSV field: floats with full precision (repr), NaN and ±inf spelled out, the rest str()."""
    if isinstance(value, float):
        return "nan" if math.isnan(value) else repr(value)
    return "" if value is None else str(value)


def write_csv(path, header: Sequence[str], rows: Iterable[Sequence]) -> Path:
    """Write ``rows`` under ``header`` to ``path`` (atomically); returns the path."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([_cell(v) for v in row])
    path = Path(path)
    atomic_write_bytes(path, buf.getvalue().encode("utf-8"))
    return path


def read_csv(path) -> list[dict[str, str]]:
    """The rows of a CSV file as dicts (header -> text)."""
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def save_figure(fig, path, dpi: int = 100, crop: bool = True) -> Path:
    """Render ``fig`` to PNG in memory, write it atomically to ``path``, close it; returns the path.
    ``crop``: trim the margins to what is drawn (``bbox_inches="tight"``), which costs a second rendering;
    a figure laid out by ``tight_layout`` already has narrow margins."""
    plt = pyplot()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight" if crop else None)
    plt.close(fig)
    path = Path(path)
    atomic_write_bytes(path, buf.getvalue())
    return path


def is_png(path) -> bool:
    """True when ``path`` starts with the PNG signature and holds more than a header."""
    data = Path(path).read_bytes()
    return data.startswith(PNG_SIGNATURE) and len(data) > 100


def output_dir(path) -> Path:
    """``path`` as a directory, created if needed."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    return path
