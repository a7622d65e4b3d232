"""The DMP mock's one RuleBook: every check on the wire (SOAP, MTOM, ebRIM), a VIHF, a patient, a
submission's metadata and its CDA, each declared once and used by object (`XDS_41_007.finding(...)`).

Each rule has a stable id, an English and a French message, a fix hint, the IHE XDS error code the
backend puts in the RegistryErrorList (`extra["xds_code"]`), for VIHF rules the WS-Security fault
code a SOAP layer may prefer (`extra["soap_fault"]`), the REM requirement ids it helps prove and the
specification it comes from.

Sources (cited per rule in `source`):
- [ITI-TF3] IHE ITI Technical Framework vol. 3, §4.2 (XDS metadata) and Table 4.2.4.1-2 (error codes:
  XDSRegistryMetadataError, XDSRepositoryMetadataError, XDSUnknownPatientId, XDSPatientIdDoesNotMatch,
  XDSMissingDocument, XDSMissingDocumentMetadata, XDSRegistryDuplicateUniqueIdInMessage,
  XDSRegistryError, XDSRepositoryError); ITI TF-2b §3.41.4.1.3 for a declared hash or size the
  document contradicts (XDSRepositoryMetadataError — XDSNonIdenticalHash/Size are reserved by TF-3 for a
  uniqueId already registered with other content).
- [WSS] OASIS Web Services Security: SOAP Message Security 1.1, §12 (fault codes wsse:InvalidSecurity,
  wsse:InvalidSecurityToken, wsse:FailedAuthentication, wsse:FailedCheck).
- [VIHF] the DMP VIHF 3.0 token as the ANS documents it: "Mapping VIHF pour le DMP" in
  ansforge/IG-hl7v2-volet-transmission-document-cda-r2 (input/pagecontent/mapping.md) and the ANS
  ITI-41 sample ansforge/DRIM-M_DATA "Validateur XDS/XDS.xml" (../shared/ref/xds/).
- [PDSm] CI-SIS "Volet Partage de Documents de Santé" metadata tables (XDS mapping of the same IG page:
  typeCode = CDA code, classCode via ASS_X04, formatCode via ASS_A11, creationTime = effectiveTime,
  uniqueId = CDA id, legalAuthenticator = CDA legalAuthenticator…).
- [NOS] ANS Nomenclatures des Objets de Santé value sets, kept in mocks/dmp/data/ (see valuesets.py).
Each rule is declared here once, named after its id; the check that raises it imports it by name.
`blocking=True`: a breach refuses the exchange even in lenient mode (storing would be impossible or
inconsistent); `supersedes=`: a rule that says more about a problem another check also reports
(the patient checks every transaction runs vs the DMP's own on an ITI-41) hides the vaguer one.
"""

from __future__ import annotations

import dataclasses

from segur.kernel.findings import Finding, Severity
from segur.kernel.rules import Rule, RuleBook, register

XDS_METADATA = "XDSRegistryMetadataError"
XDS_REPOSITORY_METADATA = "XDSRepositoryMetadataError"
XDS_UNKNOWN_PATIENT = "XDSUnknownPatientId"
XDS_PATIENT_MISMATCH = "XDSPatientIdDoesNotMatch"
XDS_MISSING_DOCUMENT = "XDSMissingDocument"
XDS_MISSING_METADATA = "XDSMissingDocumentMetadata"
XDS_DUPLICATE_IN_MESSAGE = "XDSRegistryDuplicateUniqueIdInMessage"
XDS_REGISTRY_ERROR = "XDSRegistryError"
XDS_REPOSITORY_ERROR = "XDSRepositoryError"

SRC_ITI = "IHE ITI TF-3 §4.2.3 (metadata attributes), Table 4.2.4.1-2 (error codes)"
#: A declared hash/size that the bytes contradict: XDSRepositoryMetadataError (ITI TF-2b §3.41.4.1.3,
#: https://profiles.ihe.net/ITI/TF/Volume2/ITI-41.html#3.41.4.1.3). XDSNonIdenticalHash/Size are for a
#: uniqueId already registered with other content (ITI TF-3 Table 4.2.4.1-2), i.e. XDS-41-008.
SRC_ITI41_HASH = "IHE ITI TF-2b §3.41.4.1.3 (repository checks hash and size: XDSRepositoryMetadataError)"
SRC_WSS = "OASIS WS-Security SOAP Message Security 1.1 §12 (error handling)"
SRC_VIHF = ("ANS, 'Mapping VIHF pour le DMP' (ansforge/IG-hl7v2-volet-transmission-document-cda-r2, "
            "input/pagecontent/mapping.md); ANS ITI-41 sample ansforge/DRIM-M_DATA Validateur XDS/XDS.xml")
SRC_PDSM = ("ANS CI-SIS 'Volet Partage de Documents de Santé' XDS metadata mapping (same IG page, "
            "'Mapping XDS' tables); ANS ITI-41 sample ansforge/DRIM-M_DATA")
SRC_NOS = "ANS NOS value sets (mocks/dmp/data/*.json, each with its source and version)"

#: REM requirements the DMP rules help prove (../shared/rem/requirements.csv).
REM_DMP_COMPAT = ("SC.DMP/va1.07", "PFI.DMP/va1.08")  # "conforme au profil alimentation du DMP"
REM_XDS_METADATA = ("SC.DMP/va1.14", "SC.DOC.02.MS1", "LGC.DMP.02")  # "produire les métadonnées XDS"
REM_CONFIDENTIALITY = ("SC.DMP/va1.12", "SGL.DOC/va1.21")  # masquage / visibilité
REM_OPPOSITION = ("SC.DMP/CONF.09", "DMP/CONF.09")  # bloquer l'alimentation si opposition
REM_INS_DIFFUSION = ("SC.INS/va1.15",)  # documents produits portent l'INS (règle 32)

_TF3 = "IHE ITI TF vol 3 §4.2 (metadata) / §4.3.1 (XDS.b attribute optionality)"
_TF2B_41 = "IHE ITI TF vol 2b §3.41 (Provide and Register Document Set-b)"
_TF2A_18 = "IHE ITI TF vol 2a §3.18 (Registry Stored Query)"
_TF2B_43 = "IHE ITI TF vol 2b §3.43 (Retrieve Document Set)"
_TF3_57 = "IHE ITI TF vol 3 §4.2.4 / IHE XDS Metadata Update supplement (ITI-57)"
_SOAP = "W3C SOAP 1.2 part 1 §5.4; IHE ITI TF vol 2x appendix V (Web Services for IHE transactions)"
_MTOM = "W3C XOP 1.0 / SOAP MTOM; IHE ITI TF vol 2x appendix V.9 (MTOM for XDS.b)"
_DMP = "DMP: Guide d'intégration DMP (DMPi) — transactions TD0.2, TD0.3, TD3.3"


PLACE_KEYS = ("line", "column", "xpath", "location")


@dataclasses.dataclass(frozen=True)
class XdsRule(Rule):
    """A rule whose findings carry what the wire needs: `extra` holds the rule's IHE error code
    (``xds_code``) or SOAP fault code (``fault``, ``soap_fault``), and ``params`` the context the message
    was filled from (the French message and the evidence pack rebuild it from them)."""

    def finding(self, severity: Severity | None = None, **context) -> Finding:
        params = {k: str(v) for k, v in context.items() if k not in PLACE_KEYS}
        built = super().finding(severity, **context)
        return dataclasses.replace(built, extra={**self.extra, "params": params})


class XdsRuleBook(RuleBook):
    """The kernel's RuleBook, building `XdsRule`s."""

    def rule(self, id: str, message_en: str, *, message_fr: str = "", hint: str = "",
             severity: Severity = Severity.ERROR, rem: tuple[str, ...] | None = None,
             source: str | None = None, blocking: bool = False, supersedes: tuple[Rule, ...] = (),
             layer: str | None = None, **extra) -> XdsRule:
        rule = XdsRule(id=id, layer=layer or self.layer, message_en=message_en, message_fr=message_fr,
                       hint=hint, severity=severity, rem=tuple(self.rem if rem is None else rem),
                       source=self.source if source is None else source, extra=extra, blocking=blocking,
                       supersedes=tuple(supersedes))
        register(rule)
        self._rules[id] = rule
        return rule


book = XdsRuleBook("xds")


