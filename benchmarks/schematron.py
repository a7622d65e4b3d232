"""Schematron engine figures: compile cost and warm ms/document, fast vs classic.

    .venv/bin/python benchmarks/schematron.py [--ref ../shared/ref] [-n 50]

Per pack (the CR-IMG volet pack and the common content-model pack) on the official CR-IMG N3
example (``IMG_CR_IMG_2024.01.xml``):

* cold compile: load the Schematron closure, generate the XSLT, Saxon-compile it (empty caches);
* disk-cached compile: what a second process pays (the generated XSLT is read from the cache,
  Saxon still compiles it: SaxonC-HE cannot save a compiled SEF);
* warm run, ms per document, each run on distinct bytes (a comment appended) so the document
  is parsed by Saxon every time — "incl. parse" — and on the same bytes, where the runtime
  reuses the parsed tree — "transform only";
* the Schematron part of the full stack: volet + common pack on one document (parsed once).

Wall-clock medians and p90 are printed, with the median and minimum CPU time per run (this
process: SaxonC runs in-process): on a shared machine the CPU minimum is the steadiest figure.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from segur.validators.schematron import compile_pack, runtime

REPO = Path(__file__).resolve().parent.parent
PACKS = {
    "CR-IMG volet": "schematrons/CI-SIS_IMG-CR-IMG_2024.01.sch",
    "common pack": "schematrons/profils/CI-SIS_ModelesDeContenusCDA.sch",
}
EXAMPLE = "ExemplesCDA/IMG_CR_IMG_2024.01.xml"


def forget_in_memory() -> None:
    runtime._executables.clear()
    runtime._schemas.clear()
    runtime._parsed.clear()


def timed(fn, n: int) -> tuple[float, float, float, float]:
    """(median wall ms, p90 wall ms, median CPU ms, min CPU ms) over n calls."""
    walls, cpus = [], []
    for i in range(n):
        w, c = time.perf_counter(), time.process_time()
        fn(i)
        cpus.append((time.process_time() - c) * 1000)
        walls.append((time.perf_counter() - w) * 1000)
    walls.sort()
    return statistics.median(walls), walls[int(0.9 * (len(walls) - 1))], statistics.median(cpus), min(cpus)


def variants(doc: bytes, n: int) -> list[bytes]:
    return [doc + f"<!-- {i} -->".encode() for i in range(n)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_ref = Path(os.environ.get("SEGUR_REF", REPO.parent / "shared" / "ref"))
    parser.add_argument("--ref", type=Path, default=default_ref)
    parser.add_argument("-n", type=int, default=50, help="runs per measurement (default 50)")
    args = parser.parse_args()
    cda = args.ref / "cda"
    doc = (cda / EXAMPLE).read_bytes()
    distinct = variants(doc, args.n)
    print(f"document: {EXAMPLE} ({len(doc) // 1024} KiB), {args.n} runs per figure, "
          f"load {os.getloadavg()[0]:.2f}")
    print(f"{'pack':<14} {'mode':<8} {'cold compile':>13} {'disk-cached':>12} "
          f"{'incl. parse ms (p90) cpu/min':>32} {'transform only ms (p90) cpu/min':>35}")
    compiled = {}
    with tempfile.TemporaryDirectory() as tmp:
        for label, rel in PACKS.items():
            for mode in ("fast", "classic"):
                forget_in_memory()
                cache = Path(tmp) / f"{mode}-{label}"
                t = time.perf_counter()
                compile_pack(cda / rel, cache_dir=cache, mode=mode)
                cold = time.perf_counter() - t
                forget_in_memory()
                t = time.perf_counter()
                pack = compile_pack(cda / rel, cache_dir=cache, mode=mode)
                disk = time.perf_counter() - t
                compiled[(label, mode)] = pack
                pack.run(doc)  # warm-up
                incl = timed(lambda i, p=pack: p.run(distinct[i]), args.n)
                pack.run(doc)
                only = timed(lambda i, p=pack: p.run(doc), args.n)
                print(f"{label:<14} {mode:<8} {cold:>11.2f} s {disk:>10.2f} s "
                      f"{incl[0]:>10.1f} ({incl[1]:>5.1f}) {incl[2]:>6.1f}/{incl[3]:<5.1f}"
                      f"{only[0]:>13.1f} ({only[1]:>5.1f}) {only[2]:>6.1f}/{only[3]:<5.1f}")
        print("\nSchematron part of the stack (volet + common pack, one parse per document):")
        for mode in ("fast", "classic"):
            volet, common = compiled[("CR-IMG volet", mode)], compiled[("common pack", mode)]

            def both(i, v=volet, c=common):
                v.run(distinct[i])
                c.run(distinct[i])

            runtime._parsed.clear()
            wall, p90, cpu, cpu_min = timed(both, args.n)
            print(f"  {mode:<8} {wall:6.1f} ms/doc (p90 {p90:.1f}), CPU {cpu:.1f} ms/doc (min {cpu_min:.1f})")
        same = all(
            [f.key for f in compiled[(label, "fast")].run(d).failures]
            == [f.key for f in compiled[(label, "classic")].run(d).failures]
            for label in PACKS
            for d in (doc, distinct[0])
        )
        print(f"\nfast and classic verdicts identical on this document: {same}")


if __name__ == "__main__":
    main()
