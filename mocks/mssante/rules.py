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

from segur.kernel.findings import Severity
from segur.kernel.rules import Rule, RuleBook

REM = "SC.MSS/CONF"
_REF2 = "Référentiel socle MSSanté #2 (via REM {rem})"

#: Every rule of the mock, declared once; `segur rules` lists them. The default layer is ``mss`` (the
#: MSSanté message rules); the SMTP dialogue's are ``smtp``, the archive's ``xdm``, MIME and CDA their own.
#: A rule that refuses an SMTP command carries its reply code in ``extra["smtp_reply"]``.
book = RuleBook("mss")

# ---------------------------------------------------------------------------- the SMTP dialogue
TLS_REQUIRED = book.rule(
    "MSS-TLS-REQUIRED",
    "Command {command} sent before STARTTLS; the MSSanté space only talks over TLS.",
    message_fr="Commande {command} envoyée avant STARTTLS ; l'espace MSSanté n'échange que sous TLS.",
    hint="Send EHLO, then STARTTLS, then EHLO again before AUTH/MAIL.",
    source="RFC 3207 §4; REM SC.MSS/CONF.05 and .07 (open the TLS session with STARTTLS first)",
    rem=("SC.MSS/CONF.05", "SC.MSS/CONF.07"),
    layer="smtp",
    smtp_reply="530 5.7.0",
)

AUTH_TLS = book.rule(
    "MSS-AUTH-TLS",
    "AUTH attempted before TLS: credentials must never travel in clear.",
    message_fr="AUTH tenté avant TLS : les identifiants ne doivent jamais circuler en clair.",
    hint="Issue STARTTLS (and EHLO again) before AUTH.",
    source="RFC 4954 §4 (538 5.7.11); REM SC.MSS/CONF.07",
    rem=("SC.MSS/CONF.07",),
    layer="smtp",
    smtp_reply="538 5.7.11",
)

AUTH_FAILED = book.rule(
    "MSS-AUTH-FAILED",
    "Authentication failed for '{login}': unknown or closed mailbox, or wrong password/token.",
    message_fr="Échec d'authentification pour « {login} » : BAL inconnue ou fermée, ou mot de passe/jeton "
        "erroné.",
    hint="Log in with the mailbox address and its password (see docs/mssante.md, 'Credentials').",
    source="RFC 4954 §6 (535 5.7.8)",
    rem=("SC.MSS/CONF.07", "SC.MSS/CONF.12"),
    layer="smtp",
    smtp_reply="535 5.7.8",
)

PSC_TOKEN_REFUSED = book.rule(
    "MSS-AUTH-PSC-TOKEN",
    "XOAUTH2 for '{login}': the bearer token is not a valid Pro Santé Connect access token ({why}).",
    message_fr="XOAUTH2 pour « {login} » : le jeton n'est pas un jeton d'accès Pro Santé Connect valide "
        "({why}).",
    hint="Send the access token PSC issued for this session (not the id or refresh token), before it expires "
         "and before the session ends; see docs/psc.md for what the mock checks.",
    source="REM SC.MSS/CONF.07 (SASL XOAUTH2 with the PSC access token); RFC 4954 §6 (535 5.7.8)",
    rem=("SC.MSS/CONF.07", "MSS/CONF.07"),
    layer="smtp",
    smtp_reply="535 5.7.8",
)

PSC_OTHER_PROFESSIONAL = book.rule(
    "MSS-AUTH-PSC-OWNER",
    "XOAUTH2 for '{login}': the PSC token names {professional}, who does not own this mailbox ({owner}).",
    message_fr="XOAUTH2 pour « {login} » : le jeton PSC désigne {professional}, qui n'est pas titulaire de "
        "cette BAL ({owner}).",
    hint="Log in to the professional's own mailbox with their token; an application mailbox authenticates "
         "with the structure's ORG certificate (SC.MSS/CONF.12), not a PSC token.",
    source="REM SC.MSS/CONF.07; RFC 4954 §6 (535 5.7.8)",
    rem=("SC.MSS/CONF.07", "MSS/CONF.07"),
    layer="smtp",
    smtp_reply="535 5.7.8",
)

PSC_UNREACHABLE = book.rule(
    "MSS-AUTH-PSC-UNAVAILABLE",
    "XOAUTH2 for '{login}': Pro Santé Connect could not be reached to check the token ({why}).",
    message_fr="XOAUTH2 pour « {login} » : Pro Santé Connect injoignable pour vérifier le jeton ({why}).",
    hint="A temporary failure: retry later (the operator could not check the token, it did not refuse it).",
    source="RFC 4954 §6 (454 4.7.0 temporary authentication failure)",
    rem=("SC.MSS/CONF.07",),
    layer="smtp",
    smtp_reply="454 4.7.0",
)

