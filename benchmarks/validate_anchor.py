"""The validator against its anchor: `segur validate --jobs 2` and the official pipeline on the JVM.

    .venv/bin/python benchmarks/validate_anchor.py [--n 100] [--jobs 2] [--pack ../shared/ref/cda]

Documents: N variants of the official CR-IMG N3 example (``IMG_CR_IMG_2024.01.xml``): each gets its
own ``ClinicalDocument/id`` and ``effectiveTime``, and every fifth one a mutation that the IMG volet
pack reports (document code, imaging modality, Addendum section code) or the common pack (patient
gender code), so the verdict comparison sees failures, not only clean runs.

Both pipelines run on the same folder, one after the other, each timed as a whole (wall, and the CPU of
the child processes from ``getrusage(RUSAGE_CHILDREN)``):
- the project: ``segur validate --jobs N --format json`` (XSD + the common and IMG packs compiled by the
  project + its Ségur rules), the Schematron disk cache warmed by an untimed run on one document, as on a
  user's second run;
- the official pipeline as an editor runs it (ANS ``compilverif.bat``, see ../shared/ref/README.md):
  each pack compiled once, untimed, with the ISO Schematron reference steps (``iso_dsdl_include.xsl``
  → ``iso_abstract_expand.xsl`` → the SVRL skeleton), then ONE ``java net.sf.saxon.Transform -s:dir
  -o:dir`` per pack: one JVM for all N documents, one SVRL file per document. Saxon-HE is Debian's
  ``libsaxonhe-java`` (9.9, ``/usr/share/java/Saxon-HE.jar``); the skeleton is lxml's bundled
  ``iso-schematron-xslt1`` (no Debian package found carries the XSLT 2 one), with two changes so the
  packs are read as XSLT 2 / XPath 2.0, as the official tool reads them: ``queryBinding="xslt2"`` is read
  as ``xslt`` by the skeleton step only (it refuses ``xslt2``), and the generated stylesheet is
  declared ``version="2.0"``, so Saxon evaluates the asserts as XPath 2.0, not in XSLT 1.0
  backwards-compatible mode. The stylesheet gets ``xml:base`` = the ``.sch`` file's folder, so its
  ``document('../jeuxDeValeurs/…')`` calls resolve where the official tool writes the compiled ``.xsl``
  (next to the ``.sch``) without writing into the pack.

Where the time goes: each side also runs on the first 2 documents alone; the difference of the CPU
of the two runs gives the CPU per document, the rest is the fixed cost (start-up, and the parent's
warm-up before it forks its workers for segur, which on 2 documents forks none; the JVM, the stylesheet
compilation and the JIT for Saxon). The compiled packs are kept
under ``.segur-cache/anchor/`` (``--cache-dir``), keyed by the content of the packs and the skeleton.

The project's packs see each document's embedded base64 PDF as a placeholder (docs/schematron.md); run
the script with ``SEGUR_SCHEMATRON_FULL_BODY=1`` (inherited by ``segur validate``) for the packs to see
the full text, as before issue 18's N3 round: that is how docs/validator.md's before/after rows were taken.

Verdicts: for each document, the failed-assert ids of both pipelines on the official layer (the IMG
volet pack, and the common pack unless ``--volet-only``) must be the same multiset; SVRL asserts
without ``@id`` get the project's derived id (``segur.validators.derived_rule_id``, from the pattern,
the fired rule's context and the test). Any difference is printed with the document name; the exit
code is 1 then. The figures: documents/s (wall) and CPU ms per document of each side, the ratios (issue
18's target, ≥ 3×, is against the official pipeline on the volet pack: the IMG pack alone; the ratio
against the same two packs is printed beside it, and CPU comes first since the load distorts wall time), the
load average at the start and the end, and where the time goes on each side (the project's per-layer
times from its JSON report, Saxon's ``-t`` stylesheet compilation, tree building and execution times).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import lxml.isoschematron
from lxml import etree

from segur.validators import batch, derived_rule_id

DEFAULT_PACK = Path(__file__).resolve().parents[2] / "shared" / "ref" / "cda"
DEFAULT_CACHE = Path(os.environ.get("SEGUR_CACHE_DIR") or ".segur-cache")
DEFAULT_SAXON_JAR = Path("/usr/share/java/Saxon-HE.jar")  # Debian's libsaxonhe-java
EXAMPLE = "IMG_CR_IMG_2024.01.xml"
VOLET_PACK = "CI-SIS_IMG-CR-IMG_2024.01"
COMMON_PACK = "CI-SIS_ModelesDeContenusCDA"
SKELETON = Path(lxml.isoschematron.__file__).parent / "resources" / "xsl" / "iso-schematron-xslt1"
SVRL = "{http://purl.oclc.org/dsdl/svrl}"
XML_BASE = "{http://www.w3.org/XML/1998/namespace}base"
JSON_TIMINGS = ("parse_ms", "xsd_ms", "schematron_ms", "segur_ms", "total_ms")

# Every fifth document gets one of these (first occurrence replaced): the first two and the last make
# the IMG volet pack fail, "gender" the common pack (JDV_administrativeGenderCode).
MUTATIONS = {
    "doc-code": (b'<code code="18748-4"', b'<code code="11488-4"'),
    "modality": (b'<translation code="CT"', b'<translation code="ZZ"'),
    "gender": (b'<administrativeGenderCode code="F"', b'<administrativeGenderCode code="Q"'),
    "addendum": (b'<code code="55107-7" codeSystem', b'<code code="55107-8" codeSystem'),
}
DOC_ID = b'<id root="1.2.250.1.213.1.1.1.45.2024.1.1"/>'
DOC_TIME = b'<effectiveTime value="20210108111700+0100"/>'


@dataclass
class Run:
    """One timed child process: wall seconds and the CPU seconds of the children it waited for."""

    wall: float
    cpu: float
    stderr: str = ""
    details: dict = field(default_factory=dict)


# -- documents -------------------------------------------------------------------------------------

def make_documents(example: bytes, n: int, folder: Path) -> dict[str, str]:
    """Write N variants of the example into `folder`; return {file name: mutation or ""}."""
    for needle in (DOC_ID, DOC_TIME, *(old for old, _new in MUTATIONS.values())):
        if needle not in example:
            raise SystemExit(f"the example no longer contains {needle!r}: update MUTATIONS")
    names = list(MUTATIONS)
    made = {}
    for i in range(n):
        data = example.replace(DOC_ID, b'<id root="1.2.250.1.213.1.1.1.45.2024.1.%d"/>' % (i + 1), 1)
        minute = b"%02d" % (i % 60)
        data = data.replace(DOC_TIME, b'<effectiveTime value="202101081117' + minute + b'+0100"/>', 1)
        mutation = names[(i // 5) % len(names)] if i % 5 == 4 else ""
        if mutation:
            old, new = MUTATIONS[mutation]
            data = data.replace(old, new, 1)
        name = f"cr-img-{i:03d}{'-' + mutation if mutation else ''}.xml"
        (folder / name).write_bytes(data)
        made[name] = mutation
    return made


# -- child processes -------------------------------------------------------------------------------

def timed(command: list[str], **kwargs) -> Run:
    """Run `command` to its end; wall time and the CPU time it (and its own children) used."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False, **kwargs)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    run = Run(wall, cpu, done.stderr)
    run.details["returncode"] = done.returncode
    return run


