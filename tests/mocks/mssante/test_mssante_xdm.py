"""IHE XDM packages: `build_xdm` writes the ITI-32 layout, `read_xdm` reads it back and never trusts it.

Each METADATA.XML ↔ CDA agreement rule fails on a package built wrong on purpose; hostile zips
(bombs, path traversal, encryption flags, duplicates, garbage) become findings; hypothesis fuzzes
`read_xdm` with random bytes and with mutated real packages (it must return, never raise).
"""

from __future__ import annotations

import hashlib
import io
import re
import struct
import warnings
import zipfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from segur.mocks.mssante.cda import read_cda_header
from segur.mocks.mssante.xdm import XdmLimits, build_xdm, parse_metadata, read_xdm, utc_dtm

FUZZ_EXAMPLES = 400


@pytest.fixture(scope="module")
def cr_img(cda_pack) -> bytes:
    return (cda_pack / "ExemplesCDA" / "IMG_CR_IMG_2024.01.xml").read_bytes()


def rules_of(package) -> set[str]:
    return {f.rule for f in package.findings}


def raw_zip(entries: dict[str, bytes], compression=zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def test_build_writes_the_iti_32_layout_and_read_finds_everything(cr_img):
    data = build_xdm([(cr_img, None)])
    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    assert names == ["README.TXT", "INDEX.HTM", "IHE_XDM/SUBSET01/METADATA.XML",
                     "IHE_XDM/SUBSET01/DOC0001.XML"]
    package = read_xdm(data)
    assert package.valid and package.findings == []
    (doc,) = package.documents
    assert doc.content == cr_img and doc.metadata.hash == hashlib.sha1(cr_img).hexdigest()
    assert doc.metadata.size == str(len(cr_img))
    assert doc.metadata.unique_id == "1.2.250.1.213.1.1.1.45.2024.1.1" == doc.cda.unique_id
    assert doc.metadata.patient_id == "279035121518989^^^&1.2.250.1.213.1.4.10&ISO^NH"
    assert (doc.metadata.type_code, doc.metadata.type_code_scheme) == ("18748-4", "2.16.840.1.113883.6.1")
    assert package.patients == ["279035121518989"]
    assert b"DOC0001.XML" in package.index and b"DOC0001.XML" in package.readme


def with_effective_time(cda: bytes, value: str) -> bytes:
    """`cda` with another ClinicalDocument/effectiveTime (the header's, the first one in the file)."""
    changed = re.sub(rb'(<effectiveTime value=")[^"]*', rb"\g<1>" + value.encode(), cda, count=1)
    assert read_cda_header(changed).effective_time == value
    return changed


@pytest.mark.parametrize(("effective", "expected"), [
    ("20210108111700+0100", "20210108101700"),  # winter time in Paris
    ("20240701001500+0200", "20240630221500"),  # summer time, the day before in UTC
    ("20241231233000-0500", "20250101043000"),  # the year after in UTC
    ("202401151030+0100", "202401150930"),  # minutes: the same precision
    ("20240115103000.250+0100", "20240115093000"),  # fractions are not DTM
])
def test_creation_time_is_the_cda_effective_time_in_utc(cr_img, effective, expected):
    """ITI TF-3 §4.2.3.2.6: creationTime is in UTC; the CDA effectiveTime carries its local offset."""
    package = read_xdm(build_xdm([(with_effective_time(cr_img, effective), None)]))
    assert package.documents[0].metadata.creation_time == expected


@pytest.mark.parametrize("effective", ["20240115", "20240115103000", "2024"])
def test_a_creation_time_without_offset_is_kept_as_written(cr_img, effective):
    package = read_xdm(build_xdm([(with_effective_time(cr_img, effective), None)]))
    assert package.documents[0].metadata.creation_time == effective


@pytest.mark.parametrize("value", ["garbage", "20240230103000+0100", "202401151+0100", ""])
def test_utc_dtm_refuses_what_is_not_an_hl7_timestamp(value):
    assert utc_dtm(value) is None


def test_a_creation_time_given_by_the_caller_is_written_as_given(cr_img):
    package = read_xdm(build_xdm([(cr_img, {"creation_time": "20210108111700"})]))
    assert package.documents[0].metadata.creation_time == "20210108111700"


def test_several_documents_get_their_own_entries(cr_img):
    second = cr_img.replace(b'root="1.2.250.1.213.1.1.1.45.2024.1.1"',
                            b'root="1.2.250.1.213.1.1.1.45.2024.1.2"')  # another document id
    package = read_xdm(build_xdm([(cr_img, None), (second, None)]))
    assert [d.uri for d in package.documents] == ["DOC0001.XML", "DOC0002.XML"] and package.valid


@pytest.mark.rem("SC.MSS/CONF.24")
@pytest.mark.parametrize(("overrides", "rule"), [
    ({"hash": "0" * 40}, "MSS-XDM-HASH"),
    ({"size": "12"}, "MSS-XDM-SIZE"),
    ({"unique_id": "1.2.3^4"}, "MSS-XDM-UNIQUEID"),
    ({"patient_id": "180032B02040123^^^&1.2.250.1.213.1.4.8&ISO^NH"}, "MSS-XDM-PATIENT"),
    ({"patient_id": "279035121518989^^^&1.2.250.1.213.1.4.8&ISO^NH"}, "MSS-XDM-PATIENT"),
    ({"type_code": "11502-2"}, "MSS-XDM-TYPECODE"),
    ({"type_code_scheme": "1.2.3"}, "MSS-XDM-TYPECODE"),
])
def test_metadata_must_agree_with_the_cda(cr_img, overrides, rule):
    package = read_xdm(build_xdm([(cr_img, overrides)]))
    assert rules_of(package) == {rule} and not package.valid


@pytest.mark.parametrize(("omit", "rule"), [(("README.TXT",), "MSS-XDM-README"),
                                            (("INDEX.HTM",), "MSS-XDM-INDEX"),
                                            (("METADATA.XML",), "MSS-XDM-NO-SUBSET")])
def test_the_mandatory_files_must_be_there(cr_img, omit, rule):
    assert rule in rules_of(read_xdm(build_xdm([(cr_img, None)], omit=omit)))


def test_a_document_listed_but_absent_and_a_document_that_is_not_cda(cr_img):
    data = raw_zip({"README.TXT": b"r", "INDEX.HTM": b"i",
                    "IHE_XDM/SUBSET01/METADATA.XML": zipfile.ZipFile(io.BytesIO(build_xdm([(cr_img, None)])))
                    .read("IHE_XDM/SUBSET01/METADATA.XML")})
    assert "MSS-XDM-DOC-MISSING" in rules_of(read_xdm(data))
    not_cda = read_xdm(build_xdm([(b"<html/>", {"hash": hashlib.sha1(b"<html/>").hexdigest()})]))
    assert "MSS-XDM-NOT-CDA" in rules_of(not_cda)


def test_unreadable_metadata_is_a_finding(cr_img):
    data = raw_zip({"README.TXT": b"r", "INDEX.HTM": b"i", "IHE_XDM/SUBSET01/METADATA.XML": b"<not xml",
                    "IHE_XDM/SUBSET01/DOC0001.XML": cr_img})
    assert "MSS-XDM-METADATA" in rules_of(read_xdm(data))
    entity = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>'
    data = raw_zip({"README.TXT": b"r", "INDEX.HTM": b"i", "IHE_XDM/SUBSET01/METADATA.XML": entity})
    assert "MSS-XDM-METADATA" in rules_of(read_xdm(data))


def test_garbage_and_truncated_zips_are_findings():
    assert rules_of(read_xdm(b"")) == {"MSS-XDM-NOT-ZIP"}
    assert rules_of(read_xdm(b"PK\x03\x04" + b"\x00" * 100)) == {"MSS-XDM-NOT-ZIP"}
    good = raw_zip({"README.TXT": b"x" * 1000})
    assert not read_xdm(good[: len(good) // 2]).readable


def test_a_zip_bomb_is_refused_before_inflating():
    bomb = raw_zip({"IHE_XDM/SUBSET01/DOC0001.XML": b"\0" * (60 * 1024 * 1024)})
    assert len(bomb) < 200_000
    package = read_xdm(bomb)
    assert "MSS-XDM-BOMB" in rules_of(package) and package.documents == []


def test_a_high_ratio_entry_under_the_size_limits_is_refused_too():
    limits = XdmLimits(max_ratio=50)
    package = read_xdm(raw_zip({"README.TXT": b"\0" * (5 * 1024 * 1024)}), limits)
    assert "MSS-XDM-BOMB" in rules_of(package) and package.readme is None


def test_a_lying_size_header_cannot_inflate_past_the_declared_size():
    data = bytearray(raw_zip({"README.TXT": b"A" * 100_000}))
    # shrink the declared uncompressed size in the central directory (offset 24 of its record)
    central = data.rfind(b"PK\x01\x02")
    struct.pack_into("<I", data, central + 24, 10)
    package = read_xdm(bytes(data))
    assert package.readme is None
    assert rules_of(package) & {"MSS-XDM-BOMB", "MSS-XDM-NOT-ZIP"}


def test_too_many_entries_are_refused_whole():
    package = read_xdm(raw_zip({f"F{i}.TXT": b"" for i in range(30)}), XdmLimits(max_entries=20))
    assert not package.readable and rules_of(package) == {"MSS-XDM-BOMB"}


@pytest.mark.parametrize("name", ["../../etc/passwd", "/etc/passwd", "IHE_XDM/../../x", "C:/Windows/x",
                                  "IHE_XDM\\SUBSET01\\DOC0001.XML", "bad\x01name"])
def test_unsafe_entry_names_are_ignored(name):
    package = read_xdm(raw_zip({name: b"x", "README.TXT": b"r"}))
    assert "MSS-XDM-PATH" in rules_of(package)
    assert package.readme == b"r"


def test_duplicate_entries_are_reported_and_the_first_is_kept():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("README.TXT", b"first")
        with pytest.warns(UserWarning):
            archive.writestr("README.TXT", b"second")
    package = read_xdm(buffer.getvalue())
    assert "MSS-XDM-DUPLICATE" in rules_of(package) and package.readme == b"first"


def test_encrypted_entries_are_not_read():
    data = bytearray(raw_zip({"README.TXT": b"secret"}, compression=zipfile.ZIP_STORED))
    for signature, flag_offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = data.find(signature)
        data[at + flag_offset] |= 0x01
    package = read_xdm(bytes(data))
    assert "MSS-XDM-ENCRYPTED" in rules_of(package) and package.readme is None


def test_the_metadata_parser_reads_a_split_uri_slot():
    xml = (b'<SubmitObjectsRequest xmlns="urn:oasis:names:tc:ebxml-regrep:xsd:lcm:3.0" '
           b'xmlns:rim="urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0"><rim:RegistryObjectList>'
           b'<rim:ExtrinsicObject id="d"><rim:Slot name="URI"><rim:ValueList>'
           b"<rim:Value>2|0001.XML</rim:Value>"
           b"<rim:Value>1|DOC</rim:Value></rim:ValueList></rim:Slot></rim:ExtrinsicObject>"
           b"</rim:RegistryObjectList></SubmitObjectsRequest>")
    (entry,) = parse_metadata(xml)
    assert entry.uri == "DOC0001.XML"


# ------------------------------------------------------------------------------------------- fuzzing
@settings(max_examples=FUZZ_EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=4096))
def test_fuzz_read_xdm_with_random_bytes_never_raises(data):
    package = read_xdm(data)
    assert package.findings or package.readable


@settings(max_examples=FUZZ_EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                             HealthCheck.function_scoped_fixture])
@given(st.data())
def test_fuzz_read_xdm_with_mutated_real_packages_never_raises(small_package, data):
    mutated = bytearray(small_package)
    for _ in range(data.draw(st.integers(1, 8))):
        position = data.draw(st.integers(0, len(mutated) - 1))
        mutated[position] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(len(mutated) // 2, len(mutated)))
    package = read_xdm(bytes(mutated[:cut]))
    total = sum(len(d.content) for d in package.documents)
    assert total <= XdmLimits().max_total_bytes


@pytest.fixture(scope="module")
def small_package() -> bytes:
    cda = (b'<?xml version="1.0" encoding="UTF-8"?><ClinicalDocument xmlns="urn:hl7-org:v3">'
           b'<id root="1.2.3" extension="9"/><code code="18748-4" codeSystem="2.16.840.1.113883.6.1"/>'
           b'<recordTarget><patientRole><id root="1.2.250.1.213.1.4.10" extension="279035121518989"/>'
           b"</patientRole></recordTarget></ClinicalDocument>")
    return build_xdm([(cda, None)])


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.text(min_size=1, max_size=40), st.binary(max_size=200)), max_size=8))
def test_fuzz_read_xdm_with_arbitrary_entry_names(entries):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # duplicate names are part of the point
        for name, content in entries:
            try:
                archive.writestr(name, content)
            except (ValueError, UnicodeEncodeError, IndexError):  # names the stdlib writer itself rejects
                continue
    package = read_xdm(buffer.getvalue())
    for doc in package.documents:
        assert ".." not in doc.path.split("/") and not doc.path.startswith("/")


def test_metadata_without_any_document_entry():
    empty = (b'<lcm:SubmitObjectsRequest xmlns:lcm="urn:oasis:names:tc:ebxml-regrep:xsd:lcm:3.0" '
             b'xmlns:rim="urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0"><rim:RegistryObjectList/>'
             b"</lcm:SubmitObjectsRequest>")
    entries = {"README.TXT": b"r", "INDEX.HTM": b"i", "IHE_XDM/SUBSET01/METADATA.XML": empty}
    package = read_xdm(raw_zip(entries))
    assert rules_of(package) == {"MSS-XDM-NO-DOCUMENT"}
