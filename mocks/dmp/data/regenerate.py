"""Rebuild the DMP value-set data files of this folder from the ANS reference copies in ../shared/ref.

Run from the repository root: `.venv/bin/python mocks/dmp/data/regenerate.py [path/to/shared/ref]`.
Each output JSON keeps the source, version and date of what it was built from; ASS_X04 (no copy in
../shared/ref) is transcribed below from the NOS SVS file cited in its `source`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from lxml import etree

HERE = Path(__file__).resolve().parent
SVS = "{urn:ihe:iti:svs:2008}"

#: NOS terminology (FHIR canonical URL) -> the OID written as XDS codingScheme. Sources: the CI-SIS
#: binding texts ("TRE_A06-FormatCodeComplementaire, OID : 1.2.250.1.213.1.1.4.2.282", "TRE_A11-IheFormatCode,
# : OID : 1.3.6.1.4.1.19376.1.2.3", "TRE_A09-DICOMuidRegistry, OID : 1.2.840.10008.2.6.1",
# "TRE_A10-NomenclatureURN,
# : OID : URN") and the ANS ITI-41 sample (classCode 1.2.250.1.213.1.1.4.1, practiceSetting
# 1.2.250.1.213.1.1.4.9).
SYSTEM_OIDS = {
    "TRE_A03-ClasseDocument": "1.2.250.1.213.1.1.4.1",
    "TRE_A10-NomenclatureURN": "URN",
    "TRE_A06-FormatCodeComplementaire": "1.2.250.1.213.1.1.4.2.282",
    "TRE_A11-IheFormatCode": "1.3.6.1.4.1.19376.1.2.3",
    "TRE_A09-DICOMuidRegistry": "1.2.840.10008.2.6.1",
    "TRE_A00-ProducteurDocNonPS": "1.2.250.1.213.1.1.4.6",
    "TRE_A01-CadreExercice": "1.2.250.1.213.1.1.4.9",
    "TRE_R269-AvailabilityStatusProvenanceOasis": "urn:oasis:names:tc:ebxml-regrep:StatusType",
    "TRE_R270-AvailabilityStatus": "urn:asip:ci-sis:2010:StatusType",
    "TRE_R220-ModeleDocumentCDAStructure": "templateId",
    "TRE_R221-ModeleDocumentCDANonStructure": "templateId",
}


def system_oid(url: str) -> str:
    name = url.split("/NOS/")[1].split("/")[0]
    return SYSTEM_OIDS[name]


def write(name: str, data: dict) -> None:
    text = json.dumps(data, ensure_ascii=False, indent=1) + "\n"
    (HERE / f"{name}.json").write_text(text, encoding="utf-8")


def from_fhir(ref: Path, file: str, key: str, name: str, status: str = "published", note: str = "",
              stands_for: str | None = None) -> None:
    vs = json.loads((ref / "terminologies" / file).read_text(encoding="utf-8"))
    concepts = [{"code": c["code"], "system": system_oid(inc["system"]), "display": c.get("display", "")}
                for inc in vs["compose"]["include"] for c in inc.get("concept", [])]
    write(key, {
        "key": key, "name": stands_for or vs["name"], "published_as": vs["name"], "status": status,
        "oid": vs["identifier"][0]["value"].removeprefix("urn:oid:") if vs.get("identifier") else None,
        "url": vs["url"], "version": vs["version"], "date": vs["date"],
        "source": f"ANS terminology IG (ans.fr.terminologies), ValueSet {vs['id']}, as transcribed in "
                  f"../shared/ref/terminologies/{file}",
        "note": note, "concepts": concepts, "open_systems": []})


def from_svs(ref: Path, file: str, key: str, stands_for: str, status: str, note: str,
             open_systems: list[dict] | None = None, keep_systems: set[str] | None = None) -> None:
    root = etree.parse(str(ref / "cda" / "jeuxDeValeurs" / file)).getroot()
    vs = root.find(f"{SVS}ValueSet")
    concepts = [{"code": c.get("code"), "system": c.get("codeSystem"), "display": c.get("displayName", "")}
                for c in vs.iter(f"{SVS}Concept")
                if not c.get("dateFin") and (keep_systems is None or c.get("codeSystem") in keep_systems)]
    write(key, {
        "key": key, "name": stands_for, "published_as": vs.get("displayName").removesuffix(".tabs"),
        "status": status, "oid": vs.get("id"), "url": vs.get("urlFichier"),
        "version": vs.get("dateMaj"), "date": vs.get("revisionDate"),
        "source": f"ANS NOS {vs.get('urlFichier')} (SVS), as published in ansforge/TestContenuCDA-3-0 "
                  f"jeuxDeValeurs/{file} (commit 7cd489b39368809df9bcf2cfef5e5d6354438a02; "
                  "../shared/ref/cda)",
        "note": note, "concepts": concepts, "open_systems": open_systems or []})


FALLBACK = ("The DMP value set {dmp} was not found in any public copy we could read (only its name and "
            "canonical URL are cited by ANS pages). ANS binding texts say: 'Les valeurs possibles peuvent "
            "être restreintes en fonction du jeu de valeurs correspondant mis à disposition par le projet "
            "(exemple : {dmp}). En l'absence de spécifications complémentaires, le jeu de valeurs {cisis} "
            "peut être utilisé.' This file is that CI-SIS set, standing in for {dmp}.")

# ASS_X04-CorrespondanceType-Classe-CISIS (OID 1.2.250.1.213.1.1.4.249, dateMaj 20240223120000): type ->
# class.
X04_LOINC = """10213-7:10 11369-6:52 11488-4:10 11490-0:10 11493-4:10 11502-2:10 11505-5:10 11506-3:10
11526-1:10 11528-7:10 15507-7:10 15508-5:10 18748-4:31 18761-7:11 18776-5:44 24611-6:10 27899-4:10 28653-4:10
29274-8:10 29550-1:43 29551-9:42 29554-3:10 34112-3:10 34133-9:11 34749-2:10 34794-8:10 34842-5:11 34874-8:10
34875-5:10 39256-3:10 46241-6:10 47420-5:10 51851-4:95 51969-4:10 52040-3:31 52063-5:42 52521-2:42 55115-0:42
56445-0:11 56446-8:95 57055-6:11 57057-2:11 57075-4:11 57828-6:42 57832-8:42 57833-6:42 59283-2:10 59284-0:95
60568-3:10 60591-5:11 60593-1:43 61357-0:42 67851-6:10 68599-0:11 68817-6:11 70004-7:10 74207-2:11 74465-6:90
75468-9:42 75482-0:10 75492-9:10 75497-8:10 75496-0:10 77436-4:10 77604-7:44 78489-2:11 78513-9:10 78601-2:10
80565-5:45 80771-9:44 80788-3:44 80820-4:11 83836-7:11 83869-8:44 83901-9:11 83981-1:10 85208-7:10 86531-1:95
87273-9:52 89235-6:11 88348-8:11 89601-9:52 93024-8:10 96349-6:10 96874-3:52 96173-0:52"""
X04_A05 = """ATTEST-ASS-COMPL:95 ATTEST-HEBGT:95 ATTEST-RESID:95 ATTEST-DROITS-AM:95 AUTORIS-SOINS:95
BIL_AUTO:10
CERT_DECL:52 CONTACTS-URGENCE:95 DISP_AUT:43 EXPPAT_1:90 EXPPAT_2:90 EXPORT_DUI:11 EXPPAT_3:90 DOCPAT01:11
DOCPAT02:42 DOCPAT03:10 DOCPAT04:31 DOCPAT05:10 DOCPAT06:10 DOCPAT07:52 DOCPAT08:11 DOCPAT09:95 DOCPAT10:90
IMG-KOS:31 PROT_ALD:44 REMB:60 SYNTH:11 PRESC-AAT:42 PIECE-IDENTITE:95 PRESC-BIO:42 PRESC-KINE:42 PRESC-INF:42
PRESC-PEDI:42 PRESC-ORTHOPHO:42 PRESC-ORTHOPTIE:42 FEUILLE-DE-STYLE:99 FICHE-CONTACTS:95"""


def x04() -> None:
    pairs = []
    for text, system in ((X04_LOINC, "2.16.840.1.113883.6.1"), (X04_A05, "1.2.250.1.213.1.1.4.12")):
        for item in text.split():
            code, target = item.rsplit(":", 1)
            pairs.append(
                {"code": code, "system": system, "target": target, "target_system": "1.2.250.1.213.1.1.4.1"})
    pairs.append({"code": "E1762", "system": "ASTM", "target": "urn:oid:1.3.6.1.4.1.19376.1.2.1.1.1",
                  "target_system": "URN"})
    write("ASS_X04", {
        "key": "ASS_X04", "name": "ASS_X04-CorrespondanceType-Classe-CISIS", "status": "published",
        "oid": "1.2.250.1.213.1.1.4.249",
        "url": "https://mos.esante.gouv.fr/NOS/ASS_X04-CorrespondanceType-Classe-CISIS",
        "version": "20240223120000", "date": "2024-02-23",
        "source": "ANS NOS ASS_X04-CorrespondanceType-Classe-CISIS.xml (SVS MappedConceptList, dateMaj "
                  "20240223120000), read through a public code index in a copy kept by an ANS tool "
                  "(nizarbs2508/InteropStudio2024 src/main/resources/xml/, commit e3f382ca); transcribed "
                  "pair by pair.",
        "note": "The DMP counterpart ASS_X16-CorrespondanceType-Classe-DMP was not found; the ANS "
                "'Mapping XDS' page for the DMP cites ASS_X04.",
        "mappings": pairs})


A11_FILE = "ASS-A11-CorresModeleCDA-XdsFormatCode-CISIS.json"


def a11(ref: Path) -> None:
    cm = json.loads(
        (ref / "terminologies" / A11_FILE).read_text("utf-8"))
    pairs = []
    for group in cm["group"]:
        for element in group["element"]:
            for target in element["target"]:
                pairs.append({"code": element["code"], "system": "templateId", "target": target["code"],
                              "target_system": system_oid(group["target"]),
                              "equivalence": target.get("equivalence"), "comment": target.get("comment", "")})
    write("ASS_A11", {
        "key": "ASS_A11", "name": cm["name"], "status": "published", "oid": "1.2.250.1.213.1.1.4.331",
        "url": cm["url"], "version": cm["version"], "date": cm["date"],
        "source": "ANS terminology IG, ConceptMap ASS-A11-CorresModeleCDA-XdsFormatCode-CISIS, as "
                  f"transcribed in ../shared/ref/terminologies/{A11_FILE}",
        "note": "templateId of the CDA content model -> XDS formatCode; for a CDA N1 (template "
                "1.3.6.1.4.1.19376.1.2.20) the target depends on the embedded media type (comment).",
        "mappings": pairs})


def main(ref: Path) -> None:
    from_fhir(ref, "JDV-J57-ClassCode-DMP.json", "J57", "JDV_J57-ClassCode-DMP")
    from_fhir(ref, "JDV-J60-FormatCode-DMP.json", "J60", "JDV_J60-FormatCode-DMP")
    from_fhir(ref, "JDV-J52-AvailabilityStatus-CISIS.json", "J52", "JDV_J52-AvailabilityStatus-CISIS")
    from_fhir(ref, "JDV-J04-XdsPracticeSettingCode-CISIS.json", "J62", "JDV_J62-PracticeSettingCode-DMP",
              status="fallback", note=FALLBACK.format(dmp="JDV_J62-PracticeSettingCode-DMP",
                                                      cisis="JDV_J04-XdsPracticeSettingCode-CISIS"),
              stands_for="JDV_J62-PracticeSettingCode-DMP")
    from_svs(ref, "JDV_J07_XdsTypeCode_CISIS.xml", "J66", "JDV_J66-TypeCode-DMP", "fallback",
             FALLBACK.format(dmp="JDV_J66-TypeCode-DMP", cisis="JDV_J07-XdsTypeCode-CISIS"))
    facility_types = "JDV_J02_XdsHealthcareFacilityTypeCode_CISIS.xml"
    from_svs(ref, facility_types, "J61", "JDV_J61-HealthcareFacilityTypeCode-DMP",
             "fallback", FALLBACK.format(dmp="JDV_J61-HealthcareFacilityTypeCode-DMP",
                                         cisis="JDV_J02-XdsHealthcareFacilityTypeCode-CISIS"))
    from_svs(
        ref, "JDV_J08_XdsConfidentialityCode_CISIS.xml", "J58", "JDV_J58-ConfidentialityCode-DMP", "fallback",
        "No DMP-specific confidentiality value set was found; the CI-SIS set "
        "JDV_J08-XdsConfidentialityCode-CISIS (N/R/V + MASQUE_PS, INVISIBLE_PATIENT, "
        "INVISIBLE_REPRESENTANTS_LEGAUX) is what the ANS ITI-41 sample for the DMP uses.")
    # contentTypeCode: JDV_J03 is defined by filters over TRE_A00, TRE_R02 (SecteurActivite) and TRE_R209
    # (TypeActivite), with no enumerated copy available; take its TRE_A00/TRE_R02 members from J02 (same
    # terminologies, same 'cisis' flag) and accept any two-digit TRE_R209 code.
    from_svs(ref, facility_types, "J59", "JDV_J59-ContentTypeCode-DMP", "partial",
             FALLBACK.format(dmp="JDV_J59-ContentTypeCode-DMP", cisis="JDV_J03-XdsContentTypeCode-CISIS")
             + " J03 itself is published as filters (TRE_A00 contentTypeCode=true, TRE_R02-SecteurActivite "
             "cisis=true, TRE_R209-TypeActivite, TRE_R404/R406) without an enumerated copy: the TRE_A00 and "
             "TRE_R02 codes here are those of JDV_J02 (same terminologies), and any code of "
             "TRE_R209-TypeActivite "
             "(OID 1.2.250.1.213.2.2, two digits, e.g. 04 'Hospitalisation de jour' in the ANS ITI-41 "
             "sample) is "
             "accepted by shape only.",
             open_systems=[{"system": "1.2.250.1.213.2.2", "pattern": "^[0-9]{2}$",
                            "name": "TRE_R209-TypeActivite"}])
    x04()
    a11(ref)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE.parents[2].parent / "shared" / "ref")
