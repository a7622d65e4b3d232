"""CPU milliseconds per document of the validator as a server runs it: per layer and whole stack.

    .venv/bin/python benchmarks/validate_cpu.py [--runs 30] [--pdf-size 1000000] [--pack ../shared/ref/cda]

Documents: a generated CR-IMG N1 carrying a ~1 MB PDF (the DMP benchmark's, `benchmarks/dmp.py`) and
the official CR-IMG N3 example. One `Validator` per configuration, built once and warmed up, as in the
DMP and MSSanté mocks; each run validates a fresh copy of the bytes (the Schematron runtime keeps
Saxon's tree of the last bytes *objects* it saw, which a server never sees twice). CPU is this
thread's (`time.thread_time`), so other processes on a shared machine count little; the table gives
the minimum and the median of the runs. Configurations: the default (packs see a placeholder for the
N1 body) and ``full body`` (``schematron_full_body=True``, the behaviour before the placeholder).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

DEFAULT_PACK = Path(__file__).resolve().parents[2] / "shared" / "ref" / "cda"
N3_EXAMPLE = "IMG_CR_IMG_2024.01.xml"
LAYERS = ("xml", "xsd", "schematron", "segur")  # the structure checks count in the total only


def n1_document(pdf_size: int) -> bytes:
    """A CR-IMG N1 of a world radiologist with the DMP benchmark's PDF of about `pdf_size` bytes."""
    from dmp import _pdf

    from segur.fixtures.documents import build_cr_img_n1
    from segur.fixtures.world import load_world

    world = load_world()
    author = world.professional_by_idnps("801234560801")
    patient = world.patient_by_ins("279035121518989")
    return build_cr_img_n1(patient, author, world.organisation_of(author), _pdf(pdf_size))


def measure(validator, data: bytes, runs: int) -> dict[str, list[float]]:
    """CPU ms of each layer and of the whole `validate`, one list entry per run (fresh bytes each)."""
    from segur.validators import safe_xml

    spent: dict[str, list[float]] = defaultdict(list)
    layer_cpu: dict[str, float] = {}
    original_layer = validator._layer
    original_parse = safe_xml.parse

    def timed_layer(report, name, gate, run):
        def timed_run():
            started = time.thread_time()
            try:
                return run()
            finally:
                layer_cpu[name] = (time.thread_time() - started) * 1000
        return original_layer(report, name, gate, timed_run)

    def timed_parse(*args, **kwargs):
        started = time.thread_time()
        try:
            return original_parse(*args, **kwargs)
        finally:
            layer_cpu["xml"] = (time.thread_time() - started) * 1000

    validator._layer = timed_layer
    safe_xml.parse = timed_parse
    try:
        copies = [bytes(bytearray(data)) for _ in range(runs + 2)]
        for index, copy in enumerate(copies):
            layer_cpu.clear()
            started = time.thread_time()
            report = validator.validate(copy, name="bench.xml")
            total = (time.thread_time() - started) * 1000
            if index < 2:  # warm-up: imports, schema load, pack compilation
                continue
            spent["total"].append(total)
            for name, value in layer_cpu.items():
                spent[name].append(value)
        spent["verdict"] = [report.verdict]
    finally:
        del validator._layer
        safe_xml.parse = original_parse
    return spent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--pdf-size", type=int, default=1_000_000)
    parser.add_argument("--pack", type=Path, default=DEFAULT_PACK)
    args = parser.parse_args()

    from segur.validators.api import Validator

    documents = [(f"CR-IMG N1, {args.pdf_size / 1e6:.1f} MB PDF", n1_document(args.pdf_size)),
                 (f"CR-IMG N3 ({N3_EXAMPLE})", (args.pack / "ExemplesCDA" / N3_EXAMPLE).read_bytes())]
    configurations = [("placeholder", False), ("full body", True)]
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"CPU ms per document (this thread), min / median of {args.runs} runs, fresh bytes each run")
    header = f"{'document':34} {'packs see':12} " + " ".join(f"{name:>12}" for name in (*LAYERS, "total"))
    print(header)
    for label, data in documents:
        for config, full in configurations:
            validator = Validator(pack=args.pack, schematron_full_body=full)
            spent = measure(validator, data, args.runs)
            cells = []
            for name in (*LAYERS, "total"):
                values = spent.get(name)
                median = statistics.median(values) if values else None
                cells.append(f"{min(values):5.1f}/{median:5.1f}" if values else f"{'-':>11}")
            print(f"{label[:34]:34} {config:12} " + " ".join(f"{c:>12}" for c in cells)
                  + f"  {spent['verdict'][0]} ({len(data) / 1e6:.2f} MB)")
    print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