APP_ORG_CERT = book.rule(
    "MSS-AUTH-ORG-CERT",
    "Login to the application mailbox '{login}' without its structure's ORG AUTH_CLI certificate: {why}.",
    message_fr="Connexion à la BAL applicative « {login} » sans le certificat ORG AUTH_CLI de sa "
        "structure : {why}.",
    hint="Mount TLS with the structure's IGC-Santé ORG AUTH_CLI certificate (the test PKI's, OU = the "
         "structure's IDNST) before AUTH PLAIN with the mailbox address (docs/mssante.md, 'Application "
         "mailboxes').",
    source="REM SC.MSS/CONF.12 (Référentiel socle MSSanté #2, API LPS: BAL applicative); RFC 4954 §6",
    rem=("SC.MSS/CONF.12", "MSS/CONF.12"),
    layer="smtp",
    smtp_reply="535 5.7.8",
)

AUTH_REQUIRED = book.rule(
    "MSS-AUTH-REQUIRED",
    "MAIL FROM sent without authenticating: submission needs an authenticated mailbox.",
    message_fr="MAIL FROM envoyé sans authentification : la soumission exige une BAL authentifiée.",
    hint="Authenticate (AUTH PLAIN/LOGIN/XOAUTH2) after STARTTLS, then send MAIL FROM.",
    source="RFC 4954 §6 (530 5.7.0); REM SC.MSS/CONF.07/.12",
    rem=("SC.MSS/CONF.07", "SC.MSS/CONF.12"),
    layer="smtp",
    smtp_reply="530 5.7.0",
)

SENDER_NOT_OWNED = book.rule(
    "MSS-SENDER-NOT-OWNED",
    "Envelope sender <{sender}> is not the authenticated mailbox <{login}>.",
    message_fr="L'expéditeur d'enveloppe <{sender}> n'est pas la BAL authentifiée <{login}>.",
    hint="Send MAIL FROM with the address of the mailbox you authenticated as.",
    source="RFC 5321 §3.3, RFC 3463 X.7.1 (sender not authorized)",
    layer="smtp",
    smtp_reply="553 5.7.1",
)

RCPT_OUTSIDE = book.rule(
    "MSS-RCPT-OUTSIDE",
    "Recipient <{recipient}> is outside the MSSanté trust space (domain not under mssante.fr).",
    message_fr="Le destinataire <{recipient}> est hors de l'espace de confiance MSSanté (domaine hors "
        "mssante.fr).",
    hint="MSSanté delivers only to mailboxes of the trust space; look the address up in the Annuaire santé.",
    source="ANS, espace de confiance MSSanté (operator domains under mssante.fr); RFC 3463 X.7.1",
    layer="smtp",
    smtp_reply="550 5.7.1",
)

RCPT_UNKNOWN = book.rule(
    "MSS-RCPT-UNKNOWN",
    "Recipient <{recipient}> does not exist.",
    message_fr="Le destinataire <{recipient}> n'existe pas.",
    hint="Check the address in the Annuaire santé (the mock serves the world's mailboxes only).",
    source="RFC 5321 §3.3 (550), RFC 3463 X.1.1 (bad destination mailbox address)",
    layer="smtp",
    smtp_reply="550 5.1.1",
)

RCPT_CLOSED = book.rule(
    "MSS-RCPT-CLOSED",
    "Recipient mailbox <{recipient}> is closed and no longer receives messages.",
    message_fr="La BAL destinataire <{recipient}> est fermée et ne reçoit plus de messages.",
    hint="Use another mailbox of the professional or organisation (Annuaire santé).",
    source="RFC 3463 X.2.1 (mailbox disabled, not accepting messages)",
    layer="smtp",
    smtp_reply="550 5.2.1",
)

RCPT_CITIZEN_SYNTAX = book.rule(
    "MSS-RCPT-CITIZEN-SYNTAX",
    "Citizen address <{recipient}>: the part before @patient.mssante.fr is not a 15-character INS with a "
        "correct key ({problem}).",
    message_fr="Adresse citoyenne <{recipient}> : la partie avant @patient.mssante.fr n'est pas un INS de "
        "15 caractères avec une clé correcte ({problem}).",
    hint="The Mon espace santé address is the patient's INS (NIR/NIA + key) @patient.mssante.fr; take it "
        "from the INSi answer, never type it.",
    source="Mon espace santé citizen addressing <INS>@patient.mssante.fr; RFC 3463 X.1.3",
    layer="smtp",
    smtp_reply="550 5.1.3",
)

