"""The SHA-1 of a document, computed once per submission however many checks need it.

XDS's `hash` slot is the SHA-1 of the document (IHE ITI TF-3 §4.2.3.2.10); the backend's checks,
the DMP rules and the store all compare or record it. For a 1.4 MB CDA each computation costs about
a millisecond, so the digest of the last few documents seen is kept, keyed by the identity of the
(immutable) bytes object.
"""

from __future__ import annotations

import hashlib
import threading

_DIGESTS: dict[int, tuple[bytes, str]] = {}
_DIGESTS_LOCK = threading.Lock()


def sha1_of(data: bytes) -> str:
    """SHA-1 (hex) of a document, computed once per bytes object while a transaction runs."""
    key = id(data)
    with _DIGESTS_LOCK:
        known = _DIGESTS.get(key)
        if known is not None and known[0] is data:
            return known[1]
    digest = hashlib.sha1(data).hexdigest()  # noqa: S324 - XDS hash is SHA-1 by definition
    with _DIGESTS_LOCK:
        if len(_DIGESTS) >= 8:  # a few documents in flight; never a memory sink
            _DIGESTS.clear()
        _DIGESTS[key] = (data, digest)
    return digest
