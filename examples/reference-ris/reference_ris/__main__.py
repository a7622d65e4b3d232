"""Command line: `python -m reference_ris --task task.json [--config ris.toml] [--defect NAME]`, or
`python -m reference_ris --pam-listen mllp://127.0.0.1:2576 --state-dir DIR`: the RIS's IHE PAM listener,
running until interrupted, for a proof that hands the tasks to the command (`segur proof --pam-endpoint`).

Exit codes: 0 the report was sent; 1 it was not (identity not qualified, refused by a service);
2 bad configuration or task; 3 a service was unavailable (the report is kept in the outbox).
With `--defect swallow-outage`, an outage exits 0: that is the defect.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import threading
from pathlib import Path

from . import config as config_module
from .core import run_task
from .defects import DEFECTS
from .errors import ConfigError, RisError
from .pam_feed import Listener


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="reference-ris",
                                description="The reference RIS: does one harness task (INSi identity, CDA "
                                "report, DMP or MSSanté sending). Exit 0 sent, 1 not sent, 2 bad "
                                "configuration/task, 3 service down.",
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="defects:\n" + "\n".join(f"  {k:<26} {v}" for k, v in DEFECTS.items()))
    p.add_argument("--task", help="the task JSON file (SEGUR_TASK_FILE under the harness), or - for stdin")
    p.add_argument("--pam-listen", metavar="mllp://HOST:PORT",
                   help="instead of a task: run the IHE PAM listener (identity feeds into the patient file "
                   "of --state-dir) until interrupted")
    p.add_argument("--config", help="TOML configuration (see reference-ris.example.toml); SEGUR_ENDPOINTS "
                   "and REFERENCE_RIS_* variables are read too")
    p.add_argument("--defect", default=os.environ.get("REFERENCE_RIS_DEFECT"),
                   help="seed one defect (default: REFERENCE_RIS_DEFECT)")
    p.add_argument("--state-dir",
                   help="where the RIS keeps what it sent and its outbox (default .reference-ris)")
    p.add_argument("--quiet", action="store_true", help="print only the result line")
    return p


def listen(args, stop: threading.Event) -> int:
    """The PAM listener in the foreground until `stop` is set (Ctrl-C sets it)."""
    host, _, port = args.pam_listen.removeprefix("mllp://").rpartition(":")
    if not args.pam_listen.startswith("mllp://") or not host or not port.isdigit():
        print(f"reference-ris: --pam-listen {args.pam_listen!r} is not mllp://host:port", file=sys.stderr)
        return ConfigError.exit_code
    state_dir = args.state_dir or config_module.load(args.config).state_dir
    try:
        listener = Listener(state_dir, args.defect, host, int(port)).start()
    except (RisError, ValueError) as exc:
        print(f"reference-ris: {exc}", file=sys.stderr)
        return ConfigError.exit_code
    print(f"reference-ris: PAM listener on {listener.url} (patient file in {state_dir})", flush=True)
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        listener.stop()
    return 0


def main(argv: list[str] | None = None, stop: threading.Event | None = None) -> int:
    p = parser()
    args = p.parse_args(argv)
    if not args.task and not args.pam_listen:
        p.error("give --task (or --pam-listen)")
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO, format="%(message)s",
                        stream=sys.stderr)
    if args.pam_listen:
        return listen(args, stop or threading.Event())
    from segur.scenarios.driver import Task

    try:
        text = sys.stdin.read() if args.task == "-" else Path(args.task).read_text(encoding="utf-8")
        task = Task.from_json(text)
    except (OSError, ValueError) as exc:
        print(f"reference-ris: cannot read the task: {exc}", file=sys.stderr)
        return ConfigError.exit_code
    try:
        settings = config_module.load(args.config)
        if args.state_dir:
            settings = config_module.replace(settings, state_dir=args.state_dir)
        outcome = run_task(task, settings, args.defect)
    except RisError as exc:
        print(f"reference-ris: {task.id}: NOT SENT: {exc}", file=sys.stderr)
        return exc.exit_code
    except ValueError as exc:  # an unknown defect name
        print(f"reference-ris: {exc}", file=sys.stderr)
        return ConfigError.exit_code
    print(json.dumps(outcome.to_dict(), ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