def saxon(java: str, jar: Path, *args: str, timing: bool = False) -> Run:
    """One JVM running Saxon-HE's command line; refuses to go on when Saxon fails."""
    run = timed([java, "-cp", str(jar), "net.sf.saxon.Transform", *(["-t"] if timing else []), *args])
    if run.details["returncode"] != 0:
        raise SystemExit(f"Saxon failed ({' '.join(args)}):\n{run.stderr[-3000:]}")
    return run


def compile_pack(java: str, jar: Path, sch: Path, work: Path) -> tuple[Path, float]:
    """The ISO reference steps on `sch`; the stylesheet, based at the .sch folder; wall seconds."""
    stem = work / sch.stem
    started = time.perf_counter()
    saxon(java, jar, f"-s:{sch}", f"-xsl:{SKELETON / 'iso_dsdl_include.xsl'}", f"-o:{stem}.colle.sch")
    saxon(java, jar, f"-s:{stem}.colle.sch", f"-xsl:{SKELETON / 'iso_abstract_expand.xsl'}",
          f"-o:{stem}.concret.sch")
    concrete = etree.parse(f"{stem}.concret.sch")
    if concrete.getroot().get("queryBinding") == "xslt2":
        concrete.getroot().set("queryBinding", "xslt")  # the XSLT 1 skeleton's gate; see the docstring
    concrete.write(f"{stem}.xslt1.sch", xml_declaration=True, encoding="UTF-8")
    saxon(java, jar, f"-s:{stem}.xslt1.sch", f"-xsl:{SKELETON / 'iso_svrl_for_xslt1.xsl'}",
          f"-o:{stem}.skeleton.xsl")
    stylesheet = etree.parse(f"{stem}.skeleton.xsl")
    stylesheet.getroot().set("version", "2.0")
    stylesheet.getroot().set(XML_BASE, sch.parent.resolve().as_uri() + "/")
    xsl = work / f"{sch.stem}.xsl"
    stylesheet.write(str(xsl), xml_declaration=True, encoding="UTF-8")
    return xsl, time.perf_counter() - started


