"""Every check the MSSanté mock applies, with a stable id (``MSS-…``), a message in English and
French, a fix hint, the SMTP reply it causes (when it causes one) and its source.

Sources (cited by short name below; details in docs/mssante.md):
- REM: the Ségur REM socle requirements ``SC.MSS/CONF.NN`` (../shared/rem/requirements.csv, from
  ANS's ansforge/segur-squash-plugins), which quote the ANS "Référentiel socle MSSanté #2 — Clients
  de messageries sécurisées de santé" (its exigences ECO.2.1.3, ECO.2.4.1/2…).
- IG-MSS: ANS CI-SIS "Volet transmission de documents CDA par courriel MSSanté" (repository
  ansforge/IG-hl7v2-volet-trans-lps-doc-cda-courriel-mss, pages struct-msg-mdn.md and
  struct-email-standard.md): subject format, MDN structure.
- ITI-32: IHE ITI Technical Framework vol. 2 §3.32 "Distribute Document Set on Media"
  (profiles.ihe.net/ITI/TF/Volume2/ITI-32.html; Gazelle assertions ITI32-003…008): README.TXT and
  INDEX.HTM at the root, an IHE_XDM directory with one sub-directory per submission set, each
  holding METADATA.XML and the documents. ITI TF-3 §4 for the metadata (hash SHA-1, size,
  uniqueId, patientId, typeCode).
- RFC 5321 (SMTP), 3207 (STARTTLS), 4954 (AUTH), 1870 (SIZE), 3463 (enhanced status codes),
  3461/3464 (DSN), 6522 (multipart/report), 8098 (MDN).
"""

from __future__ import annotations

from segur.kernel import rules
from segur.kernel.findings import Severity
from segur.kernel.rules import Rule

REM = "SC.MSS/CONF"
_REF2 = "Référentiel socle MSSanté #2 (via REM {rem})"


def _rule(rule_id: str, layer: str, en: str, fr: str, hint: str, source: str, rem: tuple[str, ...] = (),
          smtp: str | None = None, severity: Severity = Severity.ERROR) -> Rule:
    extra = {"smtp_reply": smtp} if smtp else {}
    return Rule(rule_id, layer, en, fr, hint=hint, severity=severity, rem=rem, source=source, extra=extra)