RCPT_PATIENT_UNKNOWN = book.rule(
    "MSS-RCPT-PATIENT-UNKNOWN",
    "No patient with INS {ins} has a Mon espace santé mailbox <{recipient}>.",
    message_fr="Aucun patient d'INS {ins} n'a de messagerie Mon espace santé <{recipient}>.",
    hint="Use the qualified INS returned by INSi for this patient.",
    source="Mon espace santé citizen addressing; RFC 3463 X.1.1",
    layer="smtp",
    smtp_reply="550 5.1.1",
)

RCPT_CITIZEN_REFUSED = book.rule(
    "MSS-RCPT-CITIZEN-REFUSED",
    "The patient of <{recipient}> refused MSSanté messages in Mon espace santé.",
    message_fr="Le patient de <{recipient}> a refusé les messages MSSanté dans Mon espace santé.",
    hint="Give the document to the patient another way; do not retry.",
    source="Mon espace santé (the citizen may close or refuse the messaging service); RFC 3463 X.7.1",
    layer="smtp",
    smtp_reply="550 5.7.1",
)

SIZE = book.rule(
    "MSS-SIZE",
    "Message of {size} bytes exceeds the {limit}-byte limit.",
    message_fr="Message de {size} octets au-delà de la limite de {limit} octets.",
    hint="Send fewer or smaller documents per message; the limit is advertised by EHLO (SIZE).",
    source="RFC 1870 (SIZE, 552), RFC 3463 X.3.4; limit 25 MB per issue 6 (configurable)",
    layer="smtp",
    smtp_reply="552 5.3.4",
)

TOO_MANY_RECIPIENTS = book.rule(
    "MSS-TOO-MANY-RECIPIENTS",
    "More than {limit} recipients in one message.",
    message_fr="Plus de {limit} destinataires dans un même message.",
    hint="Split the sending.",
    source="RFC 5321 §4.5.3.1.8 (452 too many recipients)",
    layer="smtp",
    smtp_reply="452 4.5.3",
)


# ---------------------------------------------------------------------------- the message
MIME_MALFORMED = book.rule(
    "MSS-MIME-MALFORMED",
    "The message is not well-formed MIME: {detail}.",
    message_fr="Le message n'est pas un MIME bien formé : {detail}.",
    hint="Build the message with a MIME library (multipart/mixed with a boundary, base64 attachments).",
    source="RFC 5322, RFC 2045/2046",
    layer="mime",
)

FROM_MISMATCH = book.rule(
    "MSS-FROM-MISMATCH",
    "Header From <{from_}> is not the authenticated mailbox <{login}>.",
    message_fr="L'en-tête From <{from_}> n'est pas la BAL authentifiée <{login}>.",
    hint="Set From to the sending mailbox address.",
    source="RFC 5322 §3.6.2; MSSanté operators' submission policy",
)

NIL_MISSING = book.rule(
    "MSS-NIL-MISSING",
    "Header X-MSS-NIL is missing; it must be on every message.",
    message_fr="L'en-tête X-MSS-NIL est absent ; il doit figurer sur tout message.",
    hint="Add 'X-MSS-NIL: <your product reference number from convergence.esante.gouv.fr>'.",
    source=_REF2.format(rem="SC.MSS/CONF.16"),
    rem=("SC.MSS/CONF.16",),
)

NIL_FORMAT = book.rule(
    "MSS-NIL-FORMAT",
    "Header X-MSS-NIL is '{value}'; it must be the product's reference number (an integer, digits only).",
    message_fr="L'en-tête X-MSS-NIL vaut « {value} » ; il doit être le numéro « référence » du produit (un "
        "entier, chiffres seuls).",
    hint="Use the 'référence' number given when the product was declared on convergence.esante.gouv.fr (4 "
        "digits when the REM was published, more as the numbering grows).",
    source=_REF2.format(rem="SC.MSS/CONF.16"),
    rem=("SC.MSS/CONF.16",),
)

INS_HEADER_MISSING = book.rule(
    "MSS-INS-HEADER-MISSING",
    "Header X-MSS-INS is missing although the message carries a CDA in an IHE_XDM archive.",
    message_fr="L'en-tête X-MSS-INS est absent alors que le message porte un CDA dans une archive IHE_XDM.",
    hint="Add 'X-MSS-INS: O' when the CDA carries a qualified INS, 'X-MSS-INS: N' otherwise.",
    source=_REF2.format(rem="SC.MSS/CONF.14") + " (ECO.2.4.2)",
    rem=("SC.MSS/CONF.14",),
)

INS_HEADER_VALUE = book.rule(
    "MSS-INS-HEADER-VALUE",
    "Header X-MSS-INS is '{value}' but the archive {has} a qualified INS (expected '{expected}').",
    message_fr="L'en-tête X-MSS-INS vaut « {value} » mais l'archive {has_fr} d'INS qualifié (attendu « "
        "{expected} »).",
    hint="'O' only when every CDA has the INS (matricule + OID) and the 4 traits: birth name, first given "
        "name, birth date, sex; 'N' otherwise.",
    source=_REF2.format(rem="SC.MSS/CONF.14"),
    rem=("SC.MSS/CONF.14",),
)