# --- ebRIM structure of an ITI-41 submission (ebrim.py) --------------------------------------------------
XDS_EBRIM_001 = book.rule(
    "XDS-EBRIM-001",
    "The request holds no ebRIM SubmitObjectsRequest/RegistryObjectList.",
    message_fr="La requête ne contient pas de SubmitObjectsRequest/RegistryObjectList ebRIM.",
    hint="Put lcm:SubmitObjectsRequest with rim:RegistryObjectList inside "
         "xdsb:ProvideAndRegisterDocumentSetRequest.",
    source=_TF2B_41,
    xds_code="XDSRegistryMetadataError",
    blocking=True,
)
XDS_EBRIM_002 = book.rule(
    "XDS-EBRIM-002",
    "The submission must hold exactly one SubmissionSet; found {count}.",
    message_fr="La soumission doit contenir exactement un lot de soumission (SubmissionSet) ; trouvé : "
               "{count}.",
    hint="Send one RegistryPackage classified by classificationNode "
        "urn:uuid:a54d6aa5-d40d-43f9-88c5-b4633d873bdd.",
    source=_TF3,
    xds_code="XDSRegistryMetadataError",
    blocking=True,
)
XDS_EBRIM_003 = book.rule(
    "XDS-EBRIM-003",
    "A {element} has no id attribute.",
    message_fr="Un élément {element} n'a pas d'attribut id.",
    hint="Give every registry object an id (a symbolic id such as 'Document01' or a urn:uuid).",
    source=_TF3,
    xds_code="XDSRegistryMetadataError",
    blocking=True,
)
XDS_EBRIM_004 = book.rule(
    "XDS-EBRIM-004",
    "The id '{id}' is used by more than one object in the submission.",
    message_fr="L'identifiant « {id} » est porté par plusieurs objets de la soumission.",
    hint="Use a distinct id for each RegistryPackage, ExtrinsicObject, Association and Classification.",
    source=_TF3,
    xds_code="XDSRegistryMetadataError",
    blocking=True,
)
XDS_EBRIM_005 = book.rule(
    "XDS-EBRIM-005",
    "{object} '{id}' lacks its required {attribute}.",
    message_fr="{object} « {id} » n'a pas l'attribut obligatoire {attribute}.",
    hint="Add the {attribute} ({how}); IHE ITI TF vol 3 §4.3.1 lists it as required for a Document Source.",
    source=_TF3,
    xds_code="XDSRegistryMetadataError",
    blocking_attributes=("uniqueId", "patientId"),
)
XDS_EBRIM_006 = book.rule(
    "XDS-EBRIM-006",
    "{object} '{id}' carries {attribute} {count} times; it must appear once.",
    message_fr="{object} « {id} » porte {attribute} {count} fois ; il doit n'apparaître qu'une fois.",
    hint="Keep a single {attribute}.",
    source=_TF3,
    xds_code="XDSRegistryMetadataError",
    blocking_attributes=("uniqueId", "patientId"),
)
XDS_EBRIM_007 = book.rule(
    "XDS-EBRIM-007",
    "The {attribute} classification of '{id}' is incomplete: {detail}.",
    message_fr="La classification {attribute} de « {id} » est incomplète : {detail}.",
    hint="A coded attribute is a Classification with nodeRepresentation (the code), a codingScheme slot "
        "(the OID) and a Name (the display name).",
    source=_TF3,
    xds_code="XDSRegistryMetadataError",
)
XDS_EBRIM_008 = book.rule(
    "XDS-EBRIM-008",
    "The association '{id}' refers to '{target}', which is neither in the submission nor "
        "in the registry.",
    message_fr="L'association « {id} » référence « {target} », absent de la soumission comme du registre.",
    hint="Point sourceObject/targetObject to an object of this submission or to the entryUUID of a "
         "registered one.",
    source=_TF3,
    xds_code="XDSRegistryMetadataError",
    blocking=True,
)
XDS_EBRIM_009 = book.rule(
    "XDS-EBRIM-009",
    "The association '{id}' has the unknown type '{type}'.",
    message_fr="L'association « {id} » a un type inconnu « {type} ».",
    hint="Use HasMember, or RPLC/APND/XFRM/XFRM_RPLC/signs (urn:ihe:iti:2007:AssociationType:…).",
    source=_TF3,
    xds_code="XDSRegistryMetadataError",
    blocking=True,
)
XDS_EBRIM_010 = book.rule(
    "XDS-EBRIM-010",
    "The DocumentEntry '{id}' is not a member (HasMember) of the SubmissionSet.",
    message_fr="La fiche document « {id} » n'est pas membre (HasMember) du lot de soumission.",
    hint="Add an Association HasMember from the SubmissionSet to the DocumentEntry with "
         "SubmissionSetStatus=Original.",
    source=_TF3,
    xds_code="XDSRegistryMetadataError",
)
XDS_EBRIM_011 = book.rule(
    "XDS-EBRIM-011",
    "The value '{value}' of {attribute} on '{id}' is malformed: {detail}.",
    message_fr="La valeur « {value} » de {attribute} sur « {id} » est mal formée : {detail}.",
    hint="Correct the value's format (IHE ITI TF vol 3 §4.2.3.1 data types).",
    source=_TF3,
    xds_code="XDSRegistryMetadataError",
)
XDS_EBRIM_012 = book.rule(
    "XDS-EBRIM-012",
    "The ExtrinsicObject '{id}' has the objectType '{object_type}', not a DocumentEntry type.",
    message_fr="L'ExtrinsicObject « {id} » a l'objectType « {object_type} », qui n'est pas celui d'une "
               "fiche document.",
    hint="Use objectType urn:uuid:7edca82f-054d-47f2-a032-9b2a5b5186c1 (stable DocumentEntry).",
    source=_TF3,
    xds_code="XDSRegistryMetadataError",
)
XDS_EBRIM_013 = book.rule(
    "XDS-EBRIM-013",
    "The HasMember association '{id}' has no SubmissionSetStatus slot.",
    message_fr="L'association HasMember « {id} » n'a pas de slot SubmissionSetStatus.",
    hint="Add <Slot name=\"SubmissionSetStatus\"> with the value Original (or Reference).",
    source=_TF3,
    xds_code="XDSRegistryMetadataError",
)
XDS_EBRIM_014 = book.rule(
    "XDS-EBRIM-014",
    "The submission holds a Folder ('{id}'); the DMP does not use folders.",
    message_fr="La soumission contient un classeur (Folder « {id} ») ; le DMP n'utilise pas les classeurs.",
    hint="Remove the Folder and its associations.",
    source=_TF3,
    xds_code="XDSRegistryMetadataError",
    severity=Severity.WARNING,
)
XDS_EBRIM_015 = book.rule(
    "XDS-EBRIM-015",
    "{object} '{id}': an element could not be read: {detail}.",
    message_fr="{object} « {id} » : un élément n'a pas pu être lu : {detail}.",
    hint="Check the ebRIM 3.0 structure of this object.",
    source=_TF3,
    xds_code="XDSRegistryMetadataError",
    blocking=True,
)

# --- SOAP envelope and MTOM (answered with a SOAP 1.2 fault) ---------------------------------------------
XDS_SOAP_001 = book.rule(
    "XDS-SOAP-001",
    "The SOAP message is not well-formed XML: {detail}",
    message_fr="Le message SOAP n'est pas un XML bien formé : {detail}",
    hint="Send a well-formed SOAP 1.2 envelope (UTF-8).",
    source=_SOAP,
    fault="Sender",
)
XDS_SOAP_002 = book.rule(
    "XDS-SOAP-002",
    "The SOAP message carries a DOCTYPE or entity declaration; they are refused (XXE).",
    message_fr="Le message SOAP porte une DOCTYPE ou une déclaration d'entité ; elles sont refusées (XXE).",
    hint="SOAP 1.2 forbids a DTD in a message (part 1 §5); remove it.",
    source=_SOAP,
    fault="Sender",
)
XDS_SOAP_003 = book.rule(
    "XDS-SOAP-003",
    "The message is not a SOAP 1.2 envelope: {detail}",
    message_fr="Le message n'est pas une enveloppe SOAP 1.2 : {detail}",
    hint="Use the namespace http://www.w3.org/2003/05/soap-envelope (SOAP 1.2), as IHE ITI requires.",
    source=_SOAP,
    fault="VersionMismatch",
)
XDS_SOAP_004 = book.rule(
    "XDS-SOAP-004",
    "The SOAP Body is missing or empty.",
    message_fr="Le corps SOAP est absent ou vide.",
    hint="Put the request element (e.g. xdsb:ProvideAndRegisterDocumentSetRequest) in soap:Body.",
    source=_SOAP,
    fault="Sender",
)
XDS_SOAP_005 = book.rule(
    "XDS-SOAP-005",
    "The action '{action}' is not served at this endpoint.",
    message_fr="L'action « {action} » n'est pas servie par ce point d'accès.",
    hint="Send the WS-Addressing Action of the transaction (e.g. "
         "urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-b) "
        "to the endpoint listed by /_admin/health.",
    source=_SOAP,
    fault="Sender",
)
XDS_SOAP_006 = book.rule(
    "XDS-SOAP-006",
    "The body element {element} does not match the action {action} (expected {expected}).",
    message_fr="L'élément {element} du corps ne correspond pas à l'action {action} (attendu : {expected}).",
    hint="Send the request element of the transaction named by the action.",
    source=_SOAP,
    fault="Sender",
)
XDS_SOAP_007 = book.rule(
    "XDS-SOAP-007",
    "The request is {size} bytes, over the {limit}-byte limit of this mock.",
    message_fr="La requête fait {size} octets, au-delà de la limite de {limit} octets de ce mock.",
    hint="Send smaller documents, or start the mock with a larger --max-body.",
    source=_SOAP,
    fault="Sender",
)
XDS_SOAP_008 = book.rule(
    "XDS-SOAP-008",
    "The request's Content-Type cannot carry a SOAP 1.2 message: {detail}.",
    message_fr="Le Content-Type de la requête ne peut pas porter un message SOAP 1.2 : {detail}.",
    hint="Use application/soap+xml, or multipart/related; type=\"application/xop+xml\" for MTOM.",
    source=_SOAP,
    fault="Sender",
)
XDS_SOAP_009 = book.rule(
    "XDS-SOAP-009",
    "The header {header} is marked mustUnderstand and this service does not understand it.",
    message_fr="L'en-tête {header} est marqué mustUnderstand et ce service ne le comprend pas.",
    hint="Remove the header or its mustUnderstand attribute.",
    source=_SOAP,
    fault="MustUnderstand",
)
XDS_SOAP_010 = book.rule(
    "XDS-SOAP-010",
    "The service failed while processing the request: {detail}",
    message_fr="Le service a échoué en traitant la requête : {detail}",
    hint="This is a defect of the mock; report it with the journal entry.",
    source=_SOAP,
    fault="Receiver",
)
XDS_MTOM_001 = book.rule(
    "XDS-MTOM-001",
    "The MIME multipart body is malformed: {detail}.",
    message_fr="Le corps MIME multipart est mal formé : {detail}.",
    hint="Follow RFC 2046: CRLF--boundary between parts, headers then a blank line, closing --boundary--.",
    source=_MTOM,
    fault="Sender",
)
XDS_MTOM_002 = book.rule(
    "XDS-MTOM-002",
    "The MTOM root part is missing or wrong: {detail}.",
    message_fr="La partie racine MTOM est absente ou incorrecte : {detail}.",
    hint="The start parameter must name the part holding the SOAP envelope (application/xop+xml).",
    source=_MTOM,
    fault="Sender",
)
XDS_MTOM_003 = book.rule(
    "XDS-MTOM-003",
    "{detail}.",
    message_fr="{detail}.",
    hint="Each xop:Include href must be cid:<Content-ID of a part of the same message>.",
    source=_MTOM,
    xds_code="XDSMissingDocument",
    blocking=True,
)
XDS_MTOM_004 = book.rule(
    "XDS-MTOM-004",
    "{detail}.",
    message_fr="{detail}.",
    hint="Use href=\"cid:<content-id>\" (RFC 2392).",
    source=_MTOM,
    xds_code="XDSMissingDocument",
    blocking=True,
)
XDS_MTOM_005 = book.rule(
    "XDS-MTOM-005",
    "A MIME part cannot be decoded: {detail}.",
    message_fr="Une partie MIME ne peut pas être décodée : {detail}.",
    hint="Send parts as binary (MTOM) or valid base64.",
    source=_MTOM,
    fault="Sender",
)
XDS_MTOM_006 = book.rule(
    "XDS-MTOM-006",
    "{detail}.",
    message_fr="{detail}.",
    hint="Inline content must be base64 (xs:base64Binary), or use an xop:Include.",
    source=_MTOM,
    xds_code="XDSMissingDocument",
    blocking=True,
)

