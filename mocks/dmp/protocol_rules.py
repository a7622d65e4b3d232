"""The DMP mock's protocol-level rules: envelope, MTOM, ebRIM structure, transactions, storage.

The DMP's *content* rules (VIHF, metadata value sets, metadata↔CDA consistency) live in
`rules.py`, owned with `vihf.py` and `metadata_rules.py`; this module holds the checks the
protocol layer itself applies, so that every refusal the mock answers carries a stable rule id.

Each rule's `extra["xds_code"]` is the IHE error code put in the `RegistryError@errorCode`
(IHE ITI TF vol 3 §4.2.4.1, Table 4.2.4.1-2 "Error Codes"), or `extra["fault"]` for a rule that
is answered with a SOAP 1.2 fault (W3C SOAP 1.2 part 1 §5.4.6 fault codes).
A finding built by `finding()` carries the same `extra["xds_code"]`, which the registry response
writer reads (see `soap.registry_error_list`).
"""

from __future__ import annotations

import dataclasses

from segur import rules
from segur.findings import Finding, Severity
from segur.rules import Rule

LAYER = "xds"

_TF3 = "IHE ITI TF vol 3 §4.2 (metadata) / §4.3.1 (XDS.b attribute optionality)"
_TF2B_41 = "IHE ITI TF vol 2b §3.41 (Provide and Register Document Set-b)"
_TF2A_18 = "IHE ITI TF vol 2a §3.18 (Registry Stored Query)"
_TF2B_43 = "IHE ITI TF vol 2b §3.43 (Retrieve Document Set)"
_TF3_57 = "IHE ITI TF vol 3 §4.2.4 / IHE XDS Metadata Update supplement (ITI-57)"
_SOAP = "W3C SOAP 1.2 part 1 §5.4; IHE ITI TF vol 2x appendix V (Web Services for IHE transactions)"
_MTOM = "W3C XOP 1.0 / SOAP MTOM; IHE ITI TF vol 2x appendix V.9 (MTOM for XDS.b)"
_DMP = "DMP: Guide d'intégration DMP (DMPi) — transactions TD0.2, TD0.3, TD3.3"


def _rule(rule_id, message_en, message_fr, hint, source, xds_code=None, fault=None, severity=Severity.ERROR):
    extra = {}
    if xds_code:
        extra["xds_code"] = xds_code
    if fault:
        extra["fault"] = fault
    return Rule(rule_id, LAYER, message_en, message_fr, hint=hint, severity=severity, source=source,
                extra=extra)