def saxon_breakdown(stderr: str) -> dict[str, float]:
    """Saxon's ``-t`` report: stylesheet compilation, documents' tree building and execution, in ms."""
    compile_ms = re.search(r"Stylesheet compilation time: [\d.]+s \(([\d.]+)ms\)", stderr)
    built = re.findall(r"Building tree for (\S+) using.*\nTree built in ([\d.]+)ms", stderr)
    trees = [float(ms) for path, ms in built if "/jeuxDeValeurs/" not in path]
    value_sets = [float(ms) for path, ms in built if "/jeuxDeValeurs/" in path]
    executions = [float(ms) for ms in re.findall(r"Execution time: (?:[\d.]+s \()?([\d.]+)ms", stderr)]
    return {"compile_ms": float(compile_ms.group(1)) if compile_ms else 0.0,
            "tree_ms": sum(trees), "value_set_tree_ms": sum(value_sets),
            "execution_ms": sum(executions), "documents": len(executions)}


# -- verdicts --------------------------------------------------------------------------------------

def svrl_assert_ids(svrl: Path, pack_name: str) -> Counter:
    """The failed-assert ids of one SVRL report, derived as the project derives them."""
    ids: Counter = Counter()
    pattern = context = None
    for element in etree.parse(str(svrl)).getroot():
        if element.tag == SVRL + "active-pattern":
            pattern = element.get("id")
        elif element.tag == SVRL + "fired-rule":
            context = element.get("context")
        elif element.tag == SVRL + "failed-assert":
            ids[element.get("id") or derived_rule_id(pack_name, pattern, context, element.get("test"))] += 1
    return ids


def project_assert_ids(document: dict, packs: tuple[str, ...]) -> Counter:
    """The failed-assert ids of the project's JSON report of one document, for the given packs."""
    ids: Counter = Counter()
    for finding in document["findings"]:
        extra = finding.get("extra") or {}
        if finding["layer"] == "schematron" and extra.get("pack") in packs and extra.get("kind") != "report":
            ids[finding["rule"]] += 1  # pack errors (SCH-001) count too: the JVM side has none
    return ids


def compare(names: list[str], report: dict, svrl_dirs: dict[str, Path]) -> list[str]:
    """One line per document whose failed-assert ids differ between the two pipelines."""
    by_name = {Path(doc["document"]).name: doc for doc in report["documents"]}
    differences = []
    for name in names:
        official: Counter = Counter()
        for pack_name, folder in svrl_dirs.items():
            official += svrl_assert_ids(folder / name, pack_name)
        ours = project_assert_ids(by_name[name], tuple(svrl_dirs))
        if ours != official:
            differences.append(f"  {name}: only segur {sorted((ours - official).elements())}; "
                               f"only Saxon {sorted((official - ours).elements())}")
    return differences


# -- driver ----------------------------------------------------------------------------------------

