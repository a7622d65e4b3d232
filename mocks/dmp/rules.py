"""The DMP mock's rule catalogue: every check on a VIHF, a patient, a submission's metadata and its CDA.

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
"""

from __future__ import annotations

from dataclasses import replace

from segur.kernel import rules
from segur.kernel.findings import Finding, Severity
from segur.kernel.rules import Rule

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

_CATALOGUE: dict[str, Rule] = {}


def _rule(rule_id: str, layer: str, xds_code: str, en: str, fr: str, hint: str, *, source: str,
          rem: tuple[str, ...] = (), soap_fault: str | None = None,
          severity: Severity = Severity.ERROR) -> None:
    extra = {"xds_code": xds_code}
    if soap_fault:
        extra["soap_fault"] = soap_fault
    _CATALOGUE[rule_id] = Rule(rule_id, layer, en, fr, hint=hint, severity=severity, rem=rem, source=source,
                               extra=extra)


# --- VIHF: the caller's SAML 2.0 assertion -----------------------------------------------------------
V = "vihf"
_rule("VIHF-001", V, XDS_REGISTRY_ERROR,
      "No VIHF: the request has no wsse:Security header carrying a SAML 2.0 assertion.",
      "Pas de VIHF : la requête n'a pas d'en-tête wsse:Security portant une assertion SAML 2.0.",
      "Add the signed VIHF 3.0 assertion (saml2:Assertion) inside soap:Header/wsse:Security.",
      source=f"{SRC_VIHF}; {SRC_WSS}", rem=REM_DMP_COMPAT, soap_fault="wsse:InvalidSecurity")
_rule("VIHF-002", V, XDS_REGISTRY_ERROR,
      "The VIHF is not a well-formed SAML 2.0 assertion: {detail}.",
      "Le VIHF n'est pas une assertion SAML 2.0 bien formée : {detail}.",
      "Send one saml2:Assertion (urn:oasis:names:tc:SAML:2.0:assertion) with Version=\"2.0\", an ID and an "
      "IssueInstant.", source=f"SAML 2.0 Core §2.3.3; {SRC_VIHF}", rem=REM_DMP_COMPAT,
      soap_fault="wsse:InvalidSecurityToken")
_rule("VIHF-003", V, XDS_REGISTRY_ERROR,
      "The VIHF is not signed (no ds:Signature in the assertion).",
      "Le VIHF n'est pas signé (pas de ds:Signature dans l'assertion).",
      "Sign the assertion (enveloped XML-DSig, Reference URI=\"#<assertion ID>\") with the structure's "
      "signing certificate and put that certificate in ds:KeyInfo/ds:X509Data.",
      source=f"{SRC_VIHF} (//Assertion/ds:Signature)", rem=REM_DMP_COMPAT, soap_fault="wsse:InvalidSecurityToken")
_rule("VIHF-004", V, XDS_REGISTRY_ERROR,
      "The VIHF signature does not verify: {detail}.",
      "La signature du VIHF n'est pas valide : {detail}.",
      "Sign the assertion last, after every attribute is set, and do not re-indent or re-encode it afterwards; "
      "use exclusive C14N and RSA-SHA256 (RSA-SHA1 is still accepted).",
      source=f"W3C XML-DSig 1.1 §3.2 (core validation); {SRC_VIHF}", rem=REM_DMP_COMPAT,
      soap_fault="wsse:FailedCheck")
_rule("VIHF-005", V, XDS_REGISTRY_ERROR,
      "The certificate that signed the VIHF is not trusted: {detail}.",
      "Le certificat qui a signé le VIHF n'est pas reconnu : {detail}.",
      "Sign with a valid certificate issued by the platform's CA (locally: `segur pki`, client "
      "'organisation'; at the real DMP: an IGC-Santé structure certificate).",
      source=f"{SRC_VIHF} (certificat de cachet de la structure); {SRC_WSS}", rem=REM_DMP_COMPAT,
      soap_fault="wsse:FailedAuthentication")
_rule("VIHF-006", V, XDS_REGISTRY_ERROR,
      "The VIHF Issuer is {problem}.",
      "L'émetteur (Issuer) du VIHF est {problem}.",
      "Set saml2:Issuer to the subject DN of the signing certificate, with "
      "Format=\"urn:oasis:names:tc:SAML:1.1:nameid-format:X509SubjectName\".",
      source=f"{SRC_VIHF} (//Assertion/Issuer, Issuer/@Format)", rem=REM_DMP_COMPAT,
      soap_fault="wsse:InvalidSecurityToken")