# --- ITI-41 (repository and registry checks) -------------------------------------------------------------
XDS_41_007 = book.rule(
    "XDS-41-007",
    "The SubmissionSet uniqueId {unique_id} is already registered.",
    message_fr="L'identifiant unique de lot {unique_id} est déjà enregistré.",
    hint="Generate a new SubmissionSet uniqueId (an OID) for every submission.",
    source=_TF3,
    xds_code="XDSDuplicateUniqueIdInRegistry",
    blocking=True,
)
XDS_41_008 = book.rule(
    "XDS-41-008",
    "The document uniqueId {unique_id} is already registered with different content.",
    message_fr="L'identifiant unique de document {unique_id} est déjà enregistré avec un autre contenu.",
    hint="A new version of a document needs a new uniqueId and an RPLC association to the previous one.",
    source=_TF3,
    xds_code="XDSNonIdenticalHash",
    blocking=True,
)
XDS_41_009 = book.rule(
    "XDS-41-009",
    "The document {unique_id} is already in this DMP, unchanged; sending it again is refused.",
    message_fr="Le document {unique_id} est déjà dans ce DMP, inchangé ; le renvoyer est refusé.",
    hint="Do not resend a document that has not changed (DMP requirement EX_GEN-1060).",
    source=_DMP + " (EX_GEN-1060)",
    xds_code="XDSRegistryMetadataError",
    blocking=True,
)
XDS_41_010 = book.rule(
    "XDS-41-010",
    "The {kind} association '{id}' targets {target}, which is not a registered document.",
    message_fr="L'association {kind} « {id} » vise {target}, qui n'est pas un document enregistré.",
    hint="The targetObject of RPLC/APND/XFRM must be the entryUUID of a registered DocumentEntry "
        "(find it with ITI-18 FindDocuments/GetDocuments).",
    source=_TF3,
    xds_code="XDSRegistryMetadataError",
    blocking=True,
)
XDS_41_011 = book.rule(
    "XDS-41-011",
    "The document {target} replaced by '{id}' is not Approved (it is {status}).",
    message_fr="Le document {target} remplacé par « {id} » n'est pas Approved (il est {status}).",
    hint="Only the current version of a document can be replaced.",
    source=_TF3,
    xds_code="XDSRegistryDeprecatedDocumentError",
    blocking=True,
)
XDS_41_012 = book.rule(
    "XDS-41-012",
    "The document {target} replaced by '{id}' belongs to another patient ({patient}).",
    message_fr="Le document {target} remplacé par « {id} » appartient à un autre patient ({patient}).",
    hint="A replacement must concern the same patient as the document it replaces.",
    source=_TF3,
    xds_code="XDSPatientIdDoesNotMatch",
    blocking=True,
)
XDS_41_013 = book.rule(
    "XDS-41-013",
    "The document '{id}' is declared as {declared} but its content is not: {detail}.",
    message_fr="Le document « {id} » est déclaré {declared} mais son contenu ne l'est pas : {detail}.",
    hint="Send the real file (a PDF starts with %PDF-), and declare its real type.",
    source=_TF2B_41,
    xds_code="XDSRepositoryMetadataError",
)
XDS_41_014 = book.rule(
    "XDS-41-014",
    "The document '{id}' failed validation: see the findings of layer {layer}.",
    message_fr="Le document « {id} » n'est pas valide : voir les constats de la couche {layer}.",
    hint="Fix the CDA document (run `segur validate` on it for the details).",
    source=_TF2B_41,
    xds_code="XDSRepositoryError",
)
XDS_41_015 = book.rule(
    "XDS-41-015",
    "Only an author of document {target} may replace it; the caller is {caller}.",
    message_fr="Seul un auteur du document {target} peut le remplacer ; l'appelant est {caller}.",
    hint="Replace a document from the structure (or as the professional) that authored it (EX_2.1-1140).",
    source=_DMP + " (EX_2.1-1140)",
    xds_code="XDSRegistryMetadataError",
)
XDS_41_016 = book.rule(
    "XDS-41-016",
    "The document '{id}' is {size} bytes, larger than {limit_mib} MiB ({limit} bytes), "
        "the per-document limit of this mock; it was not read.",
    message_fr="Le document « {id} » fait {size} octets, plus que {limit_mib} Mio ({limit} octets), la "
               "limite "
        "par document de ce mock ; il n'a pas été lu.",
    hint="Send a smaller document (a CDA is normally a few MB); if it is legitimate, start the mock with a "
        "larger limit: `segur serve dmp --max-document-size BYTES`, or `max_document_size` in the [dmp] "
        "section of `segur up`.",
    source=_TF3 + " (XDSRepositoryError); project policy (issue 3: 50 MiB)",
    xds_code="XDSRepositoryError",
    blocking=True,
)
XDS_41_017 = book.rule(
    "XDS-41-017",
    "The replacement '{id}' has the CDA setId {set_id}, not the setId {old_set_id} of the "
        "document {target} it replaces.",
    message_fr="Le document de remplacement « {id} » a le setId CDA {set_id}, pas le setId {old_set_id} du "
               "document "
        "{target} qu'il remplace.",
    hint="A new version keeps ClinicalDocument/setId of the version it replaces, takes a new id and "
        "versionNumber + 1, and names the previous id in relatedDocument[@typeCode='RPLC']/parentDocument.",
    source="HL7 CDA R2 §4.2.1.7 (setId, versionNumber, relatedDocument RPLC); " + _TF2B_41 + " (RPLC)",
    xds_code="XDSRegistryMetadataError",
)

# --- patient and DMP state, every transaction (models.access_findings) -----------------------------------
XDS_PAT_001 = book.rule(
    "XDS-PAT-001",
    "The patient id {patient_id} is not an INS (NIR or NIA under its national OID).",
    message_fr="L'identifiant patient {patient_id} n'est pas un INS (NIR ou NIA sous son OID national).",
    hint="Use the qualified INS from INSi: <INS>^^^&1.2.250.1.213.1.4.8&ISO^NH (NIR; test OIDs allowed in "
         "test mode).",
    source=_DMP,
    xds_code="XDSUnknownPatientId",
    blocking=True,
)
XDS_PAT_002 = book.rule(
    "XDS-PAT-002",
    "No DMP is known for the patient {patient_id}.",
    message_fr="Aucun DMP n'est connu pour le patient {patient_id}.",
    hint="Check the INS (TD0.2 answers NON_EXISTE for a patient without a DMP).",
    source=_DMP,
    xds_code="XDSUnknownPatientId",
    blocking=True,
)
XDS_PAT_003 = book.rule(
    "XDS-PAT-003",
    "The DMP of patient {patient_id} is closed.",
    message_fr="Le DMP du patient {patient_id} est fermé.",
    hint="A closed DMP accepts no document; check the patient's DMP status with TD0.2.",
    source=_DMP,
    xds_code="XDSUnknownPatientId",
    blocking=True,
)
XDS_PAT_004 = book.rule(
    "XDS-PAT-004",
    "The patient {patient_id} has opposed access to the DMP by this caller ({caller}).",
    message_fr="Le patient {patient_id} s'est opposé à l'accès à son DMP par cet appelant ({caller}).",
    hint="TD0.2 answers INTERDIT: do not access this DMP.",
    source=_DMP,
    xds_code="XDSRegistryError",
)
XDS_PAT_005 = book.rule(
    "XDS-PAT-005",
    "The caller {caller} is not authorised on the DMP of {patient_id} (TD0.2: {status}).",
    message_fr="L'appelant {caller} n'est pas autorisé sur le DMP de {patient_id} (TD0.2 : {status}).",
    hint="Ask the patient's consent and add the authorisation with TD0.3 (action AJOUT) before this call.",
    source=_DMP + " (EX_0.3-1010)",
    xds_code="XDSRegistryError",
)
XDS_PAT_006 = book.rule(
    "XDS-PAT-006",
    "The VIHF is for patient {vihf}, not for {patient_id} named in the request.",
    message_fr="Le VIHF concerne le patient {vihf}, pas {patient_id} nommé dans la requête.",
    hint="Build the VIHF for each call with resource-id = the INS of the patient the call is about.",
    source=_DMP + " (VIHF resource-id)",
    xds_code="XDSPatientIdDoesNotMatch",
)