INS_HEADER_UNEXPECTED = book.rule(
    "MSS-INS-HEADER-UNEXPECTED",
    "Header X-MSS-INS is set but the message carries no CDA in an IHE_XDM archive.",
    message_fr="L'en-tête X-MSS-INS est positionné alors que le message ne porte aucun CDA dans une archive "
        "IHE_XDM.",
    hint="Leave X-MSS-INS out of messages without an IHE_XDM.ZIP attachment.",
    source=_REF2.format(rem="SC.MSS/CONF.14"),
    rem=("SC.MSS/CONF.14",),
)

INS_HEADER_UNCHECKED = book.rule(
    "MSS-INS-HEADER-UNCHECKED",
    "Header X-MSS-INS ('{value}') could not be checked: IHE_XDM.ZIP gave no CDA to compare it with ({why}).",
    message_fr="L'en-tête X-MSS-INS (« {value} ») n'a pas pu être vérifié : IHE_XDM.ZIP n'a livré aucun CDA "
        "auquel le comparer ({why}).",
    hint="Fix the archive first (see the MSS-XDM-* finding); the header is checked once the CDA can be read.",
    source=_REF2.format(rem="SC.MSS/CONF.14"),
    rem=("SC.MSS/CONF.14",),
    severity=Severity.WARNING,
)

CODECDA_MISSING = book.rule(
    "MSS-CODECDA-MISSING",
    "Header X-MSS-CODECDA is missing for the CDA code(s) {codes}.",
    message_fr="L'en-tête X-MSS-CODECDA est absent pour le(s) code(s) CDA {codes}.",
    hint="Add 'X-MSS-CODECDA: <ClinicalDocument/code/@code>' (one value per CDA).",
    source=_REF2.format(rem="SC.MSS/CONF.15") + " (ECO.2.4.1)",
    rem=("SC.MSS/CONF.15",),
)

CODECDA_MISMATCH = book.rule(
    "MSS-CODECDA-MISMATCH",
    "Header X-MSS-CODECDA says {header} but the CDA documents have the code(s) {codes}.",
    message_fr="L'en-tête X-MSS-CODECDA indique {header} mais les documents CDA ont le(s) code(s) {codes}.",
    hint="Give exactly the ClinicalDocument/code/@code of each CDA in the archive.",
    source=_REF2.format(rem="SC.MSS/CONF.15"),
    rem=("SC.MSS/CONF.15",),
)

CODECDA_UNEXPECTED = book.rule(
    "MSS-CODECDA-UNEXPECTED",
    "Header X-MSS-CODECDA is set but the message carries no CDA in an IHE_XDM archive.",
    message_fr="L'en-tête X-MSS-CODECDA est positionné alors que le message ne porte aucun CDA dans une "
        "archive IHE_XDM.",
    hint="Leave X-MSS-CODECDA out of messages without an IHE_XDM.ZIP attachment.",
    source=_REF2.format(rem="SC.MSS/CONF.15"),
    rem=("SC.MSS/CONF.15",),
)

CODECDA_UNCHECKED = book.rule(
    "MSS-CODECDA-UNCHECKED",
    "Header X-MSS-CODECDA ('{value}') could not be checked: IHE_XDM.ZIP gave no CDA to compare it with "
        "({why}).",
    message_fr="L'en-tête X-MSS-CODECDA (« {value} ») n'a pas pu être vérifié : IHE_XDM.ZIP n'a livré aucun "
        "CDA auquel le comparer ({why}).",
    hint="Fix the archive first (see the MSS-XDM-* finding); the header is checked once the CDA can be read.",
    source=_REF2.format(rem="SC.MSS/CONF.15"),
    rem=("SC.MSS/CONF.15",),
    severity=Severity.WARNING,
)

MES_VALUE = book.rule(
    "MSS-MES-VALUE",
    "Header X-MSS-MES is '{value}'; the only value is 'FIN' (3 capital letters).",
    message_fr="L'en-tête X-MSS-MES vaut « {value} » ; la seule valeur est « FIN » (3 majuscules).",
    hint="Write 'X-MSS-MES: FIN' to stop the patient from replying, or leave the header out.",
    source=_REF2.format(rem="SC.MSS/CONF.21"),
    rem=("SC.MSS/CONF.21",),
)

MES_NOT_CITIZEN = book.rule(
    "MSS-MES-NOT-CITIZEN",
    "Header X-MSS-MES is meant for messages to a patient (Mon espace santé), and no recipient is one.",
    message_fr="L'en-tête X-MSS-MES est destiné aux messages vers un usager (Mon espace santé), or aucun "
        "destinataire n'en est un.",
    hint="Set X-MSS-MES only on messages to <INS>@patient.mssante.fr.",
    source=_REF2.format(rem="SC.MSS/CONF.21"),
    rem=("SC.MSS/CONF.21",),
    severity=Severity.WARNING,
)

