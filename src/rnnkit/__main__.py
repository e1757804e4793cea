"""``python -m rnnkit`` runs the ``rnnkit`` command."""
from rnnkit.cli.main import entry_point

entry_point()
