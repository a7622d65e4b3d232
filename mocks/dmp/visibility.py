"""Who sees a stored document: the DMP's visibility codes and its authors' rights (REM LGC.DMP.02;
DMP guide "Service DMP intégré aux LPS" §2.4.4; EX_2.1-1140 for replacing as an author)."""

from __future__ import annotations

from segur.mocks.dmp.xds_metadata import STATUS_DELETED, DocumentEntry, Xcn, Xon

#: The DMP's visibility codes (JDV_J08 / CI-SIS, codingScheme 1.2.250.1.213.1.1.4.13).
VISIBILITY_SCHEME = "1.2.250.1.213.1.1.4.13"
VISIBILITY_CODES = {"MASQUE_PS", "INVISIBLE_PATIENT", "INVISIBLE_REP_LEGAUX",
                    "INVISIBLE_REPRESENTANTS_LEGAUX"}
MASQUE_PS = ("MASQUE_PS", VISIBILITY_SCHEME)

#: Who stops seeing a document stored with each visibility code: (English, French).
VISIBILITY_EFFECTS = {
    "INVISIBLE_PATIENT": ("invisible to the patient", "invisible pour le patient"),
    "INVISIBLE_REPRESENTANTS_LEGAUX": ("invisible to the patient's legal representatives",
                                       "invisible pour les représentants légaux du patient"),
    "INVISIBLE_REP_LEGAUX": ("invisible to the patient's legal representatives",
                             "invisible pour les représentants légaux du patient"),
    "MASQUE_PS": ("masked from health professionals other than its authors",
                  "masqué aux professionnels de santé autres que ses auteurs"),
}


def is_author(entry: DocumentEntry, claims) -> bool:
    """EX_2.1-1140: the caller is one of the document's authors (person, else institution)."""
    person = getattr(claims, "subject_nameid", None)
    structure = getattr(claims, "structure_id", None)
    for author in entry.authors:
        if person and author.person and Xcn.parse(author.person).id == person:
            return True
        if structure and any(Xon.parse(i).id == structure for i in author.institutions):
            return True
    return bool(entry.legal_authenticator and person and Xcn.parse(entry.legal_authenticator).id == person)


def visible(entry: DocumentEntry, claims) -> bool:
    """Never a Deleted document; a masked one (MASQUE_PS) only to its authors."""
    if entry.availability_status == STATUS_DELETED:
        return False
    masked = any((c.code, c.scheme) == MASQUE_PS for c in entry.confidentiality_codes)
    return not masked or (claims is not None and is_author(entry, claims))