_rule("VIHF-007", V, XDS_REGISTRY_ERROR,
      "The VIHF has no Subject/NameID (the identifier of the user or of the person responsible for the "
      "automated processing).",
      "Le VIHF n'a pas de Subject/NameID (identifiant de l'utilisateur ou du responsable du traitement "
      "automatisé).",
      "Put the professional's national id (e.g. 8 + RPPS) in saml2:Subject/saml2:NameID.",
      source=f"{SRC_VIHF} (//Assertion/Subject/NameID)", rem=REM_DMP_COMPAT, soap_fault="wsse:InvalidSecurityToken")
_rule("VIHF-008", V, XDS_REGISTRY_ERROR,
      "The VIHF has no usable AuthnStatement: {detail}.",
      "Le VIHF n'a pas d'AuthnStatement exploitable : {detail}.",
      "Add saml2:AuthnStatement with AuthnInstant and AuthnContext/AuthnContextClassRef (a SAML 2.0 "
      "authentication context class, e.g. urn:oasis:names:tc:SAML:2.0:ac:classes:TLSClient).",
      source=f"{SRC_VIHF} (AuthnStatement/AuthnContext/AuthnContextClassRef)", rem=REM_DMP_COMPAT,
      soap_fault="wsse:InvalidSecurityToken")
_rule("VIHF-009", V, XDS_REGISTRY_ERROR,
      "The VIHF is outside its validity window: {detail}.",
      "Le VIHF est hors de sa période de validité : {detail}.",
      "Issue a fresh assertion for each request (IssueInstant = now, Conditions NotBefore/NotOnOrAfter "
      "around now) and keep the machine's clock synchronised.",
      source=f"SAML 2.0 Core §2.5.1.2 (Conditions); {SRC_VIHF}", rem=REM_DMP_COMPAT,
      soap_fault="wsse:InvalidSecurityToken")
_rule("VIHF-010", V, XDS_REGISTRY_ERROR,
      "The VIHF lacks the mandatory attribute '{attribute}' (or it is empty).",
      "Le VIHF ne contient pas l'attribut obligatoire « {attribute} » (ou il est vide).",
      "Add <saml2:Attribute Name=\"{attribute}\"> with a non-empty AttributeValue.",
      source=SRC_VIHF, rem=REM_DMP_COMPAT, soap_fault="wsse:InvalidSecurityToken")
_rule("VIHF-011", V, XDS_REGISTRY_ERROR,
      "VIHF_Version is '{value}'; this DMP accepts {accepted}.",
      "VIHF_Version vaut « {value} » ; ce DMP accepte {accepted}.",
      "Set the VIHF_Version attribute to 3.0 (the version of the DMP integration guide in use).",
      source=f"{SRC_VIHF} (VIHF_Version)", rem=REM_DMP_COMPAT, soap_fault="wsse:InvalidSecurityToken")
_rule("VIHF-012", V, XDS_REGISTRY_ERROR,
      "Ressource_URN is '{value}'; the DMP requires 'urn:dmp'.",
      "Ressource_URN vaut « {value} » ; le DMP exige « urn:dmp ».",
      "Set the Ressource_URN attribute to the constant urn:dmp.",
      source=f"{SRC_VIHF} (Ressource_URN: constante urn:dmp)", rem=REM_DMP_COMPAT,
      soap_fault="wsse:InvalidSecurityToken")
_rule("VIHF-013", V, XDS_REGISTRY_ERROR,
      "The VIHF resource-id '{value}' is not a usable patient INS: {detail}.",
      "Le resource-id « {value} » du VIHF n'est pas un INS patient exploitable : {detail}.",
      "Write the patient's INS as INS^^^&OID&ISO^NH, with the NIR (1.2.250.1.213.1.4.8) or NIA "
      "(1.2.250.1.213.1.4.9) OID (test OIDs only on test platforms) and a correct key.",
      source=f"{SRC_VIHF} (urn:oasis:names:tc:xacml:2.0:resource:resource-id = INS du patient); segur.kernel.ins",
      rem=REM_DMP_COMPAT + REM_INS_DIFFUSION, soap_fault="wsse:InvalidSecurityToken")
