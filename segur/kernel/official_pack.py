"""Where the official ANS CDA pack is: one answer for `segur up`, `proof`, `demo` and `validate`.

The pack is never part of this project: it is the ANS repository `ansforge/TestContenuCDA-3-0`
(https://github.com/ansforge/TestContenuCDA-3-0), laid out as ANS publishes it: `infrastructure/`
(the CDA XSD), `schematrons/` (the CI-SIS Schematron packs), `jeuxDeValeurs/` (value sets).

Looked for in this order, the first one set wins:

1. `--pack DIR` on the command line;
2. the environment variable `SEGUR_PACK`;
3. the config file's setting (`[stack] pack` of `segur up/proof --config`; `pack` in `segur.toml` for
   `segur validate`);
4. `../shared/ref/cda` beside the current directory, when it is there (the layout `make demo` uses).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ENV = "SEGUR_PACK"
BESIDE = Path("..", "shared", "ref", "cda")
REPOSITORY = "https://github.com/ansforge/TestContenuCDA-3-0"
HOW_TO_GET = (f"git clone --depth 1 {REPOSITORY}.git ans-cda, then --pack ans-cda (or SEGUR_PACK=ans-cda); "
              "see README.md, 'The official pack'")


@dataclass(frozen=True)
class FoundPack:
    path: Path
    source: str  # where the choice came from, shown to the user: "--pack", "env SEGUR_PACK", a config file…


def find_pack(option: str | os.PathLike | None = None, *, configured: str | os.PathLike | None = None,
              configured_in: str = "the config file", config_lookup: Callable[[], object] | None = None,
              cwd: str | os.PathLike | None = None) -> FoundPack | None:
    """The pack to use and where that choice came from, or None when there is none (see the module doc).
    `config_lookup` (instead of `configured`) reads the config files only when it comes to them: it returns
    None or a setting with `.value` and `.source` (`segur.validators.config.setting`)."""
    if option:
        return FoundPack(Path(option).expanduser(), "--pack")
    if os.environ.get(ENV):
        return FoundPack(Path(os.environ[ENV]).expanduser(), f"env {ENV}")
    if configured:
        return FoundPack(Path(configured).expanduser(), configured_in)
    looked_up = config_lookup() if config_lookup else None
    if looked_up is not None:
        return FoundPack(Path(looked_up.value).expanduser(), looked_up.source)
    beside = Path(cwd or Path.cwd()) / BESIDE
    if (beside / "infrastructure").is_dir() and (beside / "schematrons").is_dir():
        return FoundPack(beside.resolve(), f"{BESIDE.as_posix()} beside the current directory")
    return None


def describe(found: FoundPack | None) -> str:
    """One line for the user: which pack, from where; or that there is none and how to get one."""
    if found is None:
        return f"no official CDA pack (XSD and CI-SIS Schematron not run): {HOW_TO_GET}"
    return f"official CDA pack {found.path} (from {found.source})"