PROTOCOL_RULES: dict[str, Rule] = {
    r.id: r
    for r in (
        # --- ebRIM structure of an ITI-41 submission (ebrim.py) -------------------------------
        _rule("XDS-EBRIM-001", "The request holds no ebRIM SubmitObjectsRequest/RegistryObjectList.",
              "La requête ne contient pas de SubmitObjectsRequest/RegistryObjectList ebRIM.",
              "Put lcm:SubmitObjectsRequest with rim:RegistryObjectList inside xdsb:ProvideAndRegisterDocumentSetRequest.",
              _TF2B_41, "XDSRegistryMetadataError"),
        _rule("XDS-EBRIM-002", "The submission must hold exactly one SubmissionSet; found {count}.",
              "La soumission doit contenir exactement un lot de soumission (SubmissionSet) ; trouvé : {count}.",
              "Send one RegistryPackage classified by classificationNode "
              "urn:uuid:a54d6aa5-d40d-43f9-88c5-b4633d873bdd.", _TF3, "XDSRegistryMetadataError"),
        _rule("XDS-EBRIM-003", "A {element} has no id attribute.", "Un élément {element} n'a pas d'attribut id.",
              "Give every registry object an id (a symbolic id such as 'Document01' or a urn:uuid).",
              _TF3, "XDSRegistryMetadataError"),
        _rule("XDS-EBRIM-004", "The id '{id}' is used by more than one object in the submission.",
              "L'identifiant « {id} » est porté par plusieurs objets de la soumission.",
              "Use a distinct id for each RegistryPackage, ExtrinsicObject, Association and Classification.",
              _TF3, "XDSRegistryMetadataError"),
        _rule("XDS-EBRIM-005", "{object} '{id}' lacks its required {attribute}.",
              "{object} « {id} » n'a pas l'attribut obligatoire {attribute}.",
              "Add the {attribute} ({how}); IHE ITI TF vol 3 §4.3.1 lists it as required for a Document Source.",
              _TF3, "XDSRegistryMetadataError"),
        _rule("XDS-EBRIM-006", "{object} '{id}' carries {attribute} {count} times; it must appear once.",
              "{object} « {id} » porte {attribute} {count} fois ; il doit n'apparaître qu'une fois.",
              "Keep a single {attribute}.", _TF3, "XDSRegistryMetadataError"),
        _rule("XDS-EBRIM-007", "The {attribute} classification of '{id}' is incomplete: {detail}.",
              "La classification {attribute} de « {id} » est incomplète : {detail}.",
              "A coded attribute is a Classification with nodeRepresentation (the code), a codingScheme slot "
              "(the OID) and a Name (the display name).", _TF3, "XDSRegistryMetadataError"),
        _rule("XDS-EBRIM-008", "The association '{id}' refers to '{target}', which is neither in the submission nor "
              "in the registry.",
              "L'association « {id} » référence « {target} », absent de la soumission comme du registre.",
              "Point sourceObject/targetObject to an object of this submission or to the entryUUID of a registered one.",
              _TF3, "XDSRegistryMetadataError"),
        _rule("XDS-EBRIM-009", "The association '{id}' has the unknown type '{type}'.",
              "L'association « {id} » a un type inconnu « {type} ».",
              "Use HasMember, or RPLC/APND/XFRM/XFRM_RPLC/signs (urn:ihe:iti:2007:AssociationType:…).",
              _TF3, "XDSRegistryMetadataError"),
        _rule("XDS-EBRIM-010", "The DocumentEntry '{id}' is not a member (HasMember) of the SubmissionSet.",
              "La fiche document « {id} » n'est pas membre (HasMember) du lot de soumission.",
              "Add an Association HasMember from the SubmissionSet to the DocumentEntry with SubmissionSetStatus=Original.",
              _TF3, "XDSRegistryMetadataError"),
        _rule("XDS-EBRIM-011", "The value '{value}' of {attribute} on '{id}' is malformed: {detail}.",
              "La valeur « {value} » de {attribute} sur « {id} » est mal formée : {detail}.",
              "Correct the value's format (IHE ITI TF vol 3 §4.2.3.1 data types).", _TF3, "XDSRegistryMetadataError"),
        _rule("XDS-EBRIM-012", "The ExtrinsicObject '{id}' has the objectType '{object_type}', not a DocumentEntry type.",
              "L'ExtrinsicObject « {id} » a l'objectType « {object_type} », qui n'est pas celui d'une fiche document.",
              "Use objectType urn:uuid:7edca82f-054d-47f2-a032-9b2a5b5186c1 (stable DocumentEntry).",
              _TF3, "XDSRegistryMetadataError"),
        _rule("XDS-EBRIM-013", "The HasMember association '{id}' has no SubmissionSetStatus slot.",
              "L'association HasMember « {id} » n'a pas de slot SubmissionSetStatus.",
              "Add <Slot name=\"SubmissionSetStatus\"> with the value Original (or Reference).",
              _TF3, "XDSRegistryMetadataError"),
        _rule("XDS-EBRIM-014", "The submission holds a Folder ('{id}'); the DMP does not use folders.",
              "La soumission contient un classeur (Folder « {id} ») ; le DMP n'utilise pas les classeurs.",
              "Remove the Folder and its associations.", _TF3, "XDSRegistryMetadataError",
              severity=Severity.WARNING),
        _rule("XDS-EBRIM-015", "{object} '{id}': an element could not be read: {detail}.",
              "{object} « {id} » : un élément n'a pas pu être lu : {detail}.",
              "Check the ebRIM 3.0 structure of this object.", _TF3, "XDSRegistryMetadataError"),
    )
}
rules.register(*PROTOCOL_RULES.values())


def finding(rule_id: str, severity: Severity | None = None, **context) -> Finding:
    """A finding of a protocol rule, carrying its XDS error code (or fault) in `extra`."""
    rule = PROTOCOL_RULES[rule_id]
    built = rule.finding(severity, **dict(context))
    params = {k: str(v) for k, v in context.items() if k not in ("line", "column", "xpath", "location")}
    return dataclasses.replace(built, extra={**rule.extra, "params": params})


def xds_code_of(item: Finding, default: str = "XDSRegistryError") -> str:
    """The IHE error code a finding is reported under (``extra["xds_code"]``, else `default`)."""
    return (item.extra or {}).get("xds_code") or default