_rule("VIHF-014", V, XDS_REGISTRY_ERROR,
      "Authentification_Mode is '{value}'; expected one of {accepted}.",
      "Authentification_Mode vaut « {value} » ; valeurs attendues : {accepted}.",
      "A structure authenticating with its own certificate (indirect mode) sends INDIRECTE.",
      source=f"{SRC_VIHF} (Authentification_Mode: constante INDIRECTE en authentification indirecte)",
      rem=REM_DMP_COMPAT, soap_fault="wsse:InvalidSecurityToken")
_rule("VIHF-015", V, XDS_REGISTRY_ERROR,
      "Secteur_Activite '{value}' is not valid: {detail}.",
      "Secteur_Activite « {value} » n'est pas valide : {detail}.",
      "Write Secteur_Activite as CODE^1.2.250.1.71.4.2.4 with a code of JDV_J61-HealthcareFacilityTypeCode-DMP "
      "(e.g. SA07^1.2.250.1.71.4.2.4).",
      source=f"{SRC_VIHF} (Secteur_Activite: valeur de JDV_J61-HealthcareFacilityTypeCode-DMP); {SRC_NOS}",
      rem=REM_DMP_COMPAT, soap_fault="wsse:InvalidSecurityToken")
_rule("VIHF-016", V, XDS_REGISTRY_ERROR,
      "The VIHF role is not valid: {detail}.",
      "Le rôle (role) du VIHF n'est pas valide : {detail}.",
      "The first urn:oasis:names:tc:xacml:2.0:subject:role value is an hl7:Role CE with the profession "
      "(e.g. code=\"10\" codeSystem=\"1.2.250.1.71.1.2.7\"); physicians (10) and pharmacists (21) add a second "
      "value with their specialty (e.g. SM26, codeSystem 1.2.250.1.71.4.2.5).",
      source=f"{SRC_VIHF} (role: 1re occurrence obligatoire, 2e obligatoire pour médecins et pharmaciens; "
             "JDV_J65-SubjectRole-DMP)", rem=REM_DMP_COMPAT, soap_fault="wsse:InvalidSecurityToken")
_rule("VIHF-017", V, XDS_REGISTRY_ERROR,
      "The VIHF purpose of use is not valid: {detail}.",
      "Le mode d'accès (purposeofuse) du VIHF n'est pas valide : {detail}.",
      "Send urn:oasis:names:tc:xspa:1.0:subject:purposeofuse as an hl7:PurposeOfUse CE with code=\"normal\" "
      "and codeSystem=\"1.2.250.1.213.1.1.4.248\" for a normal access.",
      source=f"{SRC_VIHF} (purposeofuse: code=normal pour un accès normal)", rem=REM_DMP_COMPAT,
      soap_fault="wsse:InvalidSecurityToken")
_rule("VIHF-018", V, XDS_REGISTRY_ERROR,
      "Identifiant_Structure '{value}' does not match the {what} ('{expected}').",
      "Identifiant_Structure « {value} » ne correspond pas à {what} (« {expected} »).",
      "Use one structure throughout: the TLS client certificate, the VIHF signing certificate (OU), "
      "Identifiant_Structure and the submission's authorInstitution must name the same structure.",
      source=f"{SRC_VIHF} (Identifiant_Structure = Struct_IdNat de la structure; Issuer = DN du certificat)",
      rem=REM_DMP_COMPAT, soap_fault="wsse:FailedAuthentication")
_rule("VIHF-019", V, XDS_PATIENT_MISMATCH,
      "The VIHF resource-id '{vihf}' and the submission's patientId '{metadata}' name different patients.",
      "Le resource-id du VIHF « {vihf} » et le patientId de la soumission « {metadata} » désignent des "
      "patients différents.",
      "Build the VIHF for the patient whose documents you send: resource-id must equal the patientId of the "
      "submission set and of every document entry.",
      source=f"{SRC_VIHF} (resource-id = INS du patient); {SRC_ITI}", rem=REM_DMP_COMPAT)