SUBJECT_FORMAT = book.rule(
    "MSS-SUBJECT-FORMAT",
    "Subject '{subject}' does not follow 'XDM/1.0/DDM+<libellé> <NOM> <prénom> [<date de naissance>]'.",
    message_fr="L'objet « {subject} » ne respecte pas « XDM/1.0/DDM+<libellé> <NOM> <prénom> [<date de "
        "naissance>] ».",
    hint="Example: 'XDM/1.0/DDM+CR d'imagerie médicale PAT-TROIS DOMINIQUE 28/03/1979'.",
    source=_REF2.format(rem="SC.MSS/CONF.25") + " (ECO.2.1.3); IG-MSS struct-msg-mdn (example subject)",
    rem=("SC.MSS/CONF.25",),
)

SUBJECT_PATIENT = book.rule(
    "MSS-SUBJECT-PATIENT",
    "Subject '{subject}' does not name the patient of the documents ({expected}).",
    message_fr="L'objet « {subject} » ne nomme pas le patient des documents ({expected}).",
    hint="Put the patient's birth name then first given name (and optionally birth date DD/MM/YYYY).",
    source=_REF2.format(rem="SC.MSS/CONF.25"),
    rem=("SC.MSS/CONF.25",),
)

XDM_MISSING = book.rule(
    "MSS-XDM-MISSING",
    "The message carries a health document ({what}) without an IHE_XDM.ZIP archive.",
    message_fr="Le message porte un document de santé ({what}) sans archive IHE_XDM.ZIP.",
    hint="Attach the CDA inside an IHE XDM zip named IHE_XDM.ZIP (see segur.mocks.mssante.xdm.build_xdm).",
    source=_REF2.format(rem="SC.MSS/CONF.23"),
    rem=("SC.MSS/CONF.23",),
)

XDM_NAME = book.rule(
    "MSS-XDM-NAME",
    "The zip attachment is named '{name}'; it must be IHE_XDM.ZIP.",
    message_fr="La pièce jointe zip s'appelle « {name} » ; elle doit s'appeler IHE_XDM.ZIP.",
    hint="Name the attachment IHE_XDM.ZIP (Content-Disposition filename).",
    source=_REF2.format(rem="SC.MSS/CONF.23/.24"),
    rem=("SC.MSS/CONF.23", "SC.MSS/CONF.24"),
)

XDM_SEVERAL = book.rule(
    "MSS-XDM-SEVERAL",
    "The message has {count} IHE_XDM archives; one message carries one archive for one patient.",
    message_fr="Le message porte {count} archives IHE_XDM ; un message porte une archive pour un seul "
        "usager.",
    hint="Send one message per patient with one IHE_XDM.ZIP.",
    source=_REF2.format(rem="SC.MSS/CONF.23"),
    rem=("SC.MSS/CONF.23",),
)

PDF_MISSING = book.rule(
    "MSS-PDF-MISSING",
    "The message carries CDA documents but no PDF copy of them.",
    message_fr="Le message porte des documents CDA mais aucune copie PDF de ceux-ci.",
    hint="Attach the same documents as PDF/A-1 next to IHE_XDM.ZIP.",
    source=_REF2.format(rem="SC.MSS/CONF.23"),
    rem=("SC.MSS/CONF.23",),
)

ONE_PATIENT = book.rule(
    "MSS-ONE-PATIENT",
    "The message concerns {count} patients ({patients}); a message concerns one patient only.",
    message_fr="Le message concerne {count} usagers ({patients}) ; un message ne concerne qu'un seul usager.",
    hint="Send one message per patient.",
    source=_REF2.format(rem="SC.MSS/CONF.23"),
    rem=("SC.MSS/CONF.23",),
)

CITIZEN_OTHER_PATIENT = book.rule(
    "MSS-CITIZEN-OTHER-PATIENT",
    "Message to the Mon espace santé mailbox of INS {ins} carries documents of INS {other}.",
    message_fr="Message vers la messagerie Mon espace santé de l'INS {ins} portant des documents de l'INS "
        "{other}.",
    hint="A patient's mailbox receives only that patient's documents: check the recipient and the INS.",
    source="Mon espace santé citizen mailbox rule (issue 6 §2); REM SC.MSS/CONF.23/.24",
    rem=("SC.MSS/CONF.23", "SC.MSS/CONF.24"),
)

