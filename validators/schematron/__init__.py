"""The official ANS CI-SIS Schematron packs, run as published, fast.

An ISO Schematron → XSLT 3.0 compiler of the project's own (no ISO skeleton involved), run by
SaxonC-HE. See docs/schematron.md for how it works and what it costs.

    pack = compile_pack(Path(".../schematrons/CI-SIS_IMG-CR-IMG_2024.01.sch"))
    result = pack.run(document_bytes)
    for f in result.failures: print(f.severity, f.location, f.message)
"""

from .errors import PackCompileError, PackLoadError, SchematronError
from .results import SchematronFailure, SchematronResult, severity_of
from .runtime import CompiledPack, compile_pack, default_cache_dir, pack_digest, pack_info, stats

__all__ = [
    "CompiledPack",
    "PackCompileError",
    "PackLoadError",
    "SchematronError",
    "SchematronFailure",
    "SchematronResult",
    "compile_pack",
    "default_cache_dir",
    "pack_digest",
    "pack_info",
    "severity_of",
    "stats",
]
