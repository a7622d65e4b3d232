"""MSSanté mock: a CDA N1 carrying a large PDF is read like any other, and hostile XML is still refused.

An 8 MB PDF is an 11 M-character base64 text node, over libxml2's default 10 MB per text node: the mock
once answered ``MSS-XDM-NOT-CDA`` "Text node too long" to a valid document. It now reads documents with
the validator's safe parser (large text nodes allowed; size limit, no DTD, no entities, depth limit kept).
"""

from __future__ import annotations

import base64
import json
import random
import smtplib
import urllib.request

import pytest
from mssante_helpers import PRO, PRO2, mock_fixtures

from segur.fixtures.documents import build_cr_img_n1
from segur.fixtures.documents.pdf import make_pdf
from segur.fixtures.world import load_world
from segur.mocks.mssante.cda import MAX_XML_BYTES, NotXml, read_cda_header
from segur.mocks.mssante.checks import check_message
from segur.mocks.mssante.testing import mss_message
from segur.mocks.mssante.xdm import build_xdm

mss, clean = mock_fixtures()

EIGHT_MB = 8 * 1024 * 1024


@pytest.fixture(scope="module")
def world():
    return load_world()


@pytest.fixture(scope="module")
def large_n1(world) -> bytes:
    """A CR-IMG N1 whose PDF is 8 MB (a real PDF, padded after its end): its base64 is one ~11 MB text
    node."""
    patient, doctor = world.patients[1], world.professionals[0]
    small = make_pdf("CR d'imagerie", ["Conclusion : RAS."])
    pdf = small + b"%" + b"0" * (EIGHT_MB - len(small) - 2) + b"\n"
    return build_cr_img_n1(patient, doctor, world.organisation_of(doctor), pdf=pdf)


def send(mss, message) -> None:
    with smtplib.SMTP(mss.smtp_host, mss.smtp_port, timeout=30) as client:
        client.starttls(context=mss.client_context())
        client.login(PRO, mss.password)
        client.send_message(message)


def stored_messages(mss, address: str) -> list[dict]:
    with urllib.request.urlopen(f"{mss.url}/_admin/mailboxes/{address}", timeout=30) as response:
        return json.loads(response.read())["messages"]


def test_an_n1_with_an_8_mb_pdf_sent_by_smtp_is_read_not_refused_as_not_cda(mss, large_n1):
    assert len(large_n1) > 10_000_000
    send(mss, mss_message(PRO, PRO2, [large_n1]))
    (stored,) = stored_messages(mss, PRO2)
    assert "MSS-XDM-NOT-CDA" not in stored["rules"]
    assert not {"MSS-INS-HEADER-UNCHECKED", "MSS-CODECDA-UNCHECKED"} & set(stored["rules"])
    assert stored["documents"][0]["cda"]["code"] == "18748-4"
    assert stored["documents"][0]["cda"]["n1_media_type"] == "application/pdf"


def test_the_header_of_a_large_n1_is_read_with_its_pdf(large_n1):
    header = read_cda_header(large_n1)
    assert header.level == 1 and header.embedded_pdf is not None and len(header.embedded_pdf) == EIGHT_MB


def _in_an_xdm(world, document: bytes, cr_img: bytes) -> set[str]:
    message = mss_message(PRO, PRO2, [cr_img], xdm=build_xdm([(document, None)]))
    report = check_message(message.as_bytes(), login=PRO, recipients=[world.mailbox(PRO2)], world=world)
    return {f.rule for f in report.findings}


HOSTILE = {
    "billion laughs": b'<!DOCTYPE d [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><ClinicalDocument '
                      b'xmlns="urn:hl7-org:v3">&b;</ClinicalDocument>',
    "external entity": b'<!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]><ClinicalDocument '
                       b'xmlns="urn:hl7-org:v3">&x;</ClinicalDocument>',
    "external DTD": b'<!DOCTYPE ClinicalDocument SYSTEM "http://example.invalid/cda.dtd"><ClinicalDocument '
                    b'xmlns="urn:hl7-org:v3"/>',
    # a large text node (not compressible: a zip bomb is refused earlier) switches libxml2 to its
    # large-document mode; the depth limit must hold there too
    "deep with a large text node": b'<ClinicalDocument xmlns="urn:hl7-org:v3">' + b"<a>" * 300
                                   + base64.b64encode(random.Random(0).randbytes(7_900_000))
                                   + b"</a>" * 300 + b"</ClinicalDocument>",
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_xml_in_an_xdm_is_still_refused_as_not_cda(world, cda_pack, name):
    cr_img = (cda_pack / "ExemplesCDA" / "IMG_CR_IMG_2024.01.xml").read_bytes()
    with pytest.raises(NotXml):
        read_cda_header(HOSTILE[name])
    assert "MSS-XDM-NOT-CDA" in _in_an_xdm(world, HOSTILE[name], cr_img)


def test_a_document_over_the_50_mb_limit_is_refused_before_parsing():
    with pytest.raises(NotXml, match="XML-002"):
        read_cda_header(b"<a>" + b"x" * MAX_XML_BYTES + b"</a>")