# --- ITI-18 ----------------------------------------------------------------------------------------------
XDS_18_001 = book.rule(
    "XDS-18-001",
    "The stored query {query_id} is not supported.",
    message_fr="La requête stockée {query_id} n'est pas prise en charge.",
    hint="Use FindDocuments, FindSubmissionSets, GetDocuments, GetAssociations or "
         "GetSubmissionSetAndContents "
        "(ITI TF vol 2a §3.18.4.1.2.3.7).",
    source=_TF2A_18,
    xds_code="XDSUnknownStoredQuery",
)
XDS_18_002 = book.rule(
    "XDS-18-002",
    "The stored query {query} lacks the required parameter {parameter}.",
    message_fr="La requête stockée {query} n'a pas le paramètre obligatoire {parameter}.",
    hint="Add the Slot {parameter}.",
    source=_TF2A_18,
    xds_code="XDSStoredQueryMissingParam",
)
XDS_18_003 = book.rule(
    "XDS-18-003",
    "The stored query {query} needs exactly one of {parameters}.",
    message_fr="La requête stockée {query} exige exactement un de {parameters}.",
    hint="Send one of these parameters, not both.",
    source=_TF2A_18,
    xds_code="XDSStoredQueryParamNumber",
)
XDS_18_004 = book.rule(
    "XDS-18-004",
    "The parameter {parameter} has a malformed value {value}: {detail}.",
    message_fr="Le paramètre {parameter} a une valeur mal formée {value} : {detail}.",
    hint="Quote strings ('value'), list them in parentheses ('a','b'), codes as 'code^^scheme' "
        "(ITI TF vol 2a §3.18.4.1.2.3.5).",
    source=_TF2A_18,
    xds_code="XDSRegistryError",
)
XDS_18_005 = book.rule(
    "XDS-18-005",
    "The request is not a readable AdhocQueryRequest: {detail}.",
    message_fr="La requête n'est pas un AdhocQueryRequest lisible : {detail}.",
    hint="Send query:AdhocQueryRequest with ResponseOption and AdhocQuery.",
    source=_TF2A_18,
    xds_code="XDSRegistryError",
)

# --- ITI-43 ----------------------------------------------------------------------------------------------
XDS_43_001 = book.rule(
    "XDS-43-001",
    "The repository {repository} is not this repository ({own}).",
    message_fr="Le dépôt {repository} n'est pas ce dépôt ({own}).",
    hint="Use the repositoryUniqueId returned by ITI-18.",
    source=_TF2B_43,
    xds_code="XDSUnknownRepositoryId",
)
XDS_43_002 = book.rule(
    "XDS-43-002",
    "The document {unique_id} is not available in this repository.",
    message_fr="Le document {unique_id} n'est pas disponible dans ce dépôt.",
    hint="Use a DocumentEntry.uniqueId returned by ITI-18 for this patient.",
    source=_TF2B_43,
    xds_code="XDSDocumentUniqueIdError",
)
XDS_43_003 = book.rule(
    "XDS-43-003",
    "The RetrieveDocumentSetRequest holds no readable DocumentRequest: {detail}.",
    message_fr="La requête RetrieveDocumentSetRequest ne contient pas de DocumentRequest lisible : {detail}.",
    hint="Send one DocumentRequest per document with RepositoryUniqueId and DocumentUniqueId.",
    source=_TF2B_43,
    xds_code="XDSRepositoryError",
)

# --- ITI-57 ----------------------------------------------------------------------------------------------
XDS_57_001 = book.rule(
    "XDS-57-001",
    "The update cannot be decoded: {detail}.",
    message_fr="La mise à jour ne peut pas être décodée : {detail}.",
    hint="Send a SubmissionSet plus an UpdateAvailabilityStatus association, or a new DocumentEntry version "
        "(same lid) with a HasMember association carrying PreviousVersion.",
    source=_TF3_57,
    xds_code="XDSMetadataUpdateOperationError",
)
XDS_57_002 = book.rule(
    "XDS-57-002",
    "The update targets {target}, which is not a registered document.",
    message_fr="La mise à jour vise {target}, qui n'est pas un document enregistré.",
    hint="Target the entryUUID (or lid) of a DocumentEntry returned by ITI-18.",
    source=_TF3_57,
    xds_code="XDSMetadataUpdateError",
)
XDS_57_003 = book.rule(
    "XDS-57-003",
    "The OriginalStatus {declared} does not match the document's status {actual}.",
    message_fr="Le statut d'origine {declared} ne correspond pas au statut du document {actual}.",
    hint="Query the document first and send its current status as OriginalStatus.",
    source=_TF3_57,
    xds_code="XDSMetadataUpdateError",
)
XDS_57_004 = book.rule(
    "XDS-57-004",
    "The DMP does not allow the status change {original} → {new}.",
    message_fr="Le DMP n'autorise pas le changement de statut {original} → {new}.",
    hint="Allowed: Approved→Deprecated, Approved↔Archived (urn:asip:ci-sis:2010:StatusType:Archived), "
        "Approved/Archived→Deleted (JDV_J52).",
    source=_DMP + " (TD3.3)",
    xds_code="XDSMetadataUpdateOperationError",
)
XDS_57_005 = book.rule(
    "XDS-57-005",
    "PreviousVersion {declared} does not match the registered version {actual} of {target}.",
    message_fr="PreviousVersion {declared} ne correspond pas à la version enregistrée {actual} de {target}.",
    hint="Query the document again and send its current version number (another update happened first).",
    source=_TF3_57,
    xds_code="XDSMetadataVersionError",
)
XDS_57_006 = book.rule(
    "XDS-57-006",
    "The update changes {fields}; the DMP only allows changing the visibility "
        "(confidentialityCode MASQUE_PS / INVISIBLE_PATIENT / INVISIBLE_REP_LEGAUX).",
    message_fr="La mise à jour modifie {fields} ; le DMP n'autorise que le changement de visibilité "
        "(confidentialityCode MASQUE_PS / INVISIBLE_PATIENT / INVISIBLE_REP_LEGAUX).",
    hint="To change the content or other metadata, replace the document (ITI-41 with RPLC).",
    source=_DMP + " (TD3.3)",
    xds_code="XDSMetadataUpdateOperationError",
)
XDS_57_007 = book.rule(
    "XDS-57-007",
    "The update changes the patientId from {old} to {new}.",
    message_fr="La mise à jour change le patientId de {old} à {new}.",
    hint="A metadata update cannot move a document to another patient.",
    source=_TF3_57,
    xds_code="XDSPatientIDReconciliationError",
)
XDS_57_008 = book.rule(
    "XDS-57-008",
    "A document cannot be both invisible to the patient and masked from professionals.",
    message_fr="Un document ne peut pas être à la fois invisible au patient et masqué aux professionnels.",
    hint="Choose one of INVISIBLE_PATIENT and MASQUE_PS (DMP requirement EX_2.1-1050, parameter "
        "cumul-invisible_patient-masque_ps = false).",
    source=_DMP + " (EX_2.1-1050)",
    xds_code="XDSMetadataUpdateError",
)

# --- TD0.2 / TD0.3 and injected faults -------------------------------------------------------------------
DMP_TD_001 = book.rule(
    "DMP-TD-001",
    "The {transaction} request is malformed: {detail}.",
    message_fr="La requête {transaction} est mal formée : {detail}.",
    hint="See docs/dmp.md for the TD0.2/TD0.3 messages of this mock.",
    source=_DMP,
    fault="Sender",
)
XDS_FAULT_001 = book.rule(
    "XDS-FAULT-001",
    "Error injected by the test (fault {fault_id}): {code}.",
    message_fr="Erreur injectée par le test (faute {fault_id}) : {code}.",
    hint="This error was requested through /_admin/faults; clear it with DELETE /_admin/faults.",
    source="project policy (test control)",
    xds_code="XDSRegistryError",
    blocking=True,
)


