"""The one exception a statement parser raises: a file we cannot read, with where it went wrong."""

from __future__ import annotations


class StatementError(ValueError):
    """A file that is not a statement we can read; nothing is imported.

    ``message`` is Spanish and meant for staff; ``where`` names the spot in the file the way the
    file's own format counts it ("línea 7", "Ntry 3/Amt", "fila 12") so the person can find it.
    """

    def __init__(self, message: str, where: str = "") -> None:
        self.message = message
        self.where = where
        super().__init__(f"{where}: {message}" if where else message)