PDF_NOT_IDENTICAL = book.rule(
    "MSS-PDF-NOT-IDENTICAL",
    "The PDF attached to the message ({attached}) is not byte-identical to the PDF the CDA {uri} embeds "
        "(SHA-1 {embedded}).",
    message_fr="Le PDF joint au message ({attached}) n'est pas identique octet pour octet au PDF que le CDA "
        "{uri} embarque (SHA-1 {embedded}).",
    hint="Attach the very PDF/A-1 file the CDA embeds (N1: nonXMLBody/text; N3: the PDF copy's "
        "observationMedia), not another rendering: the recipient must read the same document either way.",
    source=_REF2.format(rem="SC.MSS/CONF.23 (the same documents as PDF/A-1) and SC.MSS/CONF.26 (the PDF "
                        "generated from the CDA; 'Obsolète' in the 2023-02 arbitrage)"),
    rem=("SC.MSS/CONF.23", "SC.MSS/CONF.26"),
    severity=Severity.WARNING,
)

UNIQUEID_REUSED = book.rule(
    "MSS-UNIQUEID-REUSED",
    "Document uniqueId {unique_id} was already sent in message {first} with {what}; one uniqueId names one "
        "document.",
    message_fr="L'identifiant unique de document {unique_id} a déjà été envoyé dans le message {first} avec "
        "{what_fr} ; un uniqueId désigne un seul document.",
    hint="Give every new document (and every new version) its own ClinicalDocument/id; resend a document "
        "only unchanged and for the same patient. The DMP refuses this (XDS-41-008, XDSNonIdenticalHash); "
        "MSSanté delivers it and the recipient's system is left with two documents under one id.",
    source="ITI TF-3 §4.2.3.2 (DocumentEntry.uniqueId: globally unique); CI-SIS (uniqueId = "
        "ClinicalDocument/id); the DMP mock's XDS-41-008",
    rem=("SC.MSS/CONF.23",),
)

CDA_INVALID = book.rule(
    "MSS-CDA-INVALID",
    "CDA document {uri} fails validation: {errors} error(s), first: {first}.",
    message_fr="Le document CDA {uri} échoue à la validation : {errors} erreur(s), première : {first}.",
    hint="Run 'segur validate' on the document for the full report with line numbers.",
    source="CI-SIS (CDA R2 XSD, Schematron) via segur.validators",
    rem=("SC.MSS/CONF.23",),
    layer="cda",
)

CDA_NOT_VALIDATED = book.rule(
    "MSS-CDA-NOT-VALIDATED",
    "CDA document {uri} could not be validated: {reason}.",
    message_fr="Le document CDA {uri} n'a pas pu être validé : {reason}.",
    hint="Check the validator configuration (pack path, SEGUR_PACK).",
    source="segur.validators",
    layer="cda",
    severity=Severity.WARNING,
)


# ---------------------------------------------------------------------------- IHE_XDM.ZIP
XDM_NOT_ZIP = book.rule(
    "MSS-XDM-NOT-ZIP",
    "IHE_XDM.ZIP is not a readable zip archive: {detail}.",
    message_fr="IHE_XDM.ZIP n'est pas une archive zip lisible : {detail}.",
    hint="Build the archive with a zip library (deflate or store), not encrypted.",
    source="ITI-32 §3.32.4.1 (ZIP)",
    layer="xdm",
)

XDM_ENCRYPTED = book.rule(
    "MSS-XDM-ENCRYPTED",
    "IHE_XDM.ZIP entry '{name}' is encrypted; the recipient cannot read it.",
    message_fr="L'entrée « {name} » de IHE_XDM.ZIP est chiffrée ; le destinataire ne peut pas la lire.",
    hint="Do not encrypt the zip: MSSanté already protects the transport.",
    source="ITI-32 §3.32.4.1",
    layer="xdm",
)

XDM_BOMB = book.rule(
    "MSS-XDM-BOMB",
    "IHE_XDM.ZIP was not extracted: {detail} (zip bomb protection).",
    message_fr="IHE_XDM.ZIP n'a pas été extraite : {detail} (protection contre les bombes zip).",
    hint="Keep the archive under the limits (see docs/mssante.md); compressed documents do not inflate more "
        "than 200 times.",
    source="project policy (OWASP file upload cheat sheet: decompression limits)",
    layer="xdm",
)

XDM_PATH = book.rule(
    "MSS-XDM-PATH",
    "IHE_XDM.ZIP entry name '{name}' is unsafe ({detail}); it was ignored.",
    message_fr="Le nom d'entrée « {name} » de IHE_XDM.ZIP est dangereux ({detail}) ; il a été ignoré.",
    hint="Use relative names such as IHE_XDM/SUBSET01/DOC0001.XML (no '..', no leading '/', no drive).",
    source="ITI-32 §3.32.4.1.2 (file names); 'zip slip' path traversal",
    layer="xdm",
)

