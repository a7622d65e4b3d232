"""Poke a DMP from the command line: `python -m segur.mocks.dmp.client send|find|retrieve|td02|td03`.

The caller is a professional of the test world (`--rpps`); the VIHF is signed with a certificate of the
project's test PKI (`--pki`, the same directory the mock trusts). `client_app` can be mounted in the
`segur` CLI as it is.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

from segur.fixtures.world import load_world
from segur.kernel.ins import OID_NIR_TEST, Ins
from segur.kernel.pki import TestPki

from .api import VISIBILITY_SCHEME, CallerIdentity, Defects, DmpClient
from .metadata import Coded

client_app = typer.Typer(help="A DMP client: send CDA documents (ITI-41), find (ITI-18), retrieve (ITI-43), "
                              "TD0.2/TD0.3.", no_args_is_help=True)

URL = typer.Option("http://127.0.0.1:8302", "--url", help="Base URL of the DMP (the mock: segur serve dmp).")
PKI = typer.Option(
    Path(".segur/pki"), "--pki", help="Test PKI directory (segur pki); its CA must be the one the DMP trusts."
)
RPPS = typer.Option(
    None, "--rpps", help="RPPS of the calling professional (default: the first of the world).")
MTLS = typer.Option(False, "--mtls", help="Present the structure certificate in TLS (https URL).")


def _client(url: str, pki_dir: Path, rpps: str | None, mtls: bool):

    world = load_world()
    professional = world.professional_by_rpps(rpps) if rpps else world.professionals[0]
    if professional is None:
        raise typer.BadParameter(f"no professional with RPPS {rpps} in the test world", param_hint="--rpps")
    organisation = world.organisation_of(professional)
    pki = TestPki.load_or_create(pki_dir)
    return DmpClient.for_mock(url, pki=pki, caller=CallerIdentity.of(professional, organisation), mtls=mtls)


def _ins(value: str, oid: str) -> Ins:
    return Ins(value, oid)


def _print_result(result) -> None:
    if result.fault is not None:
        typer.echo(f"SOAP fault: {result.fault}")
        for rule in result.fault.rules:
            typer.echo(f"  {rule}")
        return
    typer.echo(f"status: {result.status.rsplit(':', 1)[-1] if result.status else '(none)'}")
    for error in result.errors:  # a Success may carry warnings: say which each one is
        severity = "warning" if (error.severity or "").endswith(":Warning") else "error"
        typer.echo(f"  {severity} {error.code}: {error.context}")


FILES = typer.Argument(..., exists=True, readable=True, help="CDA documents (one submission).")
OID = typer.Option(OID_NIR_TEST, help="The INS's OID.")
STATUS = typer.Option(["Approved"], help="Approved, Deprecated, Archived…")


@client_app.command("send")
def send(files: list[Path] = FILES,
         url: str = URL, pki: Path = PKI, rpps: str = RPPS, mtls: bool = MTLS,
         inline: bool = typer.Option(False, help="Base64 inside the envelope instead of MTOM parts."),
         mask: list[str] = typer.Option([], help="Visibility codes to add: MASQUE_PS, INVISIBLE_PATIENT, "
                                                 "INVISIBLE_REPRESENTANTS_LEGAUX.")) -> None:
    """ITI-41: send CDA documents with metadata built from their headers."""
    client = _client(url, pki, rpps, mtls)
    result = client.provide_and_register([f.read_bytes() for f in files], defects=Defects(inline=inline),
                                         extra_confidentiality=[Coded(m, VISIBILITY_SCHEME, m) for m in mask])
    _print_result(result)
    raise typer.Exit(0 if result.ok else 1)


@client_app.command("find")
def find(ins: str = typer.Argument(..., help="The patient's 15-character INS."), oid: str = OID,
         url: str = URL, pki: Path = PKI, rpps: str = RPPS, mtls: bool = MTLS, status: list[str] = STATUS,
         as_json: bool = typer.Option(False, "--json")) -> None:
    """ITI-18 FindDocuments for a patient."""
    client = _client(url, pki, rpps, mtls)
    result = client.find_documents(_ins(ins, oid), statuses=tuple(status))
    if not result.ok:
        _print_result(result)
        raise typer.Exit(1)
    rows = [{"uniqueId": e.unique_id, "entryUUID": e.entry_uuid, "repositoryUniqueId": e.repository_unique_id,
             "typeCode": e.type_code.code if e.type_code else None, "title": e.title,
             "status": e.availability_status.rsplit(":", 1)[-1], "creationTime": e.creation_time,
             "confidentiality": [c.code for c in e.confidentiality_codes]} for e in result.entries]
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for row in rows:
        typer.echo(
            f"{row['uniqueId']}  {row['typeCode']}  {row['status']}  {row['creationTime']}  {row['title']}")


@client_app.command("retrieve")
def retrieve(unique_id: str = typer.Argument(...), ins: str = typer.Option(..., help="The patient's INS."),
             oid: str = typer.Option(OID_NIR_TEST), repository: str = typer.Option("1.2.250.1.213.1.1.9.1"),
             out: Path = typer.Option(None, help="Write the document here (default: stdout)."),
             url: str = URL, pki: Path = PKI, rpps: str = RPPS, mtls: bool = MTLS) -> None:
    """ITI-43: the document's bytes."""
    client = _client(url, pki, rpps, mtls)
    result = client.retrieve(unique_id=unique_id, repository_unique_id=repository, patient=_ins(ins, oid))
    if result.fault is not None or not result.documents:
        _print_result(result)
        raise typer.Exit(1)
    content = result.documents[0].content
    if out is None:
        typer.echo(content.decode("utf-8", "replace"))
    else:
        out.write_bytes(content)
        typer.echo(f"{len(content)} bytes written to {out}")


@client_app.command("td02")
def td02(ins: str = typer.Argument(...), oid: str = typer.Option(OID_NIR_TEST), url: str = URL,
         pki: Path = PKI, rpps: str = RPPS, mtls: bool = MTLS) -> None:
    """TD0.2: does the patient have a DMP, is this caller authorised."""
    typer.echo(json.dumps(_client(url, pki, rpps, mtls).td02(_ins(ins, oid)), ensure_ascii=False))


@client_app.command("td03")
def td03(ins: str = typer.Argument(...), oid: str = typer.Option(OID_NIR_TEST),
         action: str = typer.Option("AJOUT", help="AJOUT or SUPPRESSION."), url: str = URL, pki: Path = PKI,
         rpps: str = RPPS, mtls: bool = MTLS) -> None:
    """TD0.3: add or remove this caller's authorisation."""
    typer.echo(json.dumps(_client(url, pki, rpps, mtls).td03(_ins(ins, oid), action), ensure_ascii=False))