def find_tools(args) -> tuple[str, Path] | str:
    """Java and Saxon-HE, or why the benchmark cannot run."""
    java = shutil.which(args.java)
    if java is None:
        return f"no Java runtime ('{args.java}' not on PATH): apt-get install default-jre-headless"
    if not args.saxon_jar.is_file():
        return f"no Saxon-HE jar at {args.saxon_jar}: apt-get install libsaxonhe-java (or pass --saxon-jar)"
    if not (SKELETON / "iso_svrl_for_xslt1.xsl").is_file():
        return f"lxml's ISO Schematron skeleton is missing ({SKELETON})"
    return java, args.saxon_jar


def segur_command(args, target: Path, out: Path) -> list[str]:
    beside = Path(sys.executable).with_name("segur")
    segur = [str(beside)] if beside.is_file() else [sys.executable, "-m", "segur"]
    return [*segur, "validate", "--pack", str(args.pack), "--jobs", str(args.jobs), "--format", "json",
            "-o", str(out), str(target)]


def java_version(java: str) -> str:
    lines = subprocess.run([java, "-version"], capture_output=True, text=True).stderr.splitlines()
    return lines[0] if lines else "java"


def load_average() -> str:
    return "/".join(f"{x:.2f}" for x in os.getloadavg())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="\n".join(__doc__.splitlines()[2:]))
    parser.add_argument("--n", type=int, default=100, help="documents (default 100)")
    parser.add_argument("--jobs", type=int, default=2, help="segur validate --jobs (default 2)")
    parser.add_argument("--pack", type=Path, default=DEFAULT_PACK, help="ANS pack folder (../shared/ref/cda)")
    parser.add_argument("--java", default="java", help="Java launcher (default: java on PATH)")
    parser.add_argument("--saxon-jar", type=Path, default=DEFAULT_SAXON_JAR,
                        help=f"Saxon-HE jar (default {DEFAULT_SAXON_JAR})")
    parser.add_argument("--volet-only", action="store_true",
                        help="the JVM side runs the IMG volet pack only (default: also the common pack)")
    parser.add_argument("--keep", type=Path, help="keep the documents and reports here")
    parser.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE,
                        help="the compiled packs of the JVM side go under CACHE_DIR/anchor"
                             " (default: $SEGUR_CACHE_DIR or ./.segur-cache, as segur's own cache)")
    args = parser.parse_args(argv)
    if args.n < 3:
        parser.error("--n must be at least 3 (the fixed costs come from a run on 2 documents)")
    tools = find_tools(args)
    if isinstance(tools, str):
        print(f"validate_anchor: {tools}", file=sys.stderr)
        return 2
    java, jar = tools
    example = args.pack / "ExemplesCDA" / EXAMPLE
    schematrons = args.pack / "schematrons"
    packs = {VOLET_PACK: schematrons / f"{VOLET_PACK}.sch"}
    if not args.volet_only:
        packs[COMMON_PACK] = schematrons / "profils" / f"{COMMON_PACK}.sch"
    if not example.is_file() or not all(p.is_file() for p in packs.values()):
        print(f"validate_anchor: the official example or packs are not under {args.pack}", file=sys.stderr)
        return 2
    work = args.keep or Path(tempfile.mkdtemp(prefix="segur-anchor-"))
    try:
        return _benchmark(args, java, jar, example, packs, work)
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


def compiled_stylesheets(java: str, jar: Path, packs: dict[str, Path], pack_dir: Path,
                         cache: Path) -> dict[str, Path]:
    """Each pack's stylesheet, from `cache` when the packs and the skeleton are unchanged, else compiled."""
    digest = hashlib.sha256(str(pack_dir.resolve()).encode())  # the stylesheets' xml:base names it
    for path in sorted((*pack_dir.glob("schematrons/**/*.sch"), *SKELETON.glob("*.xsl"))):
        digest.update(path.name.encode() + path.read_bytes())
    folder = cache / digest.hexdigest()[:16]
    stylesheets = {name: folder / f"{sch.stem}.xsl" for name, sch in packs.items()}
    missing = {name: packs[name] for name, xsl in stylesheets.items() if not xsl.is_file()}
    if not missing:
        print(f"compiled packs from {folder}")
        return stylesheets
    folder.mkdir(parents=True, exist_ok=True)
    print("compiling the packs once (untimed): ISO include → abstract expand → SVRL skeleton", flush=True)
    with ThreadPoolExecutor(max_workers=len(missing)) as pool:  # the packs side by side: a shorter wait
        compiled = {name: pool.submit(compile_pack, java, jar, sch, folder) for name, sch in missing.items()}
        for name, future in compiled.items():
            _xsl, seconds = future.result()
            print(f"  {name}: {seconds:.1f} s wall, 3 JVMs; kept in {folder}")
    return stylesheets


