"""A problem found in an author's file: where (path, 1-based line), how bad, a stable code.

One class for every file format (course files, quiz files, the courses check): the
`mooc courses check` output, its GitHub annotations and its JSON read the same fields.

Messages are for course authors, Vietnamese first: ``bilingual(vi, en)`` writes every one of
them as "Vietnamese / English". They are plain strings, not Flask-Babel's: the checks run from
the command line, outside any request, and CI logs keep both languages.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

ERROR, WARNING = "error", "warning"
SEPARATOR = " / "


def bilingual(vi: str, en: str) -> str:
    """An author's message: what is wrong and how to fix it in Vietnamese, then in English."""
    return f"{vi}{SEPARATOR}{en}"


@dataclass(frozen=True)
class Problem:
    path: str
    line: int
    severity: str  # ERROR | WARNING
    code: str
    message: str

    def format(self) -> str:
        return f"{self.path}:{self.line}: {self.severity}: {self.message} [{self.code}]"

    __str__ = format

    def github(self) -> str:
        """A GitHub Actions annotation: ``::error file=...,line=...::message``."""
        message = f"{self.message} [{self.code}]".replace("%", "%25")
        message = message.replace("\r", "%0D").replace("\n", "%0A")
        path = self.path.replace("%", "%25").replace(",", "%2C").replace(":", "%3A")
        return f"::{self.severity} file={path},line={self.line},title={self.code}::{message}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "line": self.line,
            "severity": self.severity,
            "code": self.code,
            "message": self.message,
        }