# --- VIHF: the caller's SAML 2.0 assertion (vihf.py) -----------------------------------------------------
VIHF_001 = book.rule(
    "VIHF-001",
    "No VIHF: the request has no wsse:Security header carrying a SAML 2.0 assertion.",
    message_fr="Pas de VIHF : la requête n'a pas d'en-tête wsse:Security portant une assertion SAML 2.0.",
    hint="Add the signed VIHF 3.0 assertion (saml2:Assertion) inside soap:Header/wsse:Security.",
    source=f"{SRC_VIHF}; {SRC_WSS}",
    rem=REM_DMP_COMPAT,
    layer="vihf",
    xds_code=XDS_REGISTRY_ERROR,
    soap_fault="wsse:InvalidSecurity",
)
VIHF_002 = book.rule(
    "VIHF-002",
    "The VIHF is not a well-formed SAML 2.0 assertion: {detail}.",
    message_fr="Le VIHF n'est pas une assertion SAML 2.0 bien formée : {detail}.",
    hint="Send one saml2:Assertion (urn:oasis:names:tc:SAML:2.0:assertion) with Version=\"2.0\", an ID and "
         "an "
        "IssueInstant.",
    source=f"SAML 2.0 Core §2.3.3; {SRC_VIHF}",
    rem=REM_DMP_COMPAT,
    layer="vihf",
    xds_code=XDS_REGISTRY_ERROR,
    soap_fault="wsse:InvalidSecurityToken",
)
VIHF_003 = book.rule(
    "VIHF-003",
    "The VIHF is not signed (no ds:Signature in the assertion).",
    message_fr="Le VIHF n'est pas signé (pas de ds:Signature dans l'assertion).",
    hint="Sign the assertion (enveloped XML-DSig, Reference URI=\"#<assertion ID>\") with the structure's "
        "signing certificate and put that certificate in ds:KeyInfo/ds:X509Data.",
    source=f"{SRC_VIHF} (//Assertion/ds:Signature)",
    rem=REM_DMP_COMPAT,
    layer="vihf",
    xds_code=XDS_REGISTRY_ERROR,
    soap_fault="wsse:InvalidSecurityToken",
)
VIHF_004 = book.rule(
    "VIHF-004",
    "The VIHF signature does not verify: {detail}.",
    message_fr="La signature du VIHF n'est pas valide : {detail}.",
    hint="Sign the assertion last, after every attribute is set, and do not re-indent or re-encode it "
         "afterwards; "
        "use exclusive C14N and RSA-SHA256 (RSA-SHA1 is still accepted).",
    source=f"W3C XML-DSig 1.1 §3.2 (core validation); {SRC_VIHF}",
    rem=REM_DMP_COMPAT,
    layer="vihf",
    xds_code=XDS_REGISTRY_ERROR,
    soap_fault="wsse:FailedCheck",
)
VIHF_005 = book.rule(
    "VIHF-005",
    "The certificate that signed the VIHF is not trusted: {detail}.",
    message_fr="Le certificat qui a signé le VIHF n'est pas reconnu : {detail}.",
    hint="Sign with a valid certificate issued by the platform's CA (locally: `segur pki`, client "
        "'organisation'; at the real DMP: an IGC-Santé structure certificate).",
    source=f"{SRC_VIHF} (certificat de cachet de la structure); {SRC_WSS}",
    rem=REM_DMP_COMPAT,
    layer="vihf",
    xds_code=XDS_REGISTRY_ERROR,
    soap_fault="wsse:FailedAuthentication",
)
VIHF_006 = book.rule(
    "VIHF-006",
    "The VIHF Issuer is {problem}.",
    message_fr="L'émetteur (Issuer) du VIHF est {problem}.",
    hint="Set saml2:Issuer to the subject DN of the signing certificate, with "
        "Format=\"urn:oasis:names:tc:SAML:1.1:nameid-format:X509SubjectName\".",
    source=f"{SRC_VIHF} (//Assertion/Issuer, Issuer/@Format)",
    rem=REM_DMP_COMPAT,
    layer="vihf",
    xds_code=XDS_REGISTRY_ERROR,
    soap_fault="wsse:InvalidSecurityToken",
)
VIHF_007 = book.rule(
    "VIHF-007",
    "The VIHF has no Subject/NameID (the identifier of the user or of the person responsible for the "
        "automated processing).",
    message_fr="Le VIHF n'a pas de Subject/NameID (identifiant de l'utilisateur ou du responsable du "
               "traitement "
        "automatisé).",
    hint="Put the professional's national id (e.g. 8 + RPPS) in saml2:Subject/saml2:NameID.",
    source=f"{SRC_VIHF} (//Assertion/Subject/NameID)",
    rem=REM_DMP_COMPAT,
    layer="vihf",
    xds_code=XDS_REGISTRY_ERROR,
    soap_fault="wsse:InvalidSecurityToken",
)
VIHF_008 = book.rule(
    "VIHF-008",
    "The VIHF has no usable AuthnStatement: {detail}.",
    message_fr="Le VIHF n'a pas d'AuthnStatement exploitable : {detail}.",
    hint="Add saml2:AuthnStatement with AuthnInstant and AuthnContext/AuthnContextClassRef (a SAML 2.0 "
        "authentication context class, e.g. urn:oasis:names:tc:SAML:2.0:ac:classes:TLSClient).",
    source=f"{SRC_VIHF} (AuthnStatement/AuthnContext/AuthnContextClassRef)",
    rem=REM_DMP_COMPAT,
    layer="vihf",
    xds_code=XDS_REGISTRY_ERROR,
    soap_fault="wsse:InvalidSecurityToken",
)
VIHF_009 = book.rule(
    "VIHF-009",
    "The VIHF is outside its validity window: {detail}.",
    message_fr="Le VIHF est hors de sa période de validité : {detail}.",
    hint="Issue a fresh assertion for each request (IssueInstant = now, Conditions NotBefore/NotOnOrAfter "
        "around now) and keep the machine's clock synchronised.",
    source=f"SAML 2.0 Core §2.5.1.2 (Conditions); {SRC_VIHF}",
    rem=REM_DMP_COMPAT,
    layer="vihf",
    xds_code=XDS_REGISTRY_ERROR,
    soap_fault="wsse:InvalidSecurityToken",
)
VIHF_010 = book.rule(
    "VIHF-010",
    "The VIHF lacks the mandatory attribute '{attribute}' (or it is empty).",
    message_fr="Le VIHF ne contient pas l'attribut obligatoire « {attribute} » (ou il est vide).",
    hint="Add <saml2:Attribute Name=\"{attribute}\"> with a non-empty AttributeValue.",
    source=SRC_VIHF,
    rem=REM_DMP_COMPAT,
    layer="vihf",
    xds_code=XDS_REGISTRY_ERROR,
    soap_fault="wsse:InvalidSecurityToken",
)
VIHF_011 = book.rule(
    "VIHF-011",
    "VIHF_Version is '{value}'; this DMP accepts {accepted}.",
    message_fr="VIHF_Version vaut « {value} » ; ce DMP accepte {accepted}.",
    hint="Set the VIHF_Version attribute to 3.0 (the version of the DMP integration guide in use).",
    source=f"{SRC_VIHF} (VIHF_Version)",
    rem=REM_DMP_COMPAT,
    layer="vihf",
    xds_code=XDS_REGISTRY_ERROR,
    soap_fault="wsse:InvalidSecurityToken",
)
VIHF_012 = book.rule(
    "VIHF-012",
    "Ressource_URN is '{value}'; the DMP requires 'urn:dmp'.",
    message_fr="Ressource_URN vaut « {value} » ; le DMP exige « urn:dmp ».",
    hint="Set the Ressource_URN attribute to the constant urn:dmp.",
    source=f"{SRC_VIHF} (Ressource_URN: constante urn:dmp)",
    rem=REM_DMP_COMPAT,
    layer="vihf",
    xds_code=XDS_REGISTRY_ERROR,
    soap_fault="wsse:InvalidSecurityToken",
)
VIHF_013 = book.rule(
    "VIHF-013",
    "The VIHF resource-id '{value}' is not a usable patient INS: {detail}.",
    message_fr="Le resource-id « {value} » du VIHF n'est pas un INS patient exploitable : {detail}.",
    hint="Write the patient's INS as INS^^^&OID&ISO^NH, with the NIR (1.2.250.1.213.1.4.8) or NIA "
        "(1.2.250.1.213.1.4.9) OID (test OIDs only on test platforms) and a correct key.",
    source=f"{SRC_VIHF} (urn:oasis:names:tc:xacml:2.0:resource:resource-id = INS du patient); "
           f"segur.kernel.ins",
    rem=REM_DMP_COMPAT + REM_INS_DIFFUSION,
    layer="vihf",
    xds_code=XDS_REGISTRY_ERROR,
    soap_fault="wsse:InvalidSecurityToken",
)
VIHF_014 = book.rule(
    "VIHF-014",
    "Authentification_Mode is '{value}'; expected one of {accepted}.",
    message_fr="Authentification_Mode vaut « {value} » ; valeurs attendues : {accepted}.",
    hint="A structure authenticating with its own certificate (indirect mode) sends INDIRECTE.",
    source=f"{SRC_VIHF} (Authentification_Mode: constante INDIRECTE en authentification indirecte)",
    rem=REM_DMP_COMPAT,
    layer="vihf",
    xds_code=XDS_REGISTRY_ERROR,
    soap_fault="wsse:InvalidSecurityToken",
)
VIHF_015 = book.rule(
    "VIHF-015",
    "Secteur_Activite '{value}' is not valid: {detail}.",
    message_fr="Secteur_Activite « {value} » n'est pas valide : {detail}.",
    hint="Write Secteur_Activite as CODE^1.2.250.1.71.4.2.4 with a code of "
         "JDV_J61-HealthcareFacilityTypeCode-DMP "
        "(e.g. SA07^1.2.250.1.71.4.2.4).",
    source=f"{SRC_VIHF} (Secteur_Activite: valeur de JDV_J61-HealthcareFacilityTypeCode-DMP); {SRC_NOS}",
    rem=REM_DMP_COMPAT,
    layer="vihf",
    xds_code=XDS_REGISTRY_ERROR,
    soap_fault="wsse:InvalidSecurityToken",
)
VIHF_016 = book.rule(
    "VIHF-016",
    "The VIHF role is not valid: {detail}.",
    message_fr="Le rôle (role) du VIHF n'est pas valide : {detail}.",
    hint="The first urn:oasis:names:tc:xacml:2.0:subject:role value is an hl7:Role CE with the profession "
        "(e.g. code=\"10\" codeSystem=\"1.2.250.1.71.1.2.7\"); physicians (10) and pharmacists (21) add a "
        "second "
        "value with their specialty (e.g. SM26, codeSystem 1.2.250.1.71.4.2.5).",
    source=f"{SRC_VIHF} (role: 1re occurrence obligatoire, 2e obligatoire pour médecins et pharmaciens; "
        "JDV_J65-SubjectRole-DMP)",
    rem=REM_DMP_COMPAT,
    layer="vihf",
    xds_code=XDS_REGISTRY_ERROR,
    soap_fault="wsse:InvalidSecurityToken",
)
VIHF_017 = book.rule(
    "VIHF-017",
    "The VIHF purpose of use is not valid: {detail}.",
    message_fr="Le mode d'accès (purposeofuse) du VIHF n'est pas valide : {detail}.",
    hint="Send urn:oasis:names:tc:xspa:1.0:subject:purposeofuse as an hl7:PurposeOfUse CE with "
         "code=\"normal\" "
        "and codeSystem=\"1.2.250.1.213.1.1.4.248\" for a normal access.",
    source=f"{SRC_VIHF} (purposeofuse: code=normal pour un accès normal)",
    rem=REM_DMP_COMPAT,
    layer="vihf",
    xds_code=XDS_REGISTRY_ERROR,
    soap_fault="wsse:InvalidSecurityToken",
)
VIHF_018 = book.rule(
    "VIHF-018",
    "Identifiant_Structure '{value}' does not match the {what} ('{expected}').",
    message_fr="Identifiant_Structure « {value} » ne correspond pas à {what} (« {expected} »).",
    hint="Use one structure throughout: the TLS client certificate, the VIHF signing certificate (OU), "
        "Identifiant_Structure and the submission's authorInstitution must name the same structure.",
    source=f"{SRC_VIHF} (Identifiant_Structure = Struct_IdNat de la structure; Issuer = DN du certificat)",
    rem=REM_DMP_COMPAT,
    layer="vihf",
    xds_code=XDS_REGISTRY_ERROR,
    soap_fault="wsse:FailedAuthentication",
)
VIHF_019 = book.rule(
    "VIHF-019",
    "The VIHF resource-id '{vihf}' and the submission's patientId '{metadata}' name different patients.",
    message_fr="Le resource-id du VIHF « {vihf} » et le patientId de la soumission « {metadata} » désignent "
               "des "
        "patients différents.",
    hint="Build the VIHF for the patient whose documents you send: resource-id must equal the patientId of "
         "the "
        "submission set and of every document entry.",
    source=f"{SRC_VIHF} (resource-id = INS du patient); {SRC_ITI}",
    rem=REM_DMP_COMPAT,
    layer="vihf",
    xds_code=XDS_PATIENT_MISMATCH,
    supersedes=(XDS_PAT_006,),
)
VIHF_020 = book.rule(
    "VIHF-020",
    "authorInstitution '{value}' of {where} is not the VIHF structure '{structure}'.",
    message_fr="authorInstitution « {value} » de {where} n'est pas la structure du VIHF « {structure} ».",
    hint="authorInstitution is an XON whose 10th component is the structure id of Identifiant_Structure, "
         "e.g. "
        "NAME^^^^^&1.2.250.1.71.4.2.2&ISO^IDNST^^^<Identifiant_Structure>.",
    source=f"{SRC_VIHF}; {SRC_PDSM} (authorInstitution)",
    rem=REM_DMP_COMPAT + REM_XDS_METADATA,
    layer="vihf",
    xds_code=XDS_METADATA,
)

