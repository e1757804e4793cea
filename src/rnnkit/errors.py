"""Errors a user can cause and fix: bad data, bad options, a bad run directory.

They carry a message that names the file, line or argument at fault. The
command line prints the message and exits with code 2; library callers can
catch them as ``ValueError`` too.
"""
from __future__ import annotations


class RnnkitError(ValueError):
    """A problem with the user's input, reported without a traceback by the CLI."""


class DataError(RnnkitError):
    """A data file that cannot be read as the task expects (names the file and line)."""


class RunError(RnnkitError):
    """A run directory that is missing, incomplete or not an rnnkit run."""


class DivergenceError(RnnkitError):
    """Training produced a non-finite loss or gradient (names the step and the tensor)."""

    def __init__(self, message: str, step: int = 0, tensor: str = ""):
        super().__init__(message)
        self.step, self.tensor = step, tensor
