"""A plugin function for `segur proof --sut plugin:examples/reference-ris/segur_plugin.py:send`
(docs/sut.md)."""
import sys
from pathlib import Path

# loaded by file path: make `reference_ris` importable
sys.path.insert(0, str(Path(__file__).resolve().parent))

from reference_ris import config, run_task  # noqa: E402


def send(task, endpoints):
    """Do one task; raise (RisError) when the report was not sent, return what was done otherwise."""
    settings = config.from_endpoints(endpoints, config.Config(state_dir=".reference-ris-state"))
    outcome = run_task(task, settings)
    return {"detail": outcome.detail, "sent_to": outcome.sent_to, "steps": outcome.steps}