XDM_DUPLICATE = book.rule(
    "MSS-XDM-DUPLICATE",
    "IHE_XDM.ZIP holds the entry '{name}' {count} times.",
    message_fr="IHE_XDM.ZIP contient l'entrée « {name} » {count} fois.",
    hint="Write each file once.",
    source="ITI-32 §3.32.4.1.2",
    layer="xdm",
)

XDM_README = book.rule(
    "MSS-XDM-README",
    "IHE_XDM.ZIP has no README.TXT at its root.",
    message_fr="IHE_XDM.ZIP n'a pas de README.TXT à sa racine.",
    hint="Add README.TXT (who made the media and how to read it).",
    source="ITI-32 §3.32.4.1.2 (ITI32-005)",
    layer="xdm",
)

XDM_INDEX = book.rule(
    "MSS-XDM-INDEX",
    "IHE_XDM.ZIP has no INDEX.HTM at its root.",
    message_fr="IHE_XDM.ZIP n'a pas de INDEX.HTM à sa racine.",
    hint="Add INDEX.HTM listing the documents with links.",
    source="ITI-32 §3.32.4.1.2 (ITI32-005)",
    layer="xdm",
)

XDM_NO_SUBSET = book.rule(
    "MSS-XDM-NO-SUBSET",
    "IHE_XDM.ZIP has no IHE_XDM/<subset>/METADATA.XML.",
    message_fr="IHE_XDM.ZIP n'a pas de IHE_XDM/<sous-ensemble>/METADATA.XML.",
    hint="Put the metadata at IHE_XDM/SUBSET01/METADATA.XML next to the documents.",
    source="ITI-32 §3.32.4.1.2 (ITI32-004, -007, -008)",
    layer="xdm",
)

XDM_METADATA = book.rule(
    "MSS-XDM-METADATA",
    "{path} cannot be read as XDS metadata: {detail}.",
    message_fr="{path} ne peut pas être lu comme des métadonnées XDS : {detail}.",
    hint="METADATA.XML is an ebRIM SubmitObjectsRequest with one ExtrinsicObject per document.",
    source="ITI-32 §3.32.4.1.2; ITI TF-3 §4.2",
    layer="xdm",
)

XDM_DOC_MISSING = book.rule(
    "MSS-XDM-DOC-MISSING",
    "METADATA.XML lists the document '{uri}' which is not in the archive.",
    message_fr="METADATA.XML référence le document « {uri} » absent de l'archive.",
    hint="The URI slot of each document entry is the file name in the same subset directory.",
    source="ITI-32 §3.32.4.1.2 (URI slot)",
    layer="xdm",
)

XDM_NO_DOCUMENT = book.rule(
    "MSS-XDM-NO-DOCUMENT",
    "IHE_XDM.ZIP describes no document.",
    message_fr="IHE_XDM.ZIP ne décrit aucun document.",
    hint="Add the CDA and its ExtrinsicObject in METADATA.XML.",
    source="ITI-32 §3.32.4.1.2",
    layer="xdm",
)

XDM_HASH = book.rule(
    "MSS-XDM-HASH",
    "Document {uri}: METADATA.XML hash {declared} but the file's SHA-1 is {actual}.",
    message_fr="Document {uri} : le hash de METADATA.XML vaut {declared} mais le SHA-1 du fichier est "
        "{actual}.",
    hint="Compute the SHA-1 of the exact bytes written in the zip (hex).",
    source="ITI TF-3 §4.2.3.2 (hash)",
    layer="xdm",
)

XDM_SIZE = book.rule(
    "MSS-XDM-SIZE",
    "Document {uri}: METADATA.XML size {declared} but the file has {actual} bytes.",
    message_fr="Document {uri} : la taille de METADATA.XML vaut {declared} mais le fichier fait {actual} "
        "octets.",
    hint="Write the byte size of the exact file in the zip.",
    source="ITI TF-3 §4.2.3.2 (size)",
    layer="xdm",
)

XDM_UNIQUEID = book.rule(
    "MSS-XDM-UNIQUEID",
    "Document {uri}: METADATA.XML uniqueId {declared} differs from the CDA id {actual}.",
    message_fr="Document {uri} : l'uniqueId de METADATA.XML {declared} diffère de l'id du CDA {actual}.",
    hint="uniqueId is ClinicalDocument/id as root^extension (root alone when there is no extension).",
    source="ITI TF-3 §4.2.3.2 (uniqueId); CI-SIS lien entête CDA / métadonnées XDS",
    layer="xdm",
)

XDM_PATIENT = book.rule(
    "MSS-XDM-PATIENT",
    "Document {uri}: METADATA.XML patientId {declared} differs from the CDA patient INS {actual}.",
    message_fr="Document {uri} : le patientId de METADATA.XML {declared} diffère de l'INS du patient du CDA "
        "{actual}.",
    hint="patientId is INS^^^&OID&ISO^NH, the INS of recordTarget/patientRole/id.",
    source=_REF2.format(rem="SC.MSS/CONF.24") + "; ITI TF-3 §4.2.3.2 (patientId)",
    rem=("SC.MSS/CONF.24",),
    layer="xdm",
)