_rule("VIHF-020", V, XDS_METADATA,
      "authorInstitution '{value}' of {where} is not the VIHF structure '{structure}'.",
      "authorInstitution « {value} » de {where} n'est pas la structure du VIHF « {structure} ».",
      "authorInstitution is an XON whose 10th component is the structure id of Identifiant_Structure, e.g. "
      "NAME^^^^^&1.2.250.1.71.4.2.2&ISO^IDNST^^^<Identifiant_Structure>.",
      source=f"{SRC_VIHF}; {SRC_PDSM} (authorInstitution)", rem=REM_DMP_COMPAT + REM_XDS_METADATA)

# --- the patient ----------------------------------------------------------------------------------
P = "dmp"
_rule("DMP-PAT-001", P, XDS_METADATA,
      "patientId '{value}' of {where} is not an INS written INS^^^&OID&ISO^NH.",
      "Le patientId « {value} » de {where} n'est pas un INS écrit INS^^^&OID&ISO^NH.",
      "Write the patient's INS (15 characters) then ^^^&<INS OID>&ISO^NH, e.g. "
      "279035121518989^^^&1.2.250.1.213.1.4.8&ISO^NH.",
      source=f"{SRC_PDSM} (patientId = matricule INS); {SRC_ITI} (CX)", rem=REM_INS_DIFFUSION + REM_XDS_METADATA)
_rule("DMP-PAT-002", P, XDS_UNKNOWN_PATIENT,
      "patientId '{value}' uses the OID {oid} ({kind}), which this DMP does not accept{mode}.",
      "Le patientId « {value} » utilise l'OID {oid} ({kind}), que ce DMP n'accepte pas{mode}.",
      "Use the NIR OID 1.2.250.1.213.1.4.8 or the NIA OID 1.2.250.1.213.1.4.9 returned by INSi; test OIDs "
      "(1.2.250.1.213.1.4.10/11) are only accepted in test mode.",
      source="ANS Guide d'implémentation de l'INS (OIDs NIR/NIA/test); segur.kernel.ins", rem=REM_INS_DIFFUSION)
_rule("DMP-PAT-003", P, XDS_UNKNOWN_PATIENT,
      "patientId '{value}' is not a valid INS: {detail}.",
      "Le patientId « {value} » n'est pas un INS valide : {detail}.",
      "Send the INS exactly as INSi returned it (13-character NIR/NIA followed by its 2-digit key).",
      source="INSEE NIR key rule (97 - number mod 97, Corsica 2A/2B); segur.kernel.ins", rem=REM_INS_DIFFUSION)
_rule("DMP-PAT-004", P, XDS_UNKNOWN_PATIENT,
      "No patient with INS {ins} is known to this DMP.",
      "Aucun patient d'INS {ins} n'est connu de ce DMP.",
      "Check the INS with INSi (qualified identity) and use a patient of the test world "
      "(`segur world patients`).", source=f"{SRC_ITI} (XDSUnknownPatientId)", rem=REM_INS_DIFFUSION)
_rule("DMP-PAT-005", P, XDS_UNKNOWN_PATIENT,
      "Patient {ins} has {state}; documents cannot be added to it.",
      "Le patient {ins} a {state} ; aucun document ne peut y être ajouté.",
      "Call TD0.2 before sending: it tells whether the DMP exists and is open (NON_EXISTE / closed DMP).",
      source="DMP integration guide: TD0.2 (test d'existence du DMP) before TD2.1 feeding; "
             f"{SRC_ITI} (XDSUnknownPatientId)", rem=("SC.DMP/va1.07", "DMP/CONF.01"))
_rule("DMP-PAT-006", P, XDS_REGISTRY_ERROR,
      "Patient {ins} has opposed professionals' access to their DMP; the submission is refused.",
      "Le patient {ins} s'est opposé à l'accès des professionnels à son DMP ; la soumission est refusée.",
      "Record the patient's opposition in your software and block DMP transactions for this patient.",
      source="REM DMP/CONF.09 (bloquer les transactions d'alimentation en cas d'opposition)", rem=REM_OPPOSITION)
_rule("DMP-PAT-007", P, XDS_REGISTRY_ERROR,
      "The caller {caller} is not authorised on the DMP of patient {ins} (TD0.2 answer: {status}).",
      "L'appelant {caller} n'est pas autorisé sur le DMP du patient {ins} (réponse TD0.2 : {status}).",
      "Call TD0.2 first; INTERDIT means the patient blocked this professional or structure. Where your "
      "profile requires it, set the authorisation with TD0.3.",
      source="DMP integration guide TD0.2/TD0.3 (VALIDE, EXPIRE, INTERDIT, NON_EXISTE); REM DMP/CONF.05 "
             "(no TD0.3 needed for feeding)", rem=("DMP/CONF.05", "DMP/UX.08"))