# --- the patient of an ITI-41 submission (metadata_rules.check_patient) ----------------------------------
DMP_PAT_001 = book.rule(
    "DMP-PAT-001",
    "patientId '{value}' of {where} is not an INS written INS^^^&OID&ISO^NH.",
    message_fr="Le patientId « {value} » de {where} n'est pas un INS écrit INS^^^&OID&ISO^NH.",
    hint="Write the patient's INS (15 characters) then ^^^&<INS OID>&ISO^NH, e.g. "
        "279035121518989^^^&1.2.250.1.213.1.4.8&ISO^NH.",
    source=f"{SRC_PDSM} (patientId = matricule INS); {SRC_ITI} (CX)",
    rem=REM_INS_DIFFUSION + REM_XDS_METADATA,
    layer="dmp",
    xds_code=XDS_METADATA,
    blocking=True,
    supersedes=(XDS_PAT_001,),
)
DMP_PAT_002 = book.rule(
    "DMP-PAT-002",
    "patientId '{value}' uses the OID {oid} ({kind}), which this DMP does not accept{mode}.",
    message_fr="Le patientId « {value} » utilise l'OID {oid} ({kind}), que ce DMP n'accepte pas{mode}.",
    hint="Use the NIR OID 1.2.250.1.213.1.4.8 or the NIA OID 1.2.250.1.213.1.4.9 returned by INSi; test OIDs "
        "(1.2.250.1.213.1.4.10/11) are only accepted in test mode.",
    source="ANS Guide d'implémentation de l'INS (OIDs NIR/NIA/test); segur.kernel.ins",
    rem=REM_INS_DIFFUSION,
    layer="dmp",
    xds_code=XDS_UNKNOWN_PATIENT,
    supersedes=(XDS_PAT_001,),
)
DMP_PAT_003 = book.rule(
    "DMP-PAT-003",
    "patientId '{value}' is not a valid INS: {detail}.",
    message_fr="Le patientId « {value} » n'est pas un INS valide : {detail}.",
    hint="Send the INS exactly as INSi returned it (13-character NIR/NIA followed by its 2-digit key).",
    source="INSEE NIR key rule (97 - number mod 97, Corsica 2A/2B); segur.kernel.ins",
    rem=REM_INS_DIFFUSION,
    layer="dmp",
    xds_code=XDS_UNKNOWN_PATIENT,
    blocking=True,
    supersedes=(XDS_PAT_001,),
)
DMP_PAT_004 = book.rule(
    "DMP-PAT-004",
    "No patient with INS {ins} is known to this DMP.",
    message_fr="Aucun patient d'INS {ins} n'est connu de ce DMP.",
    hint="Check the INS with INSi (qualified identity) and use a patient of the test world "
        "(`segur world patients`).",
    source=f"{SRC_ITI} (XDSUnknownPatientId)",
    rem=REM_INS_DIFFUSION,
    layer="dmp",
    xds_code=XDS_UNKNOWN_PATIENT,
    blocking=True,
    supersedes=(XDS_PAT_002,),
)
DMP_PAT_005 = book.rule(
    "DMP-PAT-005",
    "Patient {ins} has {state}; documents cannot be added to it.",
    message_fr="Le patient {ins} a {state} ; aucun document ne peut y être ajouté.",
    hint="Call TD0.2 before sending: it tells whether the DMP exists and is open (NON_EXISTE / closed DMP).",
    source="DMP integration guide: TD0.2 (test d'existence du DMP) before TD2.1 feeding; "
        f"{SRC_ITI} (XDSUnknownPatientId)",
    rem=("SC.DMP/va1.07", "DMP/CONF.01"),
    layer="dmp",
    xds_code=XDS_UNKNOWN_PATIENT,
    blocking=True,
    supersedes=(XDS_PAT_002, XDS_PAT_003,),
)
DMP_PAT_006 = book.rule(
    "DMP-PAT-006",
    "Patient {ins} has opposed professionals' access to their DMP; the submission is refused.",
    message_fr="Le patient {ins} s'est opposé à l'accès des professionnels à son DMP ; la soumission est "
               "refusée.",
    hint="Record the patient's opposition in your software and block DMP transactions for this patient.",
    source="REM DMP/CONF.09 (bloquer les transactions d'alimentation en cas d'opposition)",
    rem=REM_OPPOSITION,
    layer="dmp",
    xds_code=XDS_REGISTRY_ERROR,
    supersedes=(XDS_PAT_004,),
)
DMP_PAT_007 = book.rule(
    "DMP-PAT-007",
    "The caller {caller} is not authorised on the DMP of patient {ins} (TD0.2 answer: {status}).",
    message_fr="L'appelant {caller} n'est pas autorisé sur le DMP du patient {ins} (réponse TD0.2 : "
               "{status}).",
    hint="Call TD0.2 first; INTERDIT means the patient blocked this professional or structure. Where your "
        "profile requires it, set the authorisation with TD0.3.",
    source="DMP integration guide TD0.2/TD0.3 (VALIDE, EXPIRE, INTERDIT, NON_EXISTE); REM DMP/CONF.05 "
        "(no TD0.3 needed for feeding)",
    rem=("DMP/CONF.05", "DMP/UX.08"),
    layer="dmp",
    xds_code=XDS_REGISTRY_ERROR,
    supersedes=(XDS_PAT_005,),
)

