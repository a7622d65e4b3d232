"""Run the reference RIS from a checkout without installing it: `python examples/reference-ris/run.py --task
t.json`."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from reference_ris.__main__ import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