# --- XDS metadata (structure, formats) --------------------------------------------------------------
X = "xds"
_rule("XDS-001", X, XDS_METADATA,
      "{where} lacks the required metadata '{attribute}'.",
      "{where} ne porte pas la métadonnée obligatoire « {attribute} ».",
      "Add {attribute}: see the 'Mapping XDS' tables of the CI-SIS (required / required if known).",
      source=f"{SRC_ITI}; {SRC_PDSM}", rem=REM_XDS_METADATA)
_rule("XDS-002", X, XDS_PATIENT_MISMATCH,
      "The patientId of {where} ('{value}') differs from the submission set's ('{expected}').",
      "Le patientId de {where} (« {value} ») diffère de celui du lot de soumission (« {expected} »).",
      "Every document entry of a submission must carry the same patientId as the submission set.",
      source=f"{SRC_ITI} (XDSPatientIdDoesNotMatch)", rem=REM_XDS_METADATA)
_rule("XDS-003", X, XDS_MISSING_DOCUMENT,
      "Document entry {entry} has no document attached (no Document element with id '{entry}').",
      "La fiche {entry} n'a pas de document joint (aucun élément Document d'id « {entry} »).",
      "Attach one xds-b:Document per ExtrinsicObject, with the same id, its content in an MTOM part.",
      source=f"{SRC_ITI} (XDSMissingDocument)", rem=REM_XDS_METADATA)
_rule("XDS-004", X, XDS_MISSING_METADATA,
      "A document is attached with id '{entry}' but no ExtrinsicObject describes it.",
      "Un document est joint avec l'id « {entry} » mais aucun ExtrinsicObject ne le décrit.",
      "Give every xds-b:Document the id of its ExtrinsicObject.",
      source=f"{SRC_ITI} (XDSMissingDocumentMetadata)", rem=REM_XDS_METADATA)
_rule("XDS-005", X, XDS_REPOSITORY_METADATA,
      "The hash of {entry} is {value} but the document's SHA-1 is {expected}.",
      "Le hash de {entry} vaut {value} mais le SHA-1 du document est {expected}.",
      "Compute hash as the hexadecimal SHA-1 of the exact bytes sent (or leave it out: the repository fills it).",
      source=f"{SRC_ITI} §4.2.3.2.10 (hash); {SRC_ITI41_HASH}", rem=REM_XDS_METADATA)
_rule("XDS-006", X, XDS_REPOSITORY_METADATA,
      "The size of {entry} is {value} but the document has {expected} bytes.",
      "La taille de {entry} vaut {value} mais le document fait {expected} octets.",
      "Set size to the number of bytes of the document exactly as sent (or leave it out).",
      source=f"{SRC_ITI} §4.2.3.2.19 (size); {SRC_ITI41_HASH}", rem=REM_XDS_METADATA)
_rule("XDS-007", X, XDS_DUPLICATE_IN_MESSAGE,
      "The uniqueId '{value}' is used by more than one object of the submission.",
      "L'uniqueId « {value} » est porté par plusieurs objets de la soumission.",
      "Give each document and the submission set its own uniqueId.",
      source=f"{SRC_ITI} (XDSRegistryDuplicateUniqueIdInMessage)", rem=REM_XDS_METADATA)
_rule("XDS-008", X, XDS_METADATA,
      "{attribute} of {where} is '{value}', not a valid {kind}: {detail}.",
      "{attribute} de {where} vaut « {value} », qui n'est pas un {kind} valide : {detail}.",
      "{fix}", source=f"{SRC_ITI} §4.2.3.1.7 (DTM), §4.2.3.2.26 (uniqueId: OID or OID^extension, ≤ 128)",
      rem=REM_XDS_METADATA)
_rule("XDS-009", X, XDS_METADATA,
      "{attribute} '{value}' of {where} is not a professional identified by the national PS id: {detail}.",
      "{attribute} « {value} » de {where} n'est pas un professionnel identifié par son identifiant national "
      "(IDNPS) : {detail}.",
      "Write an XCN: <8+RPPS>^NAME^Given^^^^^^&1.2.250.1.71.4.2.1&ISO^D^^^IDNPS (identifier type IDNPS "
      "in the 13th component).",
      source=f"{SRC_PDSM}; HL7 v2.5 XCN; ANS Annexe transverse (8 + RPPS, 0 + ADELI, 3 + FINESS/id)",
      rem=REM_XDS_METADATA)