def _benchmark(args, java: str, jar: Path, example: Path, packs: dict[str, Path], work: Path) -> int:
    folder, pair = work / "documents", work / "two-documents"
    folder.mkdir(parents=True, exist_ok=True)
    pair.mkdir(exist_ok=True)
    made = make_documents(example.read_bytes(), args.n, folder)
    for name in sorted(made)[:2]:  # the fixed costs: the same run on two documents (one per worker)
        shutil.copyfile(folder / name, pair / name)
    mutated = Counter(m for m in made.values() if m)
    print(f"{args.n} CR-IMG N3 documents: variants of {EXAMPLE}, {mutated.total()} mutated {dict(mutated)}")
    print(f"Saxon-HE {jar}; {java_version(java)}")
    stylesheets = compiled_stylesheets(java, jar, packs, args.pack, args.cache_dir / "anchor")
    print("warming the project's Schematron disk cache (untimed, one document)", flush=True)
    report_json = work / "segur.json"
    warm = timed(segur_command(args, pair / sorted(made)[0], report_json))
    if not report_json.is_file():
        raise SystemExit(f"segur validate wrote no report:\n{warm.stderr[-3000:]}")

    load_start = load_average()
    print(f"\nload average at start: {load_start}", flush=True)
    ours = {2: timed(segur_command(args, pair, work / "segur-two.json"))}
    report_json.unlink()  # the warm-up's: a run that writes nothing must not be read as the N documents
    ours[args.n] = timed(segur_command(args, folder, report_json))
    written = json.loads(report_json.read_text())["documents"] if report_json.is_file() else []
    if len(written) != args.n:  # a crashed run (exit code 0 and 1 are verdicts, anything else is not)
        raise SystemExit(f"segur validate reported {len(written)} of {args.n} documents (exit code "
                         f"{ours[args.n].details['returncode']}):\n{ours[args.n].stderr[-3000:]}")
    svrl_dirs, jvm_runs = {}, {}
    (work / "svrl-two").mkdir(exist_ok=True)  # Saxon's -s:dir wants an existing -o:dir
    for name, xsl in stylesheets.items():
        svrl_dirs[name] = work / f"svrl-{name}"
        svrl_dirs[name].mkdir(exist_ok=True)
        runs = jvm_runs[name] = {}
        runs[2] = saxon(java, jar, f"-s:{pair}", f"-o:{work / 'svrl-two'}", f"-xsl:{xsl}", timing=True)
        runs[args.n] = saxon(java, jar, f"-s:{folder}", f"-o:{svrl_dirs[name]}", f"-xsl:{xsl}", timing=True)
    print(f"load average at end:   {load_average()}")

    report = json.loads(report_json.read_text())
    _print_segur(args, report, ours)
    _print_saxon(args.n, jvm_runs)
    _print_ratios(args.n, ours[args.n], {name: runs[args.n] for name, runs in jvm_runs.items()})
    return _print_verdicts(made, report, svrl_dirs)


def _marginal(runs: dict[int, Run]) -> str:
    """Fixed and per-document CPU from the runs on 2 and on N documents (N > 2)."""
    n = max(runs)
    per_doc = (runs[n].cpu - runs[2].cpu) / (n - 2)
    fixed = runs[2].cpu - 2 * per_doc
    return f"CPU fixed {fixed:.2f} s + {per_doc * 1000:.1f} ms/doc (from the runs on 2 and {n} documents)"


