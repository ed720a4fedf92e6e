"""A finding: one problem in a frontend/factory YAML file, with a stable rule id and its place."""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = ["Finding", "Severity"]


class Severity(enum.Enum):
    """How bad a finding is. Errors and warnings make ``lint`` exit 1; notes never do."""

    ERROR = "error"
    WARNING = "warning"
    NOTE = "note"


@dataclass(frozen=True)
class Finding:
    """One problem: rule id (``GS1xx``), where (file, line, dotted key) and a sentence saying what."""

    rule: str
    filename: str
    line: int
    key: str
    message: str
    severity: Severity = Severity.ERROR

    def __str__(self) -> str:
        return "{}:{}: {}: {}".format(self.filename, self.line, self.key, self.message)
