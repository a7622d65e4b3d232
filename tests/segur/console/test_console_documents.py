"""What the console reads out of documents and messages: an XDM zip's CDA documents (bounded: an upload is
hostile), the versions chain of a replaced document, a message's headers and zip, the source lines a
finding points at."""

from __future__ import annotations

import io
import zipfile
from email.message import EmailMessage

import pytest

from segur.console import documents
from segur.console.documents import (
    Unavailable,
    headers_of_message,
    replacement_chain,
    source_lines,
    version_chain,
    xdm_documents,
    xdm_of_message,
)


def _zip(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return out.getvalue()


def test_an_xdm_zip_gives_its_documents_but_not_its_metadata():
    data = _zip({"IHE_XDM/SUBSET01/METADATA.XML": b"<m/>", "IHE_XDM/SUBSET01/DOC0001.XML": b"<doc/>",
                 "INDEX.HTM": b"<html/>", "README.TXT": b"x"})
    assert xdm_documents(data) == [("IHE_XDM/SUBSET01/DOC0001.XML", b"<doc/>")]


def test_a_zip_without_a_document_or_not_a_zip_is_refused_with_the_reason():
    with pytest.raises(Unavailable, match="no XML document"):
        xdm_documents(_zip({"IHE_XDM/SUBSET01/METADATA.XML": b"<m/>"}))
    with pytest.raises(Unavailable, match="not a readable zip"):
        xdm_documents(b"PK\x03\x04garbage")


def test_a_zip_bomb_is_refused_before_it_is_inflated(monkeypatch):
    monkeypatch.setattr(documents, "MAX_XDM_MEMBER_BYTES", 1000)
    with pytest.raises(Unavailable, match="inflates to 5000 bytes"):
        xdm_documents(_zip({"IHE_XDM/SUBSET01/DOC0001.XML": b"<" + b"a" * 4998 + b">"}))
    monkeypatch.setattr(documents, "MAX_XDM_TOTAL_BYTES", 100)
    with pytest.raises(Unavailable, match="inflates to more than"):
        xdm_documents(_zip({"A.XML": b"a" * 80, "B.XML": b"b" * 80}))
    monkeypatch.setattr(documents, "MAX_XDM_MEMBERS", 2)
    with pytest.raises(Unavailable, match="holds 3 files"):
        xdm_documents(_zip({"A.XML": b"a", "B.XML": b"b", "C.XML": b"c"}))


def test_the_versions_chain_runs_first_to_last_from_any_version():
    entries = [{"entry_uuid": "u1"}, {"entry_uuid": "u2"}, {"entry_uuid": "u3"}, {"entry_uuid": "other"}]
    links = replacement_chain(entries, {"u2": ["u1"], "u3": ["u2"]})
    assert links["u1"] == {"replaces": None, "replaced_by": "u2"}
    for start in ("u1", "u2", "u3"):
        assert [v["entry_uuid"] for v in version_chain(entries, links, start)] == ["u1", "u2", "u3"]
    assert [v["entry_uuid"] for v in version_chain(entries, links, "other")] == ["other"]


def test_a_loop_in_the_replacements_does_not_hang_the_page():
    entries = [{"entry_uuid": "a"}, {"entry_uuid": "b"}]
    links = replacement_chain(entries, {"a": ["b"], "b": ["a"]})
    assert sorted(v["entry_uuid"] for v in version_chain(entries, links, "a")) == ["a", "b"]


def test_a_messages_headers_and_xdm_zip_are_read_from_its_raw_text():
    message = EmailMessage()
    message["From"], message["To"], message["X-MSS-INS"] = "a@x.fr", "b@y.fr", "O"
    message.set_content("Bonjour")
    message.add_attachment(b"PK\x03\x04zip", maintype="application", subtype="zip", filename="IHE_XDM.ZIP")
    raw = message.as_string()
    assert ("X-MSS-INS", "O") in headers_of_message(raw)
    assert xdm_of_message(raw) == b"PK\x03\x04zip"
    message.clear_content()
    with pytest.raises(Unavailable, match="no IHE_XDM.ZIP"):
        xdm_of_message(EmailMessage().as_string() + "\nhello")
    with pytest.raises(Unavailable, match="no raw text"):
        xdm_of_message("")


def test_the_source_lines_a_finding_names_are_marked():
    lines = source_lines(b"<a>\n  <b/>\n</a>", [{"line": 2}, {"line": None}, {"line": "x"}])
    assert [(line.number, line.hit) for line in lines] == [(1, False), (2, True), (3, False)]
    assert lines[1].text == "  <b/>"