def _print_segur(args, report: dict, ours: dict[int, Run]) -> None:
    n, run = args.n, ours[args.n]
    verdicts = Counter(doc["verdict"] for doc in report["documents"])
    layer_ms = {k: sum(doc["timings"].get(k, 0.0) for doc in report["documents"]) for k in JSON_TIMINGS}
    print(f"\nsegur validate --jobs {args.jobs} (XSD + common + IMG packs + Ségur rules),"
          f" verdicts {dict(verdicts)}")
    print(f"  {n / run.wall:6.1f} docs/s wall ({run.wall:.2f} s), CPU {run.cpu * 1000 / n:.1f} ms/doc"
          f" ({run.cpu:.2f} s, workers included)")
    print(f"  {_marginal(ours)}: start-up, imports, the XSD and the packs loaded once by the parent,"
          f" which validates {batch.WARM_UP} documents before it forks its {args.jobs} workers warm")
    print(f"  in validate(), wall, summed over documents: {layer_ms['total_ms'] / 1000:.2f} s —"
          f" parse {layer_ms['parse_ms'] / n:.1f}, XSD {layer_ms['xsd_ms'] / n:.1f},"
          f" Schematron {layer_ms['schematron_ms'] / n:.1f}, Ségur {layer_ms['segur_ms'] / n:.1f} ms/doc")


def _print_saxon(n: int, jvm_runs: dict[str, dict[int, Run]]) -> None:
    for name, runs in jvm_runs.items():
        run, parts = runs[n], saxon_breakdown(runs[n].stderr)
        print(f"\nSaxon-HE, one JVM, {name}: {n / run.wall:6.1f} docs/s wall ({run.wall:.2f} s),"
              f" CPU {run.cpu * 1000 / n:.1f} ms/doc ({run.cpu:.2f} s, JIT and GC threads included)")
        print(f"  {_marginal(runs)}: JVM start-up, stylesheet compilation, JIT")
        print(f"  Saxon -t, wall: stylesheet compilation {parts['compile_ms']:.0f} ms; {parts['documents']}"
              f" documents: tree building {parts['tree_ms'] / n:.1f}, value sets"
              f" {parts['value_set_tree_ms'] / n:.1f}, execution {parts['execution_ms'] / n:.1f} ms/doc")
    if len(jvm_runs) > 1:
        wall = sum(runs[n].wall for runs in jvm_runs.values())
        cpu = sum(runs[n].cpu for runs in jvm_runs.values())
        print(f"\nSaxon-HE, {len(jvm_runs)} packs (one JVM each): {n / wall:6.1f} docs/s wall ({wall:.2f} s),"
              f" CPU {cpu * 1000 / n:.1f} ms/doc")


def _print_ratios(n: int, ours: Run, jvm_runs: dict[str, Run]) -> None:
    """Issue 18's target is against the official pipeline on the volet pack (the IMG pack alone): that
    ratio, in CPU (the figure the load does not distort), comes first."""
    volet = jvm_runs[VOLET_PACK]
    both = Run(sum(r.wall for r in jvm_runs.values()), sum(r.cpu for r in jvm_runs.values()))
    two = len(jvm_runs) > 1
    print(f"\nratio Saxon / segur, CPU per document: {volet.cpu / ours.cpu:.2f}× (IMG pack: issue 18's"
          f" target, ≥ 3×)" + (f", {both.cpu / ours.cpu:.2f}× (two packs)" if two else ""))
    print(f"ratio segur / Saxon, documents/s (wall, load-sensitive): {volet.wall / ours.wall:.2f}× against"
          " the IMG pack" + (f", {both.wall / ours.wall:.2f}× against the same two packs" if two else ""))


def _print_verdicts(made: dict, report: dict, svrl_dirs: dict[str, Path]) -> int:
    differences = compare(sorted(made), report, svrl_dirs)
    failing = sum(1 for name in made if any(svrl_assert_ids(d / name, p) for p, d in svrl_dirs.items()))
    print(f"\nverdicts on the official layer ({', '.join(svrl_dirs)}): {len(made) - len(differences)}/"
          f"{len(made)} documents with the same failed-assert ids ({failing} with failed asserts)")
    for line in differences:
        print(line)
    return 1 if differences else 0


if __name__ == "__main__":
    sys.exit(main())