SMTP_RULES = (
    _rule("MSS-TLS-REQUIRED", "smtp",
          "Command {command} sent before STARTTLS; the MSSanté space only talks over TLS.",
          "Commande {command} envoyée avant STARTTLS ; l'espace MSSanté n'échange que sous TLS.",
          "Send EHLO, then STARTTLS, then EHLO again before AUTH/MAIL.",
          "RFC 3207 §4; REM SC.MSS/CONF.05 and .07 (open the TLS session with STARTTLS first)",
          ("SC.MSS/CONF.05", "SC.MSS/CONF.07"), smtp="530 5.7.0"),
    _rule("MSS-AUTH-TLS", "smtp",
          "AUTH attempted before TLS: credentials must never travel in clear.",
          "AUTH tenté avant TLS : les identifiants ne doivent jamais circuler en clair.",
          "Issue STARTTLS (and EHLO again) before AUTH.",
          "RFC 4954 §4 (538 5.7.11); REM SC.MSS/CONF.07", ("SC.MSS/CONF.07",), smtp="538 5.7.11"),
    _rule("MSS-AUTH-FAILED", "smtp",
          "Authentication failed for '{login}': unknown or closed mailbox, or wrong password/token.",
          "Échec d'authentification pour « {login} » : BAL inconnue ou fermée, ou mot de passe/jeton erroné.",
          "Log in with the mailbox address and its password (see docs/mssante.md, 'Credentials').",
          "RFC 4954 §6 (535 5.7.8)", ("SC.MSS/CONF.07", "SC.MSS/CONF.12"), smtp="535 5.7.8"),
    _rule("MSS-AUTH-REQUIRED", "smtp",
          "MAIL FROM sent without authenticating: submission needs an authenticated mailbox.",
          "MAIL FROM envoyé sans authentification : la soumission exige une BAL authentifiée.",
          "Authenticate (AUTH PLAIN/LOGIN/XOAUTH2) after STARTTLS, then send MAIL FROM.",
          "RFC 4954 §6 (530 5.7.0); REM SC.MSS/CONF.07/.12", ("SC.MSS/CONF.07", "SC.MSS/CONF.12"),
          smtp="530 5.7.0"),
    _rule("MSS-SENDER-NOT-OWNED", "smtp",
          "Envelope sender <{sender}> is not the authenticated mailbox <{login}>.",
          "L'expéditeur d'enveloppe <{sender}> n'est pas la BAL authentifiée <{login}>.",
          "Send MAIL FROM with the address of the mailbox you authenticated as.",
          "RFC 5321 §3.3, RFC 3463 X.7.1 (sender not authorized)", smtp="553 5.7.1"),
    _rule("MSS-RCPT-OUTSIDE", "smtp",
          "Recipient <{recipient}> is outside the MSSanté trust space (domain not under mssante.fr).",
          "Le destinataire <{recipient}> est hors de l'espace de confiance MSSanté (domaine hors mssante.fr).",
          "MSSanté delivers only to mailboxes of the trust space; look the address up in the Annuaire santé.",
          "ANS, espace de confiance MSSanté (operator domains under mssante.fr); RFC 3463 X.7.1",
          smtp="550 5.7.1"),
    _rule("MSS-RCPT-UNKNOWN", "smtp",
          "Recipient <{recipient}> does not exist.",
          "Le destinataire <{recipient}> n'existe pas.",
          "Check the address in the Annuaire santé (the mock serves the world's mailboxes only).",
          "RFC 5321 §3.3 (550), RFC 3463 X.1.1 (bad destination mailbox address)", smtp="550 5.1.1"),
    _rule("MSS-RCPT-CLOSED", "smtp",
          "Recipient mailbox <{recipient}> is closed and no longer receives messages.",
          "La BAL destinataire <{recipient}> est fermée et ne reçoit plus de messages.",
          "Use another mailbox of the professional or organisation (Annuaire santé).",
          "RFC 3463 X.2.1 (mailbox disabled, not accepting messages)", smtp="550 5.2.1"),
    _rule("MSS-RCPT-CITIZEN-SYNTAX", "smtp",
          "Citizen address <{recipient}>: the part before @patient.mssante.fr is not a 15-character INS "
          "with a correct key ({problem}).",
          "Adresse citoyenne <{recipient}> : la partie avant @patient.mssante.fr n'est pas un INS de 15 "
          "caractères avec une clé correcte ({problem}).",
          "The Mon espace santé address is the patient's INS (NIR/NIA + key) @patient.mssante.fr; take it "
          "from the INSi answer, never type it.",
          "Mon espace santé citizen addressing <INS>@patient.mssante.fr; RFC 3463 X.1.3", smtp="550 5.1.3"),
    _rule("MSS-RCPT-PATIENT-UNKNOWN", "smtp",
          "No patient with INS {ins} has a Mon espace santé mailbox <{recipient}>.",
          "Aucun patient d'INS {ins} n'a de messagerie Mon espace santé <{recipient}>.",
          "Use the qualified INS returned by INSi for this patient.",
          "Mon espace santé citizen addressing; RFC 3463 X.1.1", smtp="550 5.1.1"),
    _rule("MSS-RCPT-CITIZEN-REFUSED", "smtp",
          "The patient of <{recipient}> refused MSSanté messages in Mon espace santé.",
          "Le patient de <{recipient}> a refusé les messages MSSanté dans Mon espace santé.",
          "Give the document to the patient another way; do not retry.",
          "Mon espace santé (the citizen may close or refuse the messaging service); RFC 3463 X.7.1",
          smtp="550 5.7.1"),
    _rule("MSS-SIZE", "smtp",
          "Message of {size} bytes exceeds the {limit}-byte limit.",
          "Message de {size} octets au-delà de la limite de {limit} octets.",
          "Send fewer or smaller documents per message; the limit is advertised by EHLO (SIZE).",
          "RFC 1870 (SIZE, 552), RFC 3463 X.3.4; limit 25 MB per issue 6 (configurable)", smtp="552 5.3.4"),
    _rule("MSS-TOO-MANY-RECIPIENTS", "smtp",
          "More than {limit} recipients in one message.",
          "Plus de {limit} destinataires dans un même message.",
          "Split the sending.", "RFC 5321 §4.5.3.1.8 (452 too many recipients)", smtp="452 4.5.3"),
)

