"""MSSanté mock: messages/s and latency of N concurrent SMTP senders, each message carrying a ~1 MB XDM.

Starts the mock in this process on loopback (STARTTLS, every check on: XDM reading, METADATA.XML
↔ CDA agreement, headers, subject, CDA validation with `segur.validators.validate`), then N sender
processes (so the senders do not compete with the server for its interpreter lock). Each sender
opens one SMTP session (EHLO, STARTTLS, AUTH PLAIN) and sends its share of the messages; the
latency measured is one message's MAIL…DATA round trip. Every 40 messages the mock's mailboxes
are emptied (outside the senders' timing) so memory stays bounded. Target: >= 200 messages/s.

    python benchmarks/mssante.py [--senders 8] [--messages 100] [--no-validate] [--workers N]

The message is conformant (the mock's verdict is `pass`, checked before the run): a CR-IMG N1 of a
world patient built by `segur.fixtures.documents.build_cr_img_n1`, whose PDF/A report carries a
~1 MB key image (JPEG noise, so the zip does not shrink it), in IHE_XDM.ZIP with its PDF copy,
subject and X-MSS-* headers. On the 2-core reference machine the senders and the server share the
two cores; the script prints the load average and the server process's CPU time per message,
which depends less on the other load than messages/s does.
"""

from __future__ import annotations

import argparse
import email.policy
import io
import os
import resource
import smtplib
import ssl
import statistics
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from segur.fixtures.documents import build_cr_img_n1
from segur.fixtures.world import load_world
from segur.mocks.mssante.testing import mss_message, running_mssante

SENDER = "jacques.bideault@radiologie-ambroise.mssante.fr"
RECIPIENT = "laurent.chevallier@ch-toulouse.mssante.fr"
PATIENT = "pat-0007"  # GONCALVES Timothée, a world patient with a qualified INS (NIR)


def key_image_pdf(title: str, lines: list[str], author: str, size_kb: int) -> bytes:
    """A PDF/A-2b radiology report of about `size_kb` kB: the text of the report and one key image of
    the exam (a noise JPEG, which no compressor shrinks, as the scanned or DICOM-rendered images of
    real reports), laid out with reportlab and declared PDF/A as `segur.fixtures.documents.make_pdf`
    does (same embedded fonts, output intent and XMP; its helpers are private, hence the imports)."""
    from PIL import Image
    from reportlab import rl_config
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    from segur.fixtures.documents import pdf as fixtures_pdf

    rl_config.useA85 = 0  # the JPEG stream as is (binary), not ASCII85 (+25 %)
    side = max(16, int((size_kb * 1000 / 0.8) ** 0.5))  # noise JPEG at quality 90: ~0.8 byte per pixel
    image = Image.frombytes("L", (side, side), os.urandom(side * side))
    jpeg = io.BytesIO()
    image.save(jpeg, "JPEG", quality=90)
    fixtures_pdf._register_fonts()
    regular = fixtures_pdf._FONTS["regular"]
    out = io.BytesIO()
    pdf = canvas.Canvas(out, pagesize=A4, invariant=True, pageCompression=0, initialFontName=regular)
    pdf.setTitle(title)
    pdf.setSubject(title)
    pdf.setAuthor(author)
    pdf.setCreator("segur-harness benchmark")
    pdf.setKeywords("")
    pdf.setFont(fixtures_pdf._FONTS["bold"], 14)
    pdf.drawString(20 * mm, 272 * mm, title)
    pdf.setFont(regular, 10)
    for n, line in enumerate(lines):
        pdf.drawString(20 * mm, (260 - 5.5 * n) * mm, line)
    pdf.drawImage(ImageReader(io.BytesIO(jpeg.getvalue())), 30 * mm, 40 * mm, 150 * mm, 150 * mm)
    pdf.drawString(30 * mm, 34 * mm, "Image clé de l'examen")
    pdf.showPage()
    fixtures_pdf._declare_pdfa(pdf)
    pdf.save()
    return out.getvalue()


def benchmark_message(size_kb: int = 1000) -> bytes:
    """A conformant MSSanté message: a CR-IMG N1 of a world patient by the sender (the world's builder),
    carrying a ~`size_kb` kB PDF/A report, in IHE_XDM.ZIP with its PDF copy, subject and X-MSS-* headers
    as `mss_message` derives them. The mock judges it `pass` (checked before the run)."""
    world = load_world()
    author = world.professional_by_mailbox(SENDER)
    organisation = world.organisation_of(author)
    patient = world.patient_by_key(PATIENT)
    title = "CR d'imagerie médicale - CT Chest"
    pdf = key_image_pdf(title, [
        f"Patient : {patient.birth_name} {patient.first_names} ({patient.sex}), "
        f"né(e) le {patient.birth_date}",
        f"INS : {patient.ins} (OID {patient.oid})",
        f"Auteur : {author.display_name} - {author.author_display}",
        f"Structure : {organisation.name} (FINESS {organisation.finess})",
        "Examen : CT Chest (CT). Résultat : examen réalisé dans de bonnes conditions.",
        "Conclusion : pas d'anomalie décelable.",
    ], author.display_name, size_kb)
    cda = build_cr_img_n1(patient, author, organisation, pdf, title=title)
    return mss_message(SENDER, RECIPIENT, [cda]).as_bytes(policy=email.policy.SMTP)  # CRLF line ends


