"""Exceptions of the Schematron engine: each names the file at fault."""

from __future__ import annotations

from pathlib import Path


class SchematronError(Exception):
    """Base class of every error the Schematron engine raises."""


class PackLoadError(SchematronError):
    """A pack cannot be loaded: a file that does not parse, a missing include, a bad reference.

    ``path`` is the file at fault (the missing include, or the file that does not parse);
    ``referrer`` the file that referenced it, when there is one.
    """

    def __init__(self, message: str, path: Path | str, referrer: Path | str | None = None):
        self.path = Path(path)
        self.referrer = Path(referrer) if referrer is not None else None
        where = f"{self.path}" + (f" (referenced from {self.referrer})" if self.referrer else "")
        super().__init__(f"{message}: {where}")


class PackCompileError(SchematronError):
    """The XSLT generated from a pack does not compile (e.g. an XPath syntax error in a rule)."""

    def __init__(self, message: str, path: Path | str):
        self.path = Path(path)
        super().__init__(f"{message} (pack {self.path})")