MESSAGE_RULES = (
    _rule("MSS-MIME-MALFORMED", "mime",
          "The message is not well-formed MIME: {detail}.",
          "Le message n'est pas un MIME bien formé : {detail}.",
          "Build the message with a MIME library (multipart/mixed with a boundary, base64 attachments).",
          "RFC 5322, RFC 2045/2046"),
    _rule("MSS-FROM-MISMATCH", "mss",
          "Header From <{from_}> is not the authenticated mailbox <{login}>.",
          "L'en-tête From <{from_}> n'est pas la BAL authentifiée <{login}>.",
          "Set From to the sending mailbox address.", "RFC 5322 §3.6.2; MSSanté operators' submission policy"),
    _rule("MSS-NIL-MISSING", "mss",
          "Header X-MSS-NIL is missing; it must be on every message.",
          "L'en-tête X-MSS-NIL est absent ; il doit figurer sur tout message.",
          "Add 'X-MSS-NIL: <your product reference number from convergence.esante.gouv.fr>'.",
          _REF2.format(rem="SC.MSS/CONF.16"), ("SC.MSS/CONF.16",)),
    _rule("MSS-NIL-FORMAT", "mss",
          "Header X-MSS-NIL is '{value}'; it must be the product's reference number (an integer, digits only).",
          "L'en-tête X-MSS-NIL vaut « {value} » ; il doit être le numéro « référence » du produit (un entier, "
          "chiffres seuls).",
          "Use the 'référence' number given when the product was declared on convergence.esante.gouv.fr "
          "(4 digits when the REM was published, more as the numbering grows).",
          _REF2.format(rem="SC.MSS/CONF.16"), ("SC.MSS/CONF.16",)),
    _rule("MSS-INS-HEADER-MISSING", "mss",
          "Header X-MSS-INS is missing although the message carries a CDA in an IHE_XDM archive.",
          "L'en-tête X-MSS-INS est absent alors que le message porte un CDA dans une archive IHE_XDM.",
          "Add 'X-MSS-INS: O' when the CDA carries a qualified INS, 'X-MSS-INS: N' otherwise.",
          _REF2.format(rem="SC.MSS/CONF.14") + " (ECO.2.4.2)", ("SC.MSS/CONF.14",)),
    _rule("MSS-INS-HEADER-VALUE", "mss",
          "Header X-MSS-INS is '{value}' but the archive {has} a qualified INS (expected '{expected}').",
          "L'en-tête X-MSS-INS vaut « {value} » mais l'archive {has_fr} d'INS qualifié (attendu « {expected} »).",
          "'O' only when every CDA has the INS (matricule + OID) and the 4 traits: birth name, first given "
          "name, birth date, sex; 'N' otherwise.",
          _REF2.format(rem="SC.MSS/CONF.14"), ("SC.MSS/CONF.14",)),
    _rule("MSS-INS-HEADER-UNEXPECTED", "mss",
          "Header X-MSS-INS is set but the message carries no CDA in an IHE_XDM archive.",
          "L'en-tête X-MSS-INS est positionné alors que le message ne porte aucun CDA dans une archive IHE_XDM.",
          "Leave X-MSS-INS out of messages without an IHE_XDM.ZIP attachment.",
          _REF2.format(rem="SC.MSS/CONF.14"), ("SC.MSS/CONF.14",)),
    _rule("MSS-INS-HEADER-UNCHECKED", "mss",
          "Header X-MSS-INS ('{value}') could not be checked: IHE_XDM.ZIP gave no CDA to compare it with ({why}).",
          "L'en-tête X-MSS-INS (« {value} ») n'a pas pu être vérifié : IHE_XDM.ZIP n'a livré aucun CDA auquel le "
          "comparer ({why}).",
          "Fix the archive first (see the MSS-XDM-* finding); the header is checked once the CDA can be read.",
          _REF2.format(rem="SC.MSS/CONF.14"), ("SC.MSS/CONF.14",), severity=Severity.WARNING),
    _rule("MSS-CODECDA-MISSING", "mss",
          "Header X-MSS-CODECDA is missing for the CDA code(s) {codes}.",
          "L'en-tête X-MSS-CODECDA est absent pour le(s) code(s) CDA {codes}.",
          "Add 'X-MSS-CODECDA: <ClinicalDocument/code/@code>' (one value per CDA).",
          _REF2.format(rem="SC.MSS/CONF.15") + " (ECO.2.4.1)", ("SC.MSS/CONF.15",)),
    _rule("MSS-CODECDA-MISMATCH", "mss",
          "Header X-MSS-CODECDA says {header} but the CDA documents have the code(s) {codes}.",
          "L'en-tête X-MSS-CODECDA indique {header} mais les documents CDA ont le(s) code(s) {codes}.",
          "Give exactly the ClinicalDocument/code/@code of each CDA in the archive.",
          _REF2.format(rem="SC.MSS/CONF.15"), ("SC.MSS/CONF.15",)),
    _rule("MSS-CODECDA-UNEXPECTED", "mss",
          "Header X-MSS-CODECDA is set but the message carries no CDA in an IHE_XDM archive.",
          "L'en-tête X-MSS-CODECDA est positionné alors que le message ne porte aucun CDA dans une archive "
          "IHE_XDM.", "Leave X-MSS-CODECDA out of messages without an IHE_XDM.ZIP attachment.",
          _REF2.format(rem="SC.MSS/CONF.15"), ("SC.MSS/CONF.15",)),
    _rule("MSS-CODECDA-UNCHECKED", "mss",
          "Header X-MSS-CODECDA ('{value}') could not be checked: IHE_XDM.ZIP gave no CDA to compare it with "
          "({why}).",
          "L'en-tête X-MSS-CODECDA (« {value} ») n'a pas pu être vérifié : IHE_XDM.ZIP n'a livré aucun CDA "
          "auquel le comparer ({why}).",
          "Fix the archive first (see the MSS-XDM-* finding); the header is checked once the CDA can be read.",
          _REF2.format(rem="SC.MSS/CONF.15"), ("SC.MSS/CONF.15",), severity=Severity.WARNING),
    _rule("MSS-MES-VALUE", "mss",
          "Header X-MSS-MES is '{value}'; the only value is 'FIN' (3 capital letters).",
          "L'en-tête X-MSS-MES vaut « {value} » ; la seule valeur est « FIN » (3 majuscules).",
          "Write 'X-MSS-MES: FIN' to stop the patient from replying, or leave the header out.",
          _REF2.format(rem="SC.MSS/CONF.21"), ("SC.MSS/CONF.21",)),
    _rule("MSS-MES-NOT-CITIZEN", "mss",
          "Header X-MSS-MES is meant for messages to a patient (Mon espace santé), and no recipient is one.",
          "L'en-tête X-MSS-MES est destiné aux messages vers un usager (Mon espace santé), or aucun "
          "destinataire n'en est un.", "Set X-MSS-MES only on messages to <INS>@patient.mssante.fr.",
          _REF2.format(rem="SC.MSS/CONF.21"), ("SC.MSS/CONF.21",), severity=Severity.WARNING),
    _rule("MSS-SUBJECT-FORMAT", "mss",
          "Subject '{subject}' does not follow 'XDM/1.0/DDM+<libellé> <NOM> <prénom> [<date de naissance>]'.",
          "L'objet « {subject} » ne respecte pas « XDM/1.0/DDM+<libellé> <NOM> <prénom> [<date de naissance>] ».",
          "Example: 'XDM/1.0/DDM+CR d'imagerie médicale PAT-TROIS DOMINIQUE 28/03/1979'.",
          _REF2.format(rem="SC.MSS/CONF.25") + " (ECO.2.1.3); IG-MSS struct-msg-mdn (example subject)",
          ("SC.MSS/CONF.25",)),
    _rule("MSS-SUBJECT-PATIENT", "mss",
          "Subject '{subject}' does not name the patient of the documents ({expected}).",
          "L'objet « {subject} » ne nomme pas le patient des documents ({expected}).",
          "Put the patient's birth name then first given name (and optionally birth date DD/MM/YYYY).",
          _REF2.format(rem="SC.MSS/CONF.25"), ("SC.MSS/CONF.25",)),
    _rule("MSS-XDM-MISSING", "mss",
          "The message carries a health document ({what}) without an IHE_XDM.ZIP archive.",
          "Le message porte un document de santé ({what}) sans archive IHE_XDM.ZIP.",
          "Attach the CDA inside an IHE XDM zip named IHE_XDM.ZIP (see segur.mocks.mssante.xdm.build_xdm).",
          _REF2.format(rem="SC.MSS/CONF.23"), ("SC.MSS/CONF.23",)),
    _rule("MSS-XDM-NAME", "mss",
          "The zip attachment is named '{name}'; it must be IHE_XDM.ZIP.",
          "La pièce jointe zip s'appelle « {name} » ; elle doit s'appeler IHE_XDM.ZIP.",
          "Name the attachment IHE_XDM.ZIP (Content-Disposition filename).",
          _REF2.format(rem="SC.MSS/CONF.23/.24"), ("SC.MSS/CONF.23", "SC.MSS/CONF.24")),
    _rule("MSS-XDM-SEVERAL", "mss",
          "The message has {count} IHE_XDM archives; one message carries one archive for one patient.",
          "Le message porte {count} archives IHE_XDM ; un message porte une archive pour un seul usager.",
          "Send one message per patient with one IHE_XDM.ZIP.", _REF2.format(rem="SC.MSS/CONF.23"),
          ("SC.MSS/CONF.23",)),
    _rule("MSS-PDF-MISSING", "mss",
          "The message carries CDA documents but no PDF copy of them.",
          "Le message porte des documents CDA mais aucune copie PDF de ceux-ci.",
          "Attach the same documents as PDF/A-1 next to IHE_XDM.ZIP.",
          _REF2.format(rem="SC.MSS/CONF.23"), ("SC.MSS/CONF.23",)),
    _rule("MSS-ONE-PATIENT", "mss",
          "The message concerns {count} patients ({patients}); a message concerns one patient only.",
          "Le message concerne {count} usagers ({patients}) ; un message ne concerne qu'un seul usager.",
          "Send one message per patient.", _REF2.format(rem="SC.MSS/CONF.23"), ("SC.MSS/CONF.23",)),
    _rule("MSS-CITIZEN-OTHER-PATIENT", "mss",
          "Message to the Mon espace santé mailbox of INS {ins} carries documents of INS {other}.",
          "Message vers la messagerie Mon espace santé de l'INS {ins} portant des documents de l'INS {other}.",
          "A patient's mailbox receives only that patient's documents: check the recipient and the INS.",
          "Mon espace santé citizen mailbox rule (issue 6 §2); REM SC.MSS/CONF.23/.24",
          ("SC.MSS/CONF.23", "SC.MSS/CONF.24")),
    _rule("MSS-PDF-NOT-IDENTICAL", "mss",
          "The PDF attached to the message ({attached}) is not byte-identical to the PDF the CDA {uri} embeds "
          "(SHA-1 {embedded}).",
          "Le PDF joint au message ({attached}) n'est pas identique octet pour octet au PDF que le CDA {uri} "
          "embarque (SHA-1 {embedded}).",
          "Attach the very PDF/A-1 file the CDA embeds (N1: nonXMLBody/text; N3: the PDF copy's "
          "observationMedia), not another rendering: the recipient must read the same document either way.",
          _REF2.format(rem="SC.MSS/CONF.23 (the same documents as PDF/A-1) and SC.MSS/CONF.26 (the PDF generated "
                       "from the CDA; 'Obsolète' in the 2023-02 arbitrage)"),
          ("SC.MSS/CONF.23", "SC.MSS/CONF.26"), severity=Severity.WARNING),
    _rule("MSS-UNIQUEID-REUSED", "mss",
          "Document uniqueId {unique_id} was already sent in message {first} with {what}; one uniqueId names "
          "one document.",
          "L'identifiant unique de document {unique_id} a déjà été envoyé dans le message {first} avec {what_fr} ; "
          "un uniqueId désigne un seul document.",
          "Give every new document (and every new version) its own ClinicalDocument/id; resend a document only "
          "unchanged and for the same patient. The DMP refuses this (XDS-41-008, XDSNonIdenticalHash); MSSanté "
          "delivers it and the recipient's system is left with two documents under one id.",
          "ITI TF-3 §4.2.3.2 (DocumentEntry.uniqueId: globally unique); CI-SIS (uniqueId = ClinicalDocument/id); "
          "the DMP mock's XDS-41-008", ("SC.MSS/CONF.23",)),
    _rule("MSS-CDA-INVALID", "cda",
          "CDA document {uri} fails validation: {errors} error(s), first: {first}.",
          "Le document CDA {uri} échoue à la validation : {errors} erreur(s), première : {first}.",
          "Run 'segur validate' on the document for the full report with line numbers.",
          "CI-SIS (CDA R2 XSD, Schematron) via segur.validators", ("SC.MSS/CONF.23",)),
    _rule("MSS-CDA-NOT-VALIDATED", "cda",
          "CDA document {uri} could not be validated: {reason}.",
          "Le document CDA {uri} n'a pas pu être validé : {reason}.",
          "Check the validator configuration (pack path, SEGUR_PACK).", "segur.validators",
          severity=Severity.WARNING),
)