XDM_TYPECODE = book.rule(
    "MSS-XDM-TYPECODE",
    "Document {uri}: METADATA.XML typeCode {declared} differs from the CDA code {actual}.",
    message_fr="Document {uri} : le typeCode de METADATA.XML {declared} diffère du code du CDA {actual}.",
    hint="typeCode is ClinicalDocument/code (code and codeSystem).",
    source="ITI TF-3 §4.2.3.2 (typeCode); CI-SIS lien entête CDA / métadonnées XDS",
    layer="xdm",
)

XDM_FORMATCODE = book.rule(
    "MSS-XDM-FORMATCODE",
    "Document {uri}: METADATA.XML formatCode {declared} but this {level} document calls for {expected} "
        "({why}).",
    message_fr="Document {uri} : le formatCode de METADATA.XML vaut {declared} mais ce document {level} "
        "appelle {expected} ({why}).",
    hint="For a CDA N1 use the xds-sd code of its embedded file type (urn:ihe:iti:xds-sd:pdf:2008 for a "
        "PDF); for a CDA N3 the formatCode ASS_A11 gives for its content-model templateId.",
    source="CI-SIS Volet Partage de Documents de Santé (formatCode: N1 → xds-sd, N3 → ASS_A11), the tables "
        "of segur.mocks.dmp.valuesets (the DMP mock's DMP-CDA-009)",
    rem=("SC.MSS/CONF.23",),
    layer="xdm",
)

XDM_CLASSCODE = book.rule(
    "MSS-XDM-CLASSCODE",
    "Document {uri}: METADATA.XML classCode {declared} but type {type_code} belongs to class {expected} "
        "(ASS_X04).",
    message_fr="Document {uri} : le classCode de METADATA.XML vaut {declared} mais le type {type_code} "
        "relève de la classe {expected} (ASS_X04).",
    hint="Derive classCode from typeCode with the NOS table ASS_X04-CorrespondanceType-Classe.",
    source="CI-SIS (classCode from typeCode, ASS_X04), the table of segur.mocks.dmp.valuesets (the DMP "
        "mock's DMP-CDA-003)",
    rem=("SC.MSS/CONF.23",),
    layer="xdm",
)

XDM_SOURCE_PATIENT = book.rule(
    "MSS-XDM-SOURCE-PATIENT",
    "Document {uri}: METADATA.XML {field} {declared} names another patient than the CDA ({actual}).",
    message_fr="Document {uri} : {field} de METADATA.XML {declared} désigne un autre patient que le CDA "
        "({actual}).",
    hint="sourcePatientId and sourcePatientInfo (PID-3 identifiers, PID-7 birth date) describe the patient "
        "of recordTarget/patientRole: take them from the same record as the CDA.",
    source=_REF2.format(rem="SC.MSS/CONF.24") + "; ITI TF-3 §4.2.3.2 (sourcePatientId, sourcePatientInfo)",
    rem=("SC.MSS/CONF.24",),
    layer="xdm",
)

XDM_SUBMISSION_PATIENT = book.rule(
    "MSS-XDM-SUBMISSION-PATIENT",
    "METADATA.XML submission set patientId {declared} differs from the CDA patient INS {actual} ({uri}).",
    message_fr="Le patientId du lot de soumission de METADATA.XML {declared} diffère de l'INS du patient du "
        "CDA {actual} ({uri}).",
    hint="Use the INS of the documents' patient (INS^^^&OID&ISO^NH) for the submission set too.",
    source=_REF2.format(rem="SC.MSS/CONF.24") + "; ITI TF-3 §4.2.3.3 (SubmissionSet.patientId, the same "
    "patient as its DocumentEntries; the DMP mock's XDS-002)",
    rem=("SC.MSS/CONF.24",),
    layer="xdm",
)

XDM_NOT_CDA = book.rule(
    "MSS-XDM-NOT-CDA",
    "Document {uri} is not a CDA document ({detail}).",
    message_fr="Le document {uri} n'est pas un document CDA ({detail}).",
    hint="Put CDA R2 documents (text/xml) in the archive.",
    source=_REF2.format(rem="SC.MSS/CONF.23"),
    rem=("SC.MSS/CONF.23",),
    layer="xdm",
)


ALL: tuple[Rule, ...] = tuple(book)


def smtp_reply(rule: Rule, text: str) -> str:
    """The full SMTP reply line for a rule that refuses a command (code, enhanced code, text)."""
    return f"{rule.extra['smtp_reply']} {text}"
