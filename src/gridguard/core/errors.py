"""One shape for bad input everywhere: a list of (field, code, message)."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext as _


@dataclass(frozen=True)
class FieldError:
    """One thing wrong with the input: which field, a stable code, a message for people."""

    field: str | None
    code: str
    message: str
    line: int | None = None

    def as_dict(self) -> dict[str, object]:
        data: dict[str, object] = {"field": self.field, "code": self.code, "message": self.message}
        if self.line is not None:
            data["line"] = self.line
        return data


@dataclass
class InvalidInput(Exception):
    """Raised by services when input is bad; nothing has been written when it escapes."""

    errors: list[FieldError] = field(default_factory=list)

    def __str__(self) -> str:
        return "; ".join(
            (f"line {e.line}: " if e.line else "") + (f"{e.field}: " if e.field else "") + e.message
            for e in self.errors
        )

    def by_field(self) -> dict[str, list[str]]:
        """{field: [messages]} for a form to show beside its fields ("__all__": the rest)."""
        out: dict[str, list[str]] = {}
        for e in self.errors:
            out.setdefault(e.field or "__all__", []).append(e.message)
        return out

    @classmethod
    def one(cls, field_name: str | None, code: str, message: str) -> InvalidInput:
        return cls([FieldError(field_name, code, message)])

    @classmethod
    def from_django(cls, exc: DjangoValidationError) -> InvalidInput:
        """Turn a Django ValidationError (from full_clean or a form) into our shape."""
        errors: list[FieldError] = []
        if hasattr(exc, "error_dict"):
            for name, items in exc.error_dict.items():
                for item in items:
                    msg = item.message % item.params if item.params else item.message
                    errors.append(
                        FieldError(
                            None if name == "__all__" else name,
                            item.code or "invalid",
                            str(msg),
                        )
                    )
        else:
            for item in exc.error_list:
                msg = item.message % item.params if item.params else item.message
                errors.append(FieldError(None, item.code or "invalid", str(msg)))
        return cls(errors)


class OutOfScope(Exception):
    """The actor asked for something outside the territory their roles cover."""

    def __init__(self, what: str = "") -> None:
        super().__init__(what or _("This is outside your area."))


class NotPermitted(Exception):
    """The actor's roles do not allow this action."""

    def __init__(self, what: str = "") -> None:
        super().__init__(what or _("Your role does not allow this."))