XDM_RULES = (
    _rule("MSS-XDM-NOT-ZIP", "xdm",
          "IHE_XDM.ZIP is not a readable zip archive: {detail}.",
          "IHE_XDM.ZIP n'est pas une archive zip lisible : {detail}.",
          "Build the archive with a zip library (deflate or store), not encrypted.", "ITI-32 §3.32.4.1 (ZIP)"),
    _rule("MSS-XDM-ENCRYPTED", "xdm",
          "IHE_XDM.ZIP entry '{name}' is encrypted; the recipient cannot read it.",
          "L'entrée « {name} » de IHE_XDM.ZIP est chiffrée ; le destinataire ne peut pas la lire.",
          "Do not encrypt the zip: MSSanté already protects the transport.", "ITI-32 §3.32.4.1"),
    _rule("MSS-XDM-BOMB", "xdm",
          "IHE_XDM.ZIP was not extracted: {detail} (zip bomb protection).",
          "IHE_XDM.ZIP n'a pas été extraite : {detail} (protection contre les bombes zip).",
          "Keep the archive under the limits (see docs/mssante.md); compressed documents do not inflate "
          "more than 200 times.", "project policy (OWASP file upload cheat sheet: decompression limits)"),
    _rule("MSS-XDM-PATH", "xdm",
          "IHE_XDM.ZIP entry name '{name}' is unsafe ({detail}); it was ignored.",
          "Le nom d'entrée « {name} » de IHE_XDM.ZIP est dangereux ({detail}) ; il a été ignoré.",
          "Use relative names such as IHE_XDM/SUBSET01/DOC0001.XML (no '..', no leading '/', no drive).",
          "ITI-32 §3.32.4.1.2 (file names); 'zip slip' path traversal"),
    _rule("MSS-XDM-DUPLICATE", "xdm",
          "IHE_XDM.ZIP holds the entry '{name}' {count} times.",
          "IHE_XDM.ZIP contient l'entrée « {name} » {count} fois.",
          "Write each file once.", "ITI-32 §3.32.4.1.2"),
    _rule("MSS-XDM-README", "xdm",
          "IHE_XDM.ZIP has no README.TXT at its root.",
          "IHE_XDM.ZIP n'a pas de README.TXT à sa racine.",
          "Add README.TXT (who made the media and how to read it).", "ITI-32 §3.32.4.1.2 (ITI32-005)"),
    _rule("MSS-XDM-INDEX", "xdm",
          "IHE_XDM.ZIP has no INDEX.HTM at its root.",
          "IHE_XDM.ZIP n'a pas de INDEX.HTM à sa racine.",
          "Add INDEX.HTM listing the documents with links.", "ITI-32 §3.32.4.1.2 (ITI32-005)"),
    _rule("MSS-XDM-NO-SUBSET", "xdm",
          "IHE_XDM.ZIP has no IHE_XDM/<subset>/METADATA.XML.",
          "IHE_XDM.ZIP n'a pas de IHE_XDM/<sous-ensemble>/METADATA.XML.",
          "Put the metadata at IHE_XDM/SUBSET01/METADATA.XML next to the documents.",
          "ITI-32 §3.32.4.1.2 (ITI32-004, -007, -008)"),
    _rule("MSS-XDM-METADATA", "xdm",
          "{path} cannot be read as XDS metadata: {detail}.",
          "{path} ne peut pas être lu comme des métadonnées XDS : {detail}.",
          "METADATA.XML is an ebRIM SubmitObjectsRequest with one ExtrinsicObject per document.",
          "ITI-32 §3.32.4.1.2; ITI TF-3 §4.2"),
    _rule("MSS-XDM-DOC-MISSING", "xdm",
          "METADATA.XML lists the document '{uri}' which is not in the archive.",
          "METADATA.XML référence le document « {uri} » absent de l'archive.",
          "The URI slot of each document entry is the file name in the same subset directory.",
          "ITI-32 §3.32.4.1.2 (URI slot)"),
    _rule("MSS-XDM-NO-DOCUMENT", "xdm",
          "IHE_XDM.ZIP describes no document.",
          "IHE_XDM.ZIP ne décrit aucun document.",
          "Add the CDA and its ExtrinsicObject in METADATA.XML.", "ITI-32 §3.32.4.1.2"),
    _rule("MSS-XDM-HASH", "xdm",
          "Document {uri}: METADATA.XML hash {declared} but the file's SHA-1 is {actual}.",
          "Document {uri} : le hash de METADATA.XML vaut {declared} mais le SHA-1 du fichier est {actual}.",
          "Compute the SHA-1 of the exact bytes written in the zip (hex).", "ITI TF-3 §4.2.3.2 (hash)"),
    _rule("MSS-XDM-SIZE", "xdm",
          "Document {uri}: METADATA.XML size {declared} but the file has {actual} bytes.",
          "Document {uri} : la taille de METADATA.XML vaut {declared} mais le fichier fait {actual} octets.",
          "Write the byte size of the exact file in the zip.", "ITI TF-3 §4.2.3.2 (size)"),
    _rule("MSS-XDM-UNIQUEID", "xdm",
          "Document {uri}: METADATA.XML uniqueId {declared} differs from the CDA id {actual}.",
          "Document {uri} : l'uniqueId de METADATA.XML {declared} diffère de l'id du CDA {actual}.",
          "uniqueId is ClinicalDocument/id as root^extension (root alone when there is no extension).",
          "ITI TF-3 §4.2.3.2 (uniqueId); CI-SIS lien entête CDA / métadonnées XDS"),
    _rule("MSS-XDM-PATIENT", "xdm",
          "Document {uri}: METADATA.XML patientId {declared} differs from the CDA patient INS {actual}.",
          "Document {uri} : le patientId de METADATA.XML {declared} diffère de l'INS du patient du CDA {actual}.",
          "patientId is INS^^^&OID&ISO^NH, the INS of recordTarget/patientRole/id.",
          _REF2.format(rem="SC.MSS/CONF.24") + "; ITI TF-3 §4.2.3.2 (patientId)", ("SC.MSS/CONF.24",)),
    _rule("MSS-XDM-TYPECODE", "xdm",
          "Document {uri}: METADATA.XML typeCode {declared} differs from the CDA code {actual}.",
          "Document {uri} : le typeCode de METADATA.XML {declared} diffère du code du CDA {actual}.",
          "typeCode is ClinicalDocument/code (code and codeSystem).",
          "ITI TF-3 §4.2.3.2 (typeCode); CI-SIS lien entête CDA / métadonnées XDS"),
    _rule("MSS-XDM-FORMATCODE", "xdm",
          "Document {uri}: METADATA.XML formatCode {declared} but this {level} document calls for {expected} "
          "({why}).",
          "Document {uri} : le formatCode de METADATA.XML vaut {declared} mais ce document {level} appelle "
          "{expected} ({why}).",
          "For a CDA N1 use the xds-sd code of its embedded file type (urn:ihe:iti:xds-sd:pdf:2008 for a PDF); "
          "for a CDA N3 the formatCode ASS_A11 gives for its content-model templateId.",
          "CI-SIS Volet Partage de Documents de Santé (formatCode: N1 → xds-sd, N3 → ASS_A11), the tables of "
          "segur.mocks.dmp.valuesets (the DMP mock's DMP-CDA-009)", ("SC.MSS/CONF.23",)),
    _rule("MSS-XDM-CLASSCODE", "xdm",
          "Document {uri}: METADATA.XML classCode {declared} but type {type_code} belongs to class {expected} "
          "(ASS_X04).",
          "Document {uri} : le classCode de METADATA.XML vaut {declared} mais le type {type_code} relève de la "
          "classe {expected} (ASS_X04).",
          "Derive classCode from typeCode with the NOS table ASS_X04-CorrespondanceType-Classe.",
          "CI-SIS (classCode from typeCode, ASS_X04), the table of segur.mocks.dmp.valuesets (the DMP mock's "
          "DMP-CDA-003)", ("SC.MSS/CONF.23",)),
    _rule("MSS-XDM-SOURCE-PATIENT", "xdm",
          "Document {uri}: METADATA.XML {field} {declared} names another patient than the CDA ({actual}).",
          "Document {uri} : {field} de METADATA.XML {declared} désigne un autre patient que le CDA ({actual}).",
          "sourcePatientId and sourcePatientInfo (PID-3 identifiers, PID-7 birth date) describe the patient of "
          "recordTarget/patientRole: take them from the same record as the CDA.",
          _REF2.format(rem="SC.MSS/CONF.24") + "; ITI TF-3 §4.2.3.2 (sourcePatientId, sourcePatientInfo)",
          ("SC.MSS/CONF.24",)),
    _rule("MSS-XDM-SUBMISSION-PATIENT", "xdm",
          "METADATA.XML submission set patientId {declared} differs from the CDA patient INS {actual} ({uri}).",
          "Le patientId du lot de soumission de METADATA.XML {declared} diffère de l'INS du patient du CDA "
          "{actual} ({uri}).",
          "Use the INS of the documents' patient (INS^^^&OID&ISO^NH) for the submission set too.",
          _REF2.format(rem="SC.MSS/CONF.24") + "; ITI TF-3 §4.2.3.3 (SubmissionSet.patientId, the same patient "
          "as its DocumentEntries; the DMP mock's XDS-41-005)", ("SC.MSS/CONF.24",)),
    _rule("MSS-XDM-NOT-CDA", "xdm",
          "Document {uri} is not a CDA document ({detail}).",
          "Le document {uri} n'est pas un document CDA ({detail}).",
          "Put CDA R2 documents (text/xml) in the archive.", _REF2.format(rem="SC.MSS/CONF.23"),
          ("SC.MSS/CONF.23",)),
)

ALL = SMTP_RULES + MESSAGE_RULES + XDM_RULES
BY_ID = {rule.id: rule for rule in ALL}
rules.register(*ALL)


def smtp_reply(rule_id: str, text: str) -> str:
    """The full SMTP reply line for a rule that refuses a command (code, enhanced code, text)."""
    return f"{BY_ID[rule_id].extra['smtp_reply']} {text}"