_rule("XDS-010", X, XDS_METADATA,
      "authorInstitution '{value}' of {where} is not a valid XON: {detail}.",
      "authorInstitution « {value} » de {where} n'est pas un XON valide : {detail}.",
      "Write NAME^^^^^&1.2.250.1.71.4.2.2&ISO^IDNST^^^<structure id>.",
      source=f"{SRC_PDSM}; HL7 v2.5 XON", rem=REM_XDS_METADATA)

_rule("XDS-011", X, XDS_METADATA,
      "authorInstitution of {where} ('{value}') is not the submission set's ('{expected}'); the DMP requires "
      "them identical.",
      "authorInstitution de {where} (« {value} ») n'est pas celle du lot de soumission (« {expected} ») ; le DMP "
      "exige qu'elles soient identiques.",
      "Give every document entry the submission set's authorInstitution (the sending structure), not the CDA "
      "author's representedOrganization.",
      source="ANS, 'Mapping XDS' (ansforge/IG-hl7v2-volet-transmission-document-cda-r2, mapping.md, authorInstitution "
             "de la fiche): 'Sur-contrainte par rapport au CI-SIS : l'authorInstitution de la fiche et du lot doivent "
             "être identiques'", rem=REM_XDS_METADATA)

# --- codes in the DMP value sets ---------------------------------------------------------------------
for rule_id, attribute, value_set in (
    ("DMP-CODE-001", "classCode", "JDV_J57-ClassCode-DMP"),
    ("DMP-CODE-002", "typeCode", "JDV_J66-TypeCode-DMP"),
    ("DMP-CODE-003", "formatCode", "JDV_J60-FormatCode-DMP"),
    ("DMP-CODE-004", "healthcareFacilityTypeCode", "JDV_J61-HealthcareFacilityTypeCode-DMP"),
    ("DMP-CODE-005", "practiceSettingCode", "JDV_J62-PracticeSettingCode-DMP"),
    ("DMP-CODE-006", "confidentialityCode", "JDV_J58-ConfidentialityCode-DMP"),
    ("DMP-CODE-007", "contentTypeCode", "JDV_J59-ContentTypeCode-DMP"),
    ("DMP-CODE-008", "availabilityStatus", "JDV_J52-AvailabilityStatus-CISIS"),
):
    _rule(rule_id, P, XDS_METADATA,
          f"{attribute} {{code}} ({{system}}) of {{where}} is not in {value_set}{{basis}}.",
          f"{attribute} {{code}} ({{system}}) de {{where}} n'appartient pas à {value_set}{{basis}}.",
          f"Use a code of {value_set} with its own codingScheme ({{hint_detail}}).",
          source=f"{SRC_PDSM} ({attribute}: {value_set}); {SRC_NOS}",
          rem=REM_XDS_METADATA + (REM_CONFIDENTIALITY if attribute == "confidentialityCode" else ()))
_rule("DMP-CODE-009", P, XDS_METADATA,
      "confidentialityCode of {where} has no HL7 confidentiality level (N, R or V from 2.16.840.1.113883.5.25).",
      "confidentialityCode de {where} ne porte pas de niveau de confidentialité HL7 (N, R ou V de "
      "2.16.840.1.113883.5.25).",
      "Send the CDA confidentialityCode first (N normally); MASQUE_PS, INVISIBLE_PATIENT and "
      "INVISIBLE_REPRESENTANTS_LEGAUX (1.2.250.1.213.1.1.4.13) are added to it, never instead of it.",
      source=f"{SRC_PDSM} (confidentialityCode: première occurrence = CDA confidentialityCode)",
      rem=REM_XDS_METADATA + REM_CONFIDENTIALITY)

# --- consistency between the metadata and the CDA document ---------------------------------------------
C = "dmp"
_rule("DMP-CDA-001", C, XDS_REPOSITORY_ERROR,
      "Document {entry} is not a CDA R2 document: {detail}.",
      "Le document {entry} n'est pas un document CDA R2 : {detail}.",
      "Send the CDA R2 XML (root element ClinicalDocument in urn:hl7-org:v3), N1 or N3, with mimeType text/xml.",
      source=f"{SRC_PDSM} (mimeType text/xml pour un document CDA)", rem=REM_XDS_METADATA)