def expected_verdict(message: bytes) -> str:
    """The verdict the mock's checks give the benchmark message (so the run exercises the accepted path)."""
    from segur.mocks.mssante.checks import check_message
    from segur.mocks.mssante.models import run_validator

    world = load_world()
    recipients = [world.mailbox(RECIPIENT)]
    report = check_message(message, login=SENDER, recipients=recipients, validate=run_validator)
    if report.verdict != "pass":
        sys.exit(f"the benchmark message is not conformant: {', '.join(report.rules)}")
    return report.verdict


def _cpu_seconds(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def _workers_cpu_seconds(backend) -> float:
    """CPU time of the mock's check worker processes, if any (Linux /proc: utime + stime)."""
    pool = getattr(backend, "_pool", None)
    total = 0.0
    for pid in list(getattr(pool, "_processes", None) or {}):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def _sender(host: str, port: int, ca_file: str, password: str, message: bytes,
            count: int) -> tuple[list[float], int]:
    context = ssl.create_default_context(cafile=ca_file)
    latencies, failed = [], 0
    with smtplib.SMTP(host, port, timeout=60) as client:
        client.starttls(context=context)
        client.login(SENDER, password)
        for _ in range(count):
            start = time.perf_counter()
            try:
                client.sendmail(SENDER, [RECIPIENT], message)
            except smtplib.SMTPException:
                failed += 1
            latencies.append(time.perf_counter() - start)
    return latencies, failed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--senders", type=int, default=8)
    parser.add_argument("--messages", type=int, default=100, help="total messages (bounded: at most 2000)")
    parser.add_argument("--no-validate", action="store_true",
                        help="skip the CDA validator (other checks stay)")
    parser.add_argument("--workers", type=int, default=0, help="run the checks in N worker processes")
    parser.add_argument("--size-kb", type=int, default=1000,
                        help="size of the PDF report (default ~1 MB XDM)")
    args = parser.parse_args()
    total = min(args.messages, 2000)
    message = benchmark_message(args.size_kb)
    verdict = expected_verdict(message)
    options = {"validate": False} if args.no_validate else {}
    options["workers"] = args.workers
    with running_mssante(load_world(), **options) as mss:
        stop = threading.Event()

        def empty_mailboxes() -> None:  # keep memory bounded: ~4 MB per stored 1 MB message
            while not stop.wait(0.05):
                if len(mss.backend.messages()) >= 40:
                    mss.mock.reset()

        janitor = threading.Thread(target=empty_mailboxes, daemon=True)
        janitor.start()
        shares = [total // args.senders + (1 if i < total % args.senders else 0) for i in range(args.senders)]
        load_before = os.getloadavg()[0]
        cpu_before = _cpu_seconds(resource.RUSAGE_SELF)
        senders_before = _cpu_seconds(resource.RUSAGE_CHILDREN)
        workers_before = _workers_cpu_seconds(mss.backend)
        started = time.perf_counter()
        with ProcessPoolExecutor(max_workers=args.senders) as pool:
            server = (mss.smtp_host, mss.smtp_port, str(mss.mock.pki.ca_file), mss.password)
            futures = [pool.submit(_sender, *server, message, share) for share in shares if share]
            results = [f.result() for f in futures]
        elapsed = time.perf_counter() - started
        server_cpu = _cpu_seconds(resource.RUSAGE_SELF) - cpu_before
        senders_cpu = _cpu_seconds(resource.RUSAGE_CHILDREN) - senders_before  # the sender pool has exited
        workers_cpu = _workers_cpu_seconds(mss.backend) - workers_before
        load_after = os.getloadavg()[0]
        stop.set()
        verdicts = {e.verdict for e in mss.journal.entries("smtp-message")}
    latencies = sorted(x for lat, _ in results for x in lat)
    failed = sum(f for _, f in results)
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    print(f"message size: {len(message) / 1e6:.2f} MB, checks on, validator "
          f"{'off' if args.no_validate else 'on'}; expected verdict {verdict}, "
          f"verdicts seen: {sorted(verdicts)}")
    print(f"check workers: {args.workers or 'in-process threads'}; load average (1 min) "
          f"{load_before:.2f} before, {load_after:.2f} after")
    print(f"senders: {args.senders}, messages: {len(latencies)}, failed: {failed}, "
          f"wall time: {elapsed:.2f} s")
    print(f"throughput: {len(latencies) / elapsed:.1f} messages/s "
          f"({len(latencies) * len(message) / elapsed / 1e6:.1f} MB/s)")
    print(f"latency: p50 {statistics.median(latencies) * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms")
    count = max(len(latencies), 1)
    print(f"CPU per message: server process {server_cpu * 1000 / count:.1f} ms "
          f"({server_cpu / elapsed * 100:.0f} % of one core), "
          f"check workers {workers_cpu * 1000 / count:.1f} ms, senders {senders_cpu * 1000 / count:.1f} ms")
    print("target: >= 200 messages/s")


if __name__ == "__main__":
    main()
