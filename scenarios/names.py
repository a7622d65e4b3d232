"""How the proof compares names across the wire (a CDA, an INSi answer, a PDF's text, an XDS slot)."""

from __future__ import annotations

import unicodedata


def fold_name(text) -> str:
    """A name as compared across the wire: upper case, no accents, hyphens as spaces, spaces collapsed."""
    text = unicodedata.normalize("NFKD", str(text or "")).encode("ascii", "ignore").decode()
    return " ".join(text.upper().replace("-", " ").split())