_rule("DMP-CDA-002", C, XDS_METADATA,
      "typeCode of {entry} is {value} but the CDA code is {expected}.",
      "Le typeCode de {entry} vaut {value} mais le code du CDA est {expected}.",
      "typeCode = ClinicalDocument/code (code and codeSystem).",
      source=f"{SRC_PDSM} (typeCode: CDA code@code)", rem=REM_XDS_METADATA)
_rule("DMP-CDA-003", C, XDS_METADATA,
      "classCode of {entry} is {value} but type {type_code} belongs to class {expected} (ASS_X04).",
      "Le classCode de {entry} vaut {value} mais le type {type_code} relève de la classe {expected} (ASS_X04).",
      "Derive classCode from typeCode with the NOS table ASS_X04-CorrespondanceType-Classe.",
      source=f"{SRC_PDSM} (classCode déduit du CDA selon ASS_X04); {SRC_NOS}", rem=REM_XDS_METADATA)
_rule("DMP-CDA-004", C, XDS_PATIENT_MISMATCH,
      "patientId of {entry} is {value} but the CDA's patient INS is {expected}.",
      "Le patientId de {entry} vaut {value} mais l'INS du patient dans le CDA est {expected}.",
      "The document must be about the patient of the submission: recordTarget/patientRole/id (INS OID) = "
      "patientId.", source=f"{SRC_PDSM}; {SRC_ITI} (XDSPatientIdDoesNotMatch)",
      rem=REM_XDS_METADATA + REM_INS_DIFFUSION)
_rule("DMP-CDA-005", C, XDS_METADATA,
      "uniqueId of {entry} is {value} but the CDA id gives {expected}.",
      "L'uniqueId de {entry} vaut {value} mais l'id du CDA donne {expected}.",
      "uniqueId = ClinicalDocument/id: its root alone, or root^extension when the id has an extension.",
      source=f"{SRC_PDSM} (uniqueId: CDA id@root)", rem=REM_XDS_METADATA)
_rule("DMP-CDA-006", C, XDS_METADATA,
      "creationTime of {entry} is {value} but the CDA effectiveTime {cda} is {expected} in UTC.",
      "Le creationTime de {entry} vaut {value} mais l'effectiveTime du CDA {cda} vaut {expected} en UTC.",
      "creationTime = ClinicalDocument/effectiveTime converted to UTC (XDS times are UTC, the CDA's carry an "
      "offset such as +0100).", source=f"{SRC_PDSM} (creationTime: CDA effectiveTime@value); {SRC_ITI} (DTM UTC)",
      rem=REM_XDS_METADATA)
_rule("DMP-CDA-007", C, XDS_METADATA,
      "legalAuthenticator of {entry} is {value} but the CDA legalAuthenticator is {expected}.",
      "Le legalAuthenticator de {entry} vaut {value} mais le legalAuthenticator du CDA est {expected}.",
      "legalAuthenticator = CDA legalAuthenticator/assignedEntity (its id in the first XCN component).",
      source=f"{SRC_PDSM} (legalAuthenticator)", rem=REM_XDS_METADATA)
_rule("DMP-CDA-008", C, XDS_METADATA,
      "authorPerson {value} of {entry} is not an author of the CDA (authors: {expected}).",
      "L'authorPerson {value} de {entry} n'est pas un auteur du CDA (auteurs : {expected}).",
      "authorPerson = CDA author/assignedAuthor (its id in the first XCN component).",
      source=f"{SRC_PDSM} (authorPerson: CDA author/assignedAuthor)", rem=REM_XDS_METADATA)
_rule("DMP-CDA-009", C, XDS_METADATA,
      "formatCode of {entry} is {value} but this {level} document calls for {expected} ({why}).",
      "Le formatCode de {entry} vaut {value} mais ce document {level} appelle {expected} ({why}).",
      "For a CDA N1 use the xds-sd code of its embedded file type (urn:ihe:iti:xds-sd:pdf:2008 for a PDF); "
      "for a CDA N3 use the formatCode ASS_A11 gives for its content-model templateId.",
      source=f"{SRC_PDSM} (formatCode: N1 => application/pdf, N3 => ASS_A11); {SRC_NOS}", rem=REM_XDS_METADATA)