# --- XDS metadata (structure, formats) -------------------------------------------------------------------
XDS_001 = book.rule(
    "XDS-001",
    "{where} lacks the required metadata '{attribute}'.",
    message_fr="{where} ne porte pas la métadonnée obligatoire « {attribute} ».",
    hint="Add {attribute}: see the 'Mapping XDS' tables of the CI-SIS (required / required if known).",
    source=f"{SRC_ITI}; {SRC_PDSM}",
    rem=REM_XDS_METADATA,
    xds_code=XDS_METADATA,
)
XDS_002 = book.rule(
    "XDS-002",
    "The patientId of {where} ('{value}') differs from the submission set's ('{expected}').",
    message_fr="Le patientId de {where} (« {value} ») diffère de celui du lot de soumission (« {expected} "
               "»).",
    hint="Every document entry of a submission must carry the same patientId as the submission set.",
    source=f"{SRC_ITI} (XDSPatientIdDoesNotMatch)",
    rem=REM_XDS_METADATA,
    xds_code=XDS_PATIENT_MISMATCH,
)
XDS_003 = book.rule(
    "XDS-003",
    "Document entry {entry} has no document attached (no Document element with id '{entry}').",
    message_fr="La fiche {entry} n'a pas de document joint (aucun élément Document d'id « {entry} »).",
    hint="Attach one xds-b:Document per ExtrinsicObject, with the same id, its content in an MTOM part.",
    source=f"{SRC_ITI} (XDSMissingDocument)",
    rem=REM_XDS_METADATA,
    xds_code=XDS_MISSING_DOCUMENT,
    blocking=True,
)
XDS_004 = book.rule(
    "XDS-004",
    "A document is attached with id '{entry}' but no ExtrinsicObject describes it.",
    message_fr="Un document est joint avec l'id « {entry} » mais aucun ExtrinsicObject ne le décrit.",
    hint="Give every xds-b:Document the id of its ExtrinsicObject.",
    source=f"{SRC_ITI} (XDSMissingDocumentMetadata)",
    rem=REM_XDS_METADATA,
    xds_code=XDS_MISSING_METADATA,
    blocking=True,
)
XDS_005 = book.rule(
    "XDS-005",
    "The hash of {entry} is {value} but the document's SHA-1 is {expected}.",
    message_fr="Le hash de {entry} vaut {value} mais le SHA-1 du document est {expected}.",
    hint="Compute hash as the hexadecimal SHA-1 of the exact bytes sent (or leave it out: the repository "
         "fills it).",
    source=f"{SRC_ITI} §4.2.3.2.10 (hash); {SRC_ITI41_HASH}",
    rem=REM_XDS_METADATA,
    xds_code=XDS_REPOSITORY_METADATA,
)
XDS_006 = book.rule(
    "XDS-006",
    "The size of {entry} is {value} but the document has {expected} bytes.",
    message_fr="La taille de {entry} vaut {value} mais le document fait {expected} octets.",
    hint="Set size to the number of bytes of the document exactly as sent (or leave it out).",
    source=f"{SRC_ITI} §4.2.3.2.19 (size); {SRC_ITI41_HASH}",
    rem=REM_XDS_METADATA,
    xds_code=XDS_REPOSITORY_METADATA,
)
XDS_007 = book.rule(
    "XDS-007",
    "The uniqueId '{value}' is used by more than one object of the submission.",
    message_fr="L'uniqueId « {value} » est porté par plusieurs objets de la soumission.",
    hint="Give each document and the submission set its own uniqueId.",
    source=f"{SRC_ITI} (XDSRegistryDuplicateUniqueIdInMessage)",
    rem=REM_XDS_METADATA,
    xds_code=XDS_DUPLICATE_IN_MESSAGE,
    blocking=True,
)
XDS_008 = book.rule(
    "XDS-008",
    "{attribute} of {where} is '{value}', not a valid {kind}: {detail}.",
    message_fr="{attribute} de {where} vaut « {value} », qui n'est pas un {kind} valide : {detail}.",
    hint="{fix}",
    source=f"{SRC_ITI} §4.2.3.1.7 (DTM), §4.2.3.2.26 (uniqueId: OID or OID^extension, ≤ 128)",
    rem=REM_XDS_METADATA,
    xds_code=XDS_METADATA,
)
XDS_009 = book.rule(
    "XDS-009",
    "{attribute} '{value}' of {where} is not a professional identified by the national PS id: {detail}.",
    message_fr="{attribute} « {value} » de {where} n'est pas un professionnel identifié par son identifiant "
               "national "
        "(IDNPS) : {detail}.",
    hint="Write an XCN: <8+RPPS>^NAME^Given^^^^^^&1.2.250.1.71.4.2.1&ISO^D^^^IDNPS (identifier type IDNPS "
        "in the 13th component).",
    source=f"{SRC_PDSM}; HL7 v2.5 XCN; ANS Annexe transverse (8 + RPPS, 0 + ADELI, 3 + FINESS/id)",
    rem=REM_XDS_METADATA,
    xds_code=XDS_METADATA,
)
XDS_010 = book.rule(
    "XDS-010",
    "authorInstitution '{value}' of {where} is not a valid XON: {detail}.",
    message_fr="authorInstitution « {value} » de {where} n'est pas un XON valide : {detail}.",
    hint="Write NAME^^^^^&1.2.250.1.71.4.2.2&ISO^IDNST^^^<structure id>.",
    source=f"{SRC_PDSM}; HL7 v2.5 XON",
    rem=REM_XDS_METADATA,
    xds_code=XDS_METADATA,
)
XDS_011 = book.rule(
    "XDS-011",
    "authorInstitution of {where} ('{value}') is not the submission set's ('{expected}'); the DMP requires "
        "them identical.",
    message_fr="authorInstitution de {where} (« {value} ») n'est pas celle du lot de soumission (« "
               "{expected} ») ; le DMP "
        "exige qu'elles soient identiques.",
    hint="Give every document entry the submission set's authorInstitution (the sending structure), not the "
         "CDA "
        "author's representedOrganization.",
    source="ANS, 'Mapping XDS' (ansforge/IG-hl7v2-volet-transmission-document-cda-r2, mapping.md, "
           "authorInstitution "
        "de la fiche): 'Sur-contrainte par rapport au CI-SIS : l'authorInstitution de la fiche et du lot "
        "doivent "
        "être identiques'",
    rem=REM_XDS_METADATA,
    xds_code=XDS_METADATA,
)
# --- codes in the DMP value sets ---------------------------------------------------------------------
def _value_set_rule(rule_id: str, attribute: str, value_set: str) -> XdsRule:
    return book.rule(
        rule_id,
        f"{attribute} {{code}} ({{system}}) of {{where}} is not in {value_set}{{basis}}.",
        message_fr=f"{attribute} {{code}} ({{system}}) de {{where}} n'appartient pas à {value_set}{{basis}}.",
        hint=f"Use a code of {value_set} with its own codingScheme ({{hint_detail}}).",
        source=f"{SRC_PDSM} ({attribute}: {value_set}); {SRC_NOS}",
        rem=REM_XDS_METADATA + (REM_CONFIDENTIALITY if attribute == "confidentialityCode" else ()),
        layer="dmp", xds_code=XDS_METADATA)


DMP_CODE_001 = _value_set_rule("DMP-CODE-001", "classCode", "JDV_J57-ClassCode-DMP")
DMP_CODE_002 = _value_set_rule("DMP-CODE-002", "typeCode", "JDV_J66-TypeCode-DMP")
DMP_CODE_003 = _value_set_rule("DMP-CODE-003", "formatCode", "JDV_J60-FormatCode-DMP")
DMP_CODE_004 = _value_set_rule("DMP-CODE-004", "healthcareFacilityTypeCode",
                               "JDV_J61-HealthcareFacilityTypeCode-DMP")
DMP_CODE_005 = _value_set_rule("DMP-CODE-005", "practiceSettingCode", "JDV_J62-PracticeSettingCode-DMP")
DMP_CODE_006 = _value_set_rule("DMP-CODE-006", "confidentialityCode", "JDV_J58-ConfidentialityCode-DMP")
DMP_CODE_007 = _value_set_rule("DMP-CODE-007", "contentTypeCode", "JDV_J59-ContentTypeCode-DMP")
DMP_CODE_008 = _value_set_rule("DMP-CODE-008", "availabilityStatus", "JDV_J52-AvailabilityStatus-CISIS")


DMP_CODE_009 = book.rule(
    "DMP-CODE-009",
    "confidentialityCode of {where} has no HL7 confidentiality level (N, R or V from "
    "2.16.840.1.113883.5.25).",
    message_fr="confidentialityCode de {where} ne porte pas de niveau de confidentialité HL7 (N, R ou V de "
        "2.16.840.1.113883.5.25).",
    hint="Send the CDA confidentialityCode first (N normally); MASQUE_PS, INVISIBLE_PATIENT and "
        "INVISIBLE_REPRESENTANTS_LEGAUX (1.2.250.1.213.1.1.4.13) are added to it, never instead of it.",
    source=f"{SRC_PDSM} (confidentialityCode: première occurrence = CDA confidentialityCode)",
    rem=REM_XDS_METADATA + REM_CONFIDENTIALITY,
    layer="dmp",
    xds_code=XDS_METADATA,
)

