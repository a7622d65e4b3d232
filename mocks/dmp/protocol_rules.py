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

from segur.kernel import rules
from segur.kernel.findings import Finding, Severity
from segur.kernel.rules import Rule

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
        # --- SOAP envelope and MTOM (answered with a SOAP 1.2 fault) ---------------------------
        _rule("XDS-SOAP-001", "The SOAP message is not well-formed XML: {detail}",
              "Le message SOAP n'est pas un XML bien formé : {detail}",
              "Send a well-formed SOAP 1.2 envelope (UTF-8).", _SOAP, fault="Sender"),
        _rule("XDS-SOAP-002", "The SOAP message carries a DOCTYPE or entity declaration; they are refused (XXE).",
              "Le message SOAP porte une DOCTYPE ou une déclaration d'entité ; elles sont refusées (XXE).",
              "SOAP 1.2 forbids a DTD in a message (part 1 §5); remove it.", _SOAP, fault="Sender"),
        _rule("XDS-SOAP-003", "The message is not a SOAP 1.2 envelope: {detail}",
              "Le message n'est pas une enveloppe SOAP 1.2 : {detail}",
              "Use the namespace http://www.w3.org/2003/05/soap-envelope (SOAP 1.2), as IHE ITI requires.",
              _SOAP, fault="VersionMismatch"),
        _rule("XDS-SOAP-004", "The SOAP Body is missing or empty.", "Le corps SOAP est absent ou vide.",
              "Put the request element (e.g. xdsb:ProvideAndRegisterDocumentSetRequest) in soap:Body.",
              _SOAP, fault="Sender"),
        _rule("XDS-SOAP-005", "The action '{action}' is not served at this endpoint.",
              "L'action « {action} » n'est pas servie par ce point d'accès.",
              "Send the WS-Addressing Action of the transaction (e.g. urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-b) "
              "to the endpoint listed by /_admin/health.", _SOAP, fault="Sender"),
        _rule("XDS-SOAP-006", "The body element {element} does not match the action {action} (expected {expected}).",
              "L'élément {element} du corps ne correspond pas à l'action {action} (attendu : {expected}).",
              "Send the request element of the transaction named by the action.", _SOAP, fault="Sender"),
        _rule("XDS-SOAP-007", "The request is {size} bytes, over the {limit}-byte limit of this mock.",
              "La requête fait {size} octets, au-delà de la limite de {limit} octets de ce mock.",
              "Send smaller documents, or start the mock with a larger --max-body.", _SOAP, fault="Sender"),
        _rule("XDS-SOAP-008", "The request's Content-Type cannot carry a SOAP 1.2 message: {detail}.",
              "Le Content-Type de la requête ne peut pas porter un message SOAP 1.2 : {detail}.",
              "Use application/soap+xml, or multipart/related; type=\"application/xop+xml\" for MTOM.",
              _SOAP, fault="Sender"),
        _rule("XDS-SOAP-009", "The header {header} is marked mustUnderstand and this service does not understand it.",
              "L'en-tête {header} est marqué mustUnderstand et ce service ne le comprend pas.",
              "Remove the header or its mustUnderstand attribute.", _SOAP, fault="MustUnderstand"),
        _rule("XDS-SOAP-010", "The service failed while processing the request: {detail}",
              "Le service a échoué en traitant la requête : {detail}",
              "This is a defect of the mock; report it with the journal entry.", _SOAP, fault="Receiver"),
        _rule("XDS-MTOM-001", "The MIME multipart body is malformed: {detail}.",
              "Le corps MIME multipart est mal formé : {detail}.",
              "Follow RFC 2046: CRLF--boundary between parts, headers then a blank line, closing --boundary--.",
              _MTOM, fault="Sender"),
        _rule("XDS-MTOM-002", "The MTOM root part is missing or wrong: {detail}.",
              "La partie racine MTOM est absente ou incorrecte : {detail}.",
              "The start parameter must name the part holding the SOAP envelope (application/xop+xml).",
              _MTOM, fault="Sender"),
        _rule("XDS-MTOM-003", "{detail}.", "{detail}.",
              "Each xop:Include href must be cid:<Content-ID of a part of the same message>.",
              _MTOM, "XDSMissingDocument"),
        _rule("XDS-MTOM-004", "{detail}.", "{detail}.", "Use href=\"cid:<content-id>\" (RFC 2392).",
              _MTOM, "XDSMissingDocument"),
        _rule("XDS-MTOM-005", "A MIME part cannot be decoded: {detail}.", "Une partie MIME ne peut pas être décodée : {detail}.",
              "Send parts as binary (MTOM) or valid base64.", _MTOM, fault="Sender"),
        _rule("XDS-MTOM-006", "{detail}.", "{detail}.",
              "Inline content must be base64 (xs:base64Binary), or use an xop:Include.", _MTOM, "XDSMissingDocument"),
        # --- ITI-41 (repository and registry checks) ---------------------------------------------
        _rule("XDS-41-001", "The DocumentEntry '{id}' has no Document element carrying its content.",
              "La fiche document « {id} » n'a pas d'élément Document portant son contenu.",
              "Add <xdsb:Document id=\"{id}\"> with the document (xop:Include or base64).",
              _TF2B_41, "XDSMissingDocument"),
        _rule("XDS-41-002", "The Document '{id}' has no DocumentEntry describing it.",
              "Le document « {id} » n'a pas de fiche document qui le décrit.",
              "Document@id must equal the id of an ExtrinsicObject of the submission.",
              _TF2B_41, "XDSMissingDocumentMetadata"),
        _rule("XDS-41-003", "The hash slot of '{id}' is {declared}, but the document's SHA-1 is {actual}.",
              "Le slot hash de « {id} » vaut {declared}, mais le SHA-1 du document est {actual}.",
              "Compute the hash on the exact bytes sent, or leave the slot out (the repository computes it).",
              _TF2B_41 + " §3.41.4.1.3", "XDSRepositoryMetadataError"),
        _rule("XDS-41-004", "The size slot of '{id}' is {declared}, but the document is {actual} bytes.",
              "Le slot size de « {id} » vaut {declared}, mais le document fait {actual} octets.",
              "Give the size of the exact bytes sent, or leave the slot out.",
              _TF2B_41 + " §3.41.4.1.3", "XDSRepositoryMetadataError"),
        _rule("XDS-41-005", "The patientId of '{id}' ({entry}) differs from the SubmissionSet's ({submission}).",
              "Le patientId de « {id} » ({entry}) diffère de celui du lot de soumission ({submission}).",
              "Use the same INS for the SubmissionSet and every DocumentEntry.", _TF3, "XDSPatientIdDoesNotMatch"),
        _rule("XDS-41-006", "The uniqueId {unique_id} is used more than once in the submission.",
              "L'identifiant unique {unique_id} est utilisé plusieurs fois dans la soumission.",
              "Give each document and the submission set their own uniqueId.",
              _TF3, "XDSRegistryDuplicateUniqueIdInMessage"),
        _rule("XDS-41-007", "The SubmissionSet uniqueId {unique_id} is already registered.",
              "L'identifiant unique de lot {unique_id} est déjà enregistré.",
              "Generate a new SubmissionSet uniqueId (an OID) for every submission.",
              _TF3, "XDSDuplicateUniqueIdInRegistry"),
        _rule("XDS-41-008", "The document uniqueId {unique_id} is already registered with different content.",
              "L'identifiant unique de document {unique_id} est déjà enregistré avec un autre contenu.",
              "A new version of a document needs a new uniqueId and an RPLC association to the previous one.",
              _TF3, "XDSNonIdenticalHash"),
        _rule("XDS-41-009", "The document {unique_id} is already in this DMP, unchanged; sending it again is refused.",
              "Le document {unique_id} est déjà dans ce DMP, inchangé ; le renvoyer est refusé.",
              "Do not resend a document that has not changed (DMP requirement EX_GEN-1060).",
              _DMP + " (EX_GEN-1060)", "XDSRegistryMetadataError"),
        _rule("XDS-41-010", "The {kind} association '{id}' targets {target}, which is not a registered document.",
              "L'association {kind} « {id} » vise {target}, qui n'est pas un document enregistré.",
              "The targetObject of RPLC/APND/XFRM must be the entryUUID of a registered DocumentEntry "
              "(find it with ITI-18 FindDocuments/GetDocuments).", _TF3, "XDSRegistryMetadataError"),
        _rule("XDS-41-011", "The document {target} replaced by '{id}' is not Approved (it is {status}).",
              "Le document {target} remplacé par « {id} » n'est pas Approved (il est {status}).",
              "Only the current version of a document can be replaced.", _TF3, "XDSRegistryDeprecatedDocumentError"),
        _rule("XDS-41-012", "The document {target} replaced by '{id}' belongs to another patient ({patient}).",
              "Le document {target} remplacé par « {id} » appartient à un autre patient ({patient}).",
              "A replacement must concern the same patient as the document it replaces.",
              _TF3, "XDSPatientIdDoesNotMatch"),
        _rule("XDS-41-013", "The document '{id}' is declared as {declared} but its content is not: {detail}.",
              "Le document « {id} » est déclaré {declared} mais son contenu ne l'est pas : {detail}.",
              "Send the real file (a PDF starts with %PDF-), and declare its real type.",
              _TF2B_41, "XDSRepositoryMetadataError"),
        _rule("XDS-41-014", "The document '{id}' failed validation: see the findings of layer {layer}.",
              "Le document « {id} » n'est pas valide : voir les constats de la couche {layer}.",
              "Fix the CDA document (run `segur validate` on it for the details).", _TF2B_41, "XDSRepositoryError"),
        _rule("XDS-41-015", "Only an author of document {target} may replace it; the caller is {caller}.",
              "Seul un auteur du document {target} peut le remplacer ; l'appelant est {caller}.",
              "Replace a document from the structure (or as the professional) that authored it (EX_2.1-1140).",
              _DMP + " (EX_2.1-1140)", "XDSRegistryMetadataError"),
        _rule("XDS-41-016", "The document '{id}' is {size} bytes, larger than {limit_mib} MiB ({limit} bytes), "
              "the per-document limit of this mock; it was not read.",
              "Le document « {id} » fait {size} octets, plus que {limit_mib} Mio ({limit} octets), la limite "
              "par document de ce mock ; il n'a pas été lu.",
              "Send a smaller document (a CDA is normally a few MB); if it is legitimate, start the mock with a "
              "larger limit: `segur serve dmp --max-document-size BYTES`, or `max_document_size` in the [dmp] "
              "section of `segur up`.", _TF3 + " (XDSRepositoryError); project policy (issue 3: 50 MiB)",
              "XDSRepositoryError"),
        _rule("XDS-41-017", "The replacement '{id}' has the CDA setId {set_id}, not the setId {old_set_id} of the "
              "document {target} it replaces.",
              "Le document de remplacement « {id} » a le setId CDA {set_id}, pas le setId {old_set_id} du document "
              "{target} qu'il remplace.",
              "A new version keeps ClinicalDocument/setId of the version it replaces, takes a new id and "
              "versionNumber + 1, and names the previous id in relatedDocument[@typeCode='RPLC']/parentDocument.",
              "HL7 CDA R2 §4.2.1.7 (setId, versionNumber, relatedDocument RPLC); " + _TF2B_41 + " (RPLC)",
              "XDSRegistryMetadataError"),
        # --- Patient and DMP state ------------------------------------------------------------------
        _rule("XDS-PAT-001", "The patient id {patient_id} is not an INS (NIR or NIA under its national OID).",
              "L'identifiant patient {patient_id} n'est pas un INS (NIR ou NIA sous son OID national).",
              "Use the qualified INS from INSi: <INS>^^^&1.2.250.1.213.1.4.8&ISO^NH (NIR; test OIDs allowed in test mode).",
              _DMP, "XDSUnknownPatientId"),
        _rule("XDS-PAT-002", "No DMP is known for the patient {patient_id}.",
              "Aucun DMP n'est connu pour le patient {patient_id}.",
              "Check the INS (TD0.2 answers NON_EXISTE for a patient without a DMP).", _DMP, "XDSUnknownPatientId"),
        _rule("XDS-PAT-003", "The DMP of patient {patient_id} is closed.", "Le DMP du patient {patient_id} est fermé.",
              "A closed DMP accepts no document; check the patient's DMP status with TD0.2.", _DMP, "XDSUnknownPatientId"),
        _rule("XDS-PAT-004", "The patient {patient_id} has opposed access to the DMP by this caller ({caller}).",
              "Le patient {patient_id} s'est opposé à l'accès à son DMP par cet appelant ({caller}).",
              "TD0.2 answers INTERDIT: do not access this DMP.", _DMP, "XDSRegistryError"),
        _rule("XDS-PAT-005", "The caller {caller} is not authorised on the DMP of {patient_id} (TD0.2: {status}).",
              "L'appelant {caller} n'est pas autorisé sur le DMP de {patient_id} (TD0.2 : {status}).",
              "Ask the patient's consent and add the authorisation with TD0.3 (action AJOUT) before this call.",
              _DMP + " (EX_0.3-1010)", "XDSRegistryError"),
        _rule("XDS-PAT-006", "The VIHF is for patient {vihf}, not for {patient_id} named in the request.",
              "Le VIHF concerne le patient {vihf}, pas {patient_id} nommé dans la requête.",
              "Build the VIHF for each call with resource-id = the INS of the patient the call is about.",
              _DMP + " (VIHF resource-id)", "XDSPatientIdDoesNotMatch"),
        # --- ITI-18 ----------------------------------------------------------------------------------
        _rule("XDS-18-001", "The stored query {query_id} is not supported.", "La requête stockée {query_id} n'est pas prise en charge.",
              "Use FindDocuments, FindSubmissionSets, GetDocuments, GetAssociations or GetSubmissionSetAndContents "
              "(ITI TF vol 2a §3.18.4.1.2.3.7).", _TF2A_18, "XDSUnknownStoredQuery"),
        _rule("XDS-18-002", "The stored query {query} lacks the required parameter {parameter}.",
              "La requête stockée {query} n'a pas le paramètre obligatoire {parameter}.",
              "Add the Slot {parameter}.", _TF2A_18, "XDSStoredQueryMissingParam"),
        _rule("XDS-18-003", "The stored query {query} needs exactly one of {parameters}.",
              "La requête stockée {query} exige exactement un de {parameters}.",
              "Send one of these parameters, not both.", _TF2A_18, "XDSStoredQueryParamNumber"),
        _rule("XDS-18-004", "The parameter {parameter} has a malformed value {value}: {detail}.",
              "Le paramètre {parameter} a une valeur mal formée {value} : {detail}.",
              "Quote strings ('value'), list them in parentheses ('a','b'), codes as 'code^^scheme' "
              "(ITI TF vol 2a §3.18.4.1.2.3.5).", _TF2A_18, "XDSRegistryError"),
        _rule("XDS-18-005", "The request is not a readable AdhocQueryRequest: {detail}.",
              "La requête n'est pas un AdhocQueryRequest lisible : {detail}.",
              "Send query:AdhocQueryRequest with ResponseOption and AdhocQuery.", _TF2A_18, "XDSRegistryError"),
        # --- ITI-43 ----------------------------------------------------------------------------------
        _rule("XDS-43-001", "The repository {repository} is not this repository ({own}).",
              "Le dépôt {repository} n'est pas ce dépôt ({own}).",
              "Use the repositoryUniqueId returned by ITI-18.", _TF2B_43, "XDSUnknownRepositoryId"),
        _rule("XDS-43-002", "The document {unique_id} is not available in this repository.",
              "Le document {unique_id} n'est pas disponible dans ce dépôt.",
              "Use a DocumentEntry.uniqueId returned by ITI-18 for this patient.", _TF2B_43, "XDSDocumentUniqueIdError"),
        _rule("XDS-43-003", "The RetrieveDocumentSetRequest holds no readable DocumentRequest: {detail}.",
              "La requête RetrieveDocumentSetRequest ne contient pas de DocumentRequest lisible : {detail}.",
              "Send one DocumentRequest per document with RepositoryUniqueId and DocumentUniqueId.",
              _TF2B_43, "XDSRepositoryError"),
        # --- ITI-57 ----------------------------------------------------------------------------------
        _rule("XDS-57-001", "The update cannot be decoded: {detail}.", "La mise à jour ne peut pas être décodée : {detail}.",
              "Send a SubmissionSet plus an UpdateAvailabilityStatus association, or a new DocumentEntry version "
              "(same lid) with a HasMember association carrying PreviousVersion.", _TF3_57,
              "XDSMetadataUpdateOperationError"),
        _rule("XDS-57-002", "The update targets {target}, which is not a registered document.",
              "La mise à jour vise {target}, qui n'est pas un document enregistré.",
              "Target the entryUUID (or lid) of a DocumentEntry returned by ITI-18.", _TF3_57, "XDSMetadataUpdateError"),
        _rule("XDS-57-003", "The OriginalStatus {declared} does not match the document's status {actual}.",
              "Le statut d'origine {declared} ne correspond pas au statut du document {actual}.",
              "Query the document first and send its current status as OriginalStatus.", _TF3_57,
              "XDSMetadataUpdateError"),
        _rule("XDS-57-004", "The DMP does not allow the status change {original} → {new}.",
              "Le DMP n'autorise pas le changement de statut {original} → {new}.",
              "Allowed: Approved→Deprecated, Approved↔Archived (urn:asip:ci-sis:2010:StatusType:Archived), "
              "Approved/Archived→Deleted (JDV_J52).", _DMP + " (TD3.3)", "XDSMetadataUpdateOperationError"),
        _rule("XDS-57-005", "PreviousVersion {declared} does not match the registered version {actual} of {target}.",
              "PreviousVersion {declared} ne correspond pas à la version enregistrée {actual} de {target}.",
              "Query the document again and send its current version number (another update happened first).",
              _TF3_57, "XDSMetadataVersionError"),
        _rule("XDS-57-006", "The update changes {fields}; the DMP only allows changing the visibility "
              "(confidentialityCode MASQUE_PS / INVISIBLE_PATIENT / INVISIBLE_REP_LEGAUX).",
              "La mise à jour modifie {fields} ; le DMP n'autorise que le changement de visibilité "
              "(confidentialityCode MASQUE_PS / INVISIBLE_PATIENT / INVISIBLE_REP_LEGAUX).",
              "To change the content or other metadata, replace the document (ITI-41 with RPLC).",
              _DMP + " (TD3.3)", "XDSMetadataUpdateOperationError"),
        _rule("XDS-57-007", "The update changes the patientId from {old} to {new}.",
              "La mise à jour change le patientId de {old} à {new}.",
              "A metadata update cannot move a document to another patient.", _TF3_57, "XDSPatientIDReconciliationError"),
        _rule("XDS-57-008", "A document cannot be both invisible to the patient and masked from professionals.",
              "Un document ne peut pas être à la fois invisible au patient et masqué aux professionnels.",
              "Choose one of INVISIBLE_PATIENT and MASQUE_PS (DMP requirement EX_2.1-1050, parameter "
              "cumul-invisible_patient-masque_ps = false).", _DMP + " (EX_2.1-1050)", "XDSMetadataUpdateError"),
        # --- TD0.2 / TD0.3 and injected faults -------------------------------------------------------
        _rule("DMP-TD-001", "The {transaction} request is malformed: {detail}.", "La requête {transaction} est mal formée : {detail}.",
              "See docs/dmp.md for the TD0.2/TD0.3 messages of this mock.", _DMP, fault="Sender"),
        _rule("XDS-FAULT-001", "Error injected by the test (fault {fault_id}): {code}.",
              "Erreur injectée par le test (faute {fault_id}) : {code}.",
              "This error was requested through /_admin/faults; clear it with DELETE /_admin/faults.",
              "project policy (test control)", "XDSRegistryError"),
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
