"""Form errors of the settings pages: one message per field, nothing stored."""

from __future__ import annotations

from typing import Any


class FormErrors(ValueError):
    """Bad input: ``errors`` maps each field's form name to its message (Spanish source text,
    translated by the page, then filled with ``params[field]`` when it has ``%(name)s`` slots)."""

    def __init__(
        self, errors: dict[str, str], params: dict[str, dict[str, Any]] | None = None
    ) -> None:
        self.errors = dict(errors)
        self.params = dict(params or {})
        super().__init__("; ".join(f"{k}: {self.text(k)}" for k in self.errors))

    def text(self, field: str, translate: Any = None) -> str:
        """The message for ``field``, translated with ``translate`` (a gettext) and filled."""
        message = self.errors.get(field, "")
        if translate is not None:
            message = translate(message)
        values = self.params.get(field)
        return message % values if values else message

    def merged(self, other: FormErrors) -> FormErrors:
        return FormErrors({**self.errors, **other.errors}, {**self.params, **other.params})


class SettingNotFound(LookupError):
    """No such row for this tenant (another tenant's id, or a deleted one): HTTP 404."""