_rule("DMP-CDA-010", C, XDS_METADATA,
      "confidentialityCode of {entry} does not include the CDA confidentialityCode {expected}.",
      "Le confidentialityCode de {entry} ne reprend pas le confidentialityCode du CDA {expected}.",
      "The first confidentialityCode of the entry is the CDA's (ClinicalDocument/confidentialityCode).",
      source=f"{SRC_PDSM} (confidentialityCode: première occurrence du CDA)", rem=REM_XDS_METADATA + REM_CONFIDENTIALITY)
_rule("DMP-CDA-011", C, XDS_METADATA,
      "mimeType of {entry} is '{value}'; a CDA document is sent as text/xml.",
      "Le mimeType de {entry} vaut « {value} » ; un document CDA est envoyé en text/xml.",
      "Set ExtrinsicObject/@mimeType to text/xml.",
      source=f"{SRC_PDSM} (mimeType: text/xml pour un document CDA)", rem=REM_XDS_METADATA)
_rule("DMP-CDA-012", C, XDS_REPOSITORY_ERROR,
      "Document {entry} does not pass the CDA validation ({count} error(s)); see the validator's findings.",
      "Le document {entry} ne passe pas la validation CDA ({count} erreur(s)) ; voir les constats du validateur.",
      "Fix the document with `segur validate` (XSD, CI-SIS Schematron packs, Ségur rules) before sending it.",
      source="CI-SIS CDA packs (ansforge/TestContenuCDA-3-0); segur.validators", rem=REM_XDS_METADATA)

_rule("DMP-CDA-013", C, XDS_METADATA,
      "sourcePatientInfo {field} of {entry} is '{value}' but the CDA's recordTarget gives {expected}.",
      "Le sourcePatientInfo {field} de {entry} vaut « {value} » mais le recordTarget du CDA donne {expected}.",
      "sourcePatientInfo describes the document's patient as the CDA does: PID-3 its ids (the INS = "
      "patientId), PID-5 FAMILY^GIVEN^^^^^L from recordTarget/patientRole/patient/name, PID-7 the birthTime "
      "as YYYYMMDD, PID-8 the administrativeGenderCode.",
      source=f"{SRC_PDSM} (sourcePatientInfo: PID-3, PID-5, PID-7, PID-8 of the recordTarget); {SRC_ITI} "
             "§4.2.3.2.23 (sourcePatientInfo)", rem=REM_XDS_METADATA + REM_INS_DIFFUSION)

# --- visibility: who will not see the stored document --------------------------------------------------
_rule("DMP-CONF-001", C, XDS_METADATA,
      "{entry} is stored with confidentialityCode {code}: the document is {effect}.",
      "{entry} est enregistré avec le confidentialityCode {code} : le document est {effect_fr}.",
      "Legitimate when chosen on purpose (the DMP's visibility cycle); check the code was the user's choice "
      "and not a default, and that the patient is told when the reason disappears.",
      source=f"{SRC_PDSM} (confidentialityCode 1.2.250.1.213.1.1.4.13); DMP integration guide 'Service DMP "
             "intégré aux LPS' §2.4.4 (cycle de visibilité d'un document), as REM LGC.DMP.02 cites it",
      rem=REM_XDS_METADATA + REM_CONFIDENTIALITY, severity=Severity.WARNING)

rules.register(*_CATALOGUE.values())

CATALOGUE: dict[str, Rule] = dict(_CATALOGUE)


def fire(rule_id: str, *, location: str | None = None, severity: Severity | None = None, **context) -> Finding:
    """A finding of one of this catalogue's rules, carrying its XDS code (and fault code) in `extra`."""
    rule = CATALOGUE[rule_id]
    finding = rule.finding(severity=severity, location=location, **context)
    params = {k: str(v) for k, v in context.items()}
    return replace(finding, extra={**rule.extra, "params": params})


def xds_code_of(finding: Finding, default: str = XDS_REPOSITORY_ERROR) -> str:
    """The XDS error code for any finding (a DMP rule's own, else `default`, e.g. for validator findings)."""
    return finding.extra.get("xds_code") or (CATALOGUE[finding.rule].extra["xds_code"]
                                             if finding.rule in CATALOGUE else default)