# --- consistency between the metadata and the CDA document -----------------------------------------------
DMP_CDA_001 = book.rule(
    "DMP-CDA-001",
    "Document {entry} is not a CDA R2 document: {detail}.",
    message_fr="Le document {entry} n'est pas un document CDA R2 : {detail}.",
    hint="Send the CDA R2 XML (root element ClinicalDocument in urn:hl7-org:v3), N1 or N3, with mimeType "
         "text/xml.",
    source=f"{SRC_PDSM} (mimeType text/xml pour un document CDA)",
    rem=REM_XDS_METADATA,
    layer="dmp",
    xds_code=XDS_REPOSITORY_ERROR,
)
DMP_CDA_002 = book.rule(
    "DMP-CDA-002",
    "typeCode of {entry} is {value} but the CDA code is {expected}.",
    message_fr="Le typeCode de {entry} vaut {value} mais le code du CDA est {expected}.",
    hint="typeCode = ClinicalDocument/code (code and codeSystem).",
    source=f"{SRC_PDSM} (typeCode: CDA code@code)",
    rem=REM_XDS_METADATA,
    layer="dmp",
    xds_code=XDS_METADATA,
)
DMP_CDA_003 = book.rule(
    "DMP-CDA-003",
    "classCode of {entry} is {value} but type {type_code} belongs to class {expected} (ASS_X04).",
    message_fr="Le classCode de {entry} vaut {value} mais le type {type_code} relève de la classe "
               "{expected} (ASS_X04).",
    hint="Derive classCode from typeCode with the NOS table ASS_X04-CorrespondanceType-Classe.",
    source=f"{SRC_PDSM} (classCode déduit du CDA selon ASS_X04); {SRC_NOS}",
    rem=REM_XDS_METADATA,
    layer="dmp",
    xds_code=XDS_METADATA,
)
DMP_CDA_004 = book.rule(
    "DMP-CDA-004",
    "patientId of {entry} is {value} but the CDA's patient INS is {expected}.",
    message_fr="Le patientId de {entry} vaut {value} mais l'INS du patient dans le CDA est {expected}.",
    hint="The document must be about the patient of the submission: recordTarget/patientRole/id (INS OID) = "
        "patientId.",
    source=f"{SRC_PDSM}; {SRC_ITI} (XDSPatientIdDoesNotMatch)",
    rem=REM_XDS_METADATA + REM_INS_DIFFUSION,
    layer="dmp",
    xds_code=XDS_PATIENT_MISMATCH,
)
DMP_CDA_005 = book.rule(
    "DMP-CDA-005",
    "uniqueId of {entry} is {value} but the CDA id gives {expected}.",
    message_fr="L'uniqueId de {entry} vaut {value} mais l'id du CDA donne {expected}.",
    hint="uniqueId = ClinicalDocument/id: its root alone, or root^extension when the id has an extension.",
    source=f"{SRC_PDSM} (uniqueId: CDA id@root)",
    rem=REM_XDS_METADATA,
    layer="dmp",
    xds_code=XDS_METADATA,
)
DMP_CDA_006 = book.rule(
    "DMP-CDA-006",
    "creationTime of {entry} is {value} but the CDA effectiveTime {cda} is {expected} in UTC.",
    message_fr="Le creationTime de {entry} vaut {value} mais l'effectiveTime du CDA {cda} vaut {expected} "
               "en UTC.",
    hint="creationTime = ClinicalDocument/effectiveTime converted to UTC (XDS times are UTC, the CDA's "
         "carry an "
        "offset such as +0100).",
    source=f"{SRC_PDSM} (creationTime: CDA effectiveTime@value); {SRC_ITI} (DTM UTC)",
    rem=REM_XDS_METADATA,
    layer="dmp",
    xds_code=XDS_METADATA,
)
DMP_CDA_007 = book.rule(
    "DMP-CDA-007",
    "legalAuthenticator of {entry} is {value} but the CDA legalAuthenticator is {expected}.",
    message_fr="Le legalAuthenticator de {entry} vaut {value} mais le legalAuthenticator du CDA est "
               "{expected}.",
    hint="legalAuthenticator = CDA legalAuthenticator/assignedEntity (its id in the first XCN component).",
    source=f"{SRC_PDSM} (legalAuthenticator)",
    rem=REM_XDS_METADATA,
    layer="dmp",
    xds_code=XDS_METADATA,
)
DMP_CDA_008 = book.rule(
    "DMP-CDA-008",
    "authorPerson {value} of {entry} is not an author of the CDA (authors: {expected}).",
    message_fr="L'authorPerson {value} de {entry} n'est pas un auteur du CDA (auteurs : {expected}).",
    hint="authorPerson = CDA author/assignedAuthor (its id in the first XCN component).",
    source=f"{SRC_PDSM} (authorPerson: CDA author/assignedAuthor)",
    rem=REM_XDS_METADATA,
    layer="dmp",
    xds_code=XDS_METADATA,
)
DMP_CDA_009 = book.rule(
    "DMP-CDA-009",
    "formatCode of {entry} is {value} but this {level} document calls for {expected} ({why}).",
    message_fr="Le formatCode de {entry} vaut {value} mais ce document {level} appelle {expected} ({why}).",
    hint="For a CDA N1 use the xds-sd code of its embedded file type (urn:ihe:iti:xds-sd:pdf:2008 for a "
         "PDF); "
        "for a CDA N3 use the formatCode ASS_A11 gives for its content-model templateId.",
    source=f"{SRC_PDSM} (formatCode: N1 => application/pdf, N3 => ASS_A11); {SRC_NOS}",
    rem=REM_XDS_METADATA,
    layer="dmp",
    xds_code=XDS_METADATA,
)
DMP_CDA_010 = book.rule(
    "DMP-CDA-010",
    "confidentialityCode of {entry} does not include the CDA confidentialityCode {expected}.",
    message_fr="Le confidentialityCode de {entry} ne reprend pas le confidentialityCode du CDA {expected}.",
    hint="The first confidentialityCode of the entry is the CDA's (ClinicalDocument/confidentialityCode).",
    source=f"{SRC_PDSM} (confidentialityCode: première occurrence du CDA)",
    rem=REM_XDS_METADATA + REM_CONFIDENTIALITY,
    layer="dmp",
    xds_code=XDS_METADATA,
)
DMP_CDA_011 = book.rule(
    "DMP-CDA-011",
    "mimeType of {entry} is '{value}'; a CDA document is sent as text/xml.",
    message_fr="Le mimeType de {entry} vaut « {value} » ; un document CDA est envoyé en text/xml.",
    hint="Set ExtrinsicObject/@mimeType to text/xml.",
    source=f"{SRC_PDSM} (mimeType: text/xml pour un document CDA)",
    rem=REM_XDS_METADATA,
    layer="dmp",
    xds_code=XDS_METADATA,
)
DMP_CDA_012 = book.rule(
    "DMP-CDA-012",
    "Document {entry} does not pass the CDA validation ({count} error(s)); see the validator's findings.",
    message_fr="Le document {entry} ne passe pas la validation CDA ({count} erreur(s)) ; voir les constats "
               "du validateur.",
    hint="Fix the document with `segur validate` (XSD, CI-SIS Schematron packs, Ségur rules) before sending "
         "it.",
    source="CI-SIS CDA packs (ansforge/TestContenuCDA-3-0); segur.validators",
    rem=REM_XDS_METADATA,
    layer="dmp",
    xds_code=XDS_REPOSITORY_ERROR,
)
DMP_CDA_013 = book.rule(
    "DMP-CDA-013",
    "sourcePatientInfo {field} of {entry} is '{value}' but the CDA's recordTarget gives {expected}.",
    message_fr="Le sourcePatientInfo {field} de {entry} vaut « {value} » mais le recordTarget du CDA donne "
               "{expected}.",
    hint="sourcePatientInfo describes the document's patient as the CDA does: PID-3 its ids (the INS = "
        "patientId), PID-5 FAMILY^GIVEN^^^^^L from recordTarget/patientRole/patient/name, PID-7 the "
        "birthTime "
        "as YYYYMMDD, PID-8 the administrativeGenderCode.",
    source=f"{SRC_PDSM} (sourcePatientInfo: PID-3, PID-5, PID-7, PID-8 of the recordTarget); {SRC_ITI} "
        "§4.2.3.2.23 (sourcePatientInfo)",
    rem=REM_XDS_METADATA + REM_INS_DIFFUSION,
    layer="dmp",
    xds_code=XDS_METADATA,
)

# --- visibility: who will not see the stored document ----------------------------------------------------
DMP_CONF_001 = book.rule(
    "DMP-CONF-001",
    "{entry} is stored with confidentialityCode {code}: the document is {effect}.",
    message_fr="{entry} est enregistré avec le confidentialityCode {code} : le document est {effect_fr}.",
    hint="Legitimate when chosen on purpose (the DMP's visibility cycle); check the code was the user's "
         "choice "
        "and not a default, and that the patient is told when the reason disappears.",
    source=f"{SRC_PDSM} (confidentialityCode 1.2.250.1.213.1.1.4.13); DMP integration guide 'Service DMP "
        "intégré aux LPS' §2.4.4 (cycle de visibilité d'un document), as REM LGC.DMP.02 cites it",
    rem=REM_XDS_METADATA + REM_CONFIDENTIALITY,
    severity=Severity.WARNING,
    layer="dmp",
    xds_code=XDS_METADATA,
)


# --- what the wire and the lenient mode read from a finding ---------------------------------------------
def is_blocking(finding: Finding) -> bool:
    """A breach that refuses the exchange even in lenient mode: a blocking rule, or one whose
    `blocking_attributes` name the attribute it is about (uniqueId, patientId: nothing can be stored)."""
    rule = book._rules.get(finding.rule)
    if rule is None:
        return False
    if rule.blocking:
        return True
    attribute = ((finding.extra or {}).get("params") or {}).get("attribute")
    return attribute in rule.extra.get("blocking_attributes", ())


def xds_code_of(finding: Finding, default: str = XDS_REGISTRY_ERROR) -> str:
    """The IHE error code a finding is reported under (``extra["xds_code"]``, else `default`, e.g. for
    the CDA validator's findings)."""
    return (finding.extra or {}).get("xds_code") or default
