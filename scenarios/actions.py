"""Every task action the harness can ask a product to do, declared once with what it asks.

The core proof's four actions come first; each capability of the proof (`scenarios/capabilities/`) adds
the actions of its tasks here, one line each, so `Task` accepts them and docs/sut.md can list them all.
"""

from __future__ import annotations

#: action → what the product must do (one line, shown by `segur proof --list-actions` and docs/sut.md)
ACTIONS: dict[str, str] = {
    "send-dmp": "send the report to the patient's DMP (ITI-41) with the INS INSi returned",
    "send-mss": "send the report by MSSanté to the professional's mailbox (IHE_XDM.ZIP)",
    "send-citizen": "send the report to <INS>@patient.mssante.fr, the patient's Mon espace santé mailbox",
    "replace-dmp": "send a new version of an earlier DMP report (RPLC of extra['replaces_task'])",
    "send-mss-lookup": "send by MSSanté to extra['professional'] (RPPS, practice), found in the Annuaire",
    "send-mss-operator": "send by MSSanté via the SMTP server of extra['smtp'], certificate checked by CRL",
    "send-citizen-fin": "send to the patient's Mon espace santé mailbox, ending the exchange: X-MSS-MES FIN",
    "consult-dmp": "consult the patient's DMP (TD0.2, ITI-18 by extra['search'] or extra['shows'], ITI-43), "
                   "report what it found as JSON",
    "feed-identity": "diffuse the patient's identity by IHE PAM FR (extra: event A28/A31/A40, record…)",
    "feed-histo": "feed the DMP with the patient's earlier reports extra['documents'], each dated with its "
                  "exam_date (bulk: skip those fed already); report HISTO-FED=<n fed for the patient>",
    "blocked-dmp": "the user blocked the DMP feed for this exam: send nothing to the DMP, answer not sent",
    "send-dmp-visibility": "send the report to the DMP with the visibility codes extra['visibility'] set",
    "delete-dmp": "delete the report of extra['deletes_task'] from the DMP, warn extra['recipients'] if any",
    "send-partial": "send the partial lab report to the DMP and by MSSanté to the recipient",
    "complete-report": "send the complete lab report as the new version of extra['completes_task'], DMP and "
                       "MSSanté, with the 'annule et remplace' mention",
    "read-inbox": "read extra['mailbox'] over IMAP (STARTTLS), integrate the reports received, list them",
    "send-psc-mss": "send the report by MSSanté from the author's personal mailbox (extra['mailbox']), AUTH "
                    "XOAUTH2 with a Pro Santé Connect access token of the author (extra['idnps'])",
    "send-dmp-mss-psc": "send-dmp, then send-psc-mss; an MSSanté authentication error must not stop the DMP "
                        "send (and the task then reports a failure)",
    "consent-dmp": "record the patient's changed choice extra['consent'] (refused/accepted) about this "
                   "professional consulting their DMP (TD0.3), report the DMP's answer as JSON",
    "pam-send-dmp": "send the report to the DMP for the patient the PAM feed named extra['pam_patient_id'] "
                    "(a PI of extra['pam_authority']): the identity it was fed, no traits typed",
    "hl7-send-pfi": "hand the report to the PFI as an MDM^T02 or ORU^R01 of the CI-SIS HL7v2 CDA transport "
                    "volet (the INS in PID-3) on the harness's CDA listener, for the DMP and extra['mss_to']",
    "hl7-take-returns": "take the PFI's DMP/MSSanté returns (ZAM) about the report of extra['of_task']",
    "read-personal-inbox": "read the author's personal mailbox extra['mailbox'] over IMAP with their PSC "
                           "token (AUTHENTICATE XOAUTH2; in one step, SASL-IR, when claiming sasl-ir)",
    "hl7-relay": "relay the producer's MDM extra['control_id'] received on your MLLP endpoint: DMP, MSSanté "
                 "to its PRT RCT recipients, then the outcomes (ZAM^Z01/Z02) back to the producer",
    "lps-integrate": "take the PFI's MDM (LPS volet) of a document received by MSSanté on your MLLP "
                     "endpoint, report the documents you hold from that volet as JSON `lps`",
    "lps-relay-mail": "read extra['mailbox'], hand each document of its IHE_XDM.ZIP to the consumer as an "
                      "MDM^T02 (LPS volet), return the consumer's ACK to the sender as an MDN",
    "login-psc": "log extra['idnps'] in with Pro Santé Connect (code flow or CIBA) as users do; send nothing",
}

#: kind → the document a task asks for (the couloir's report)
KINDS: dict[str, str] = {
    "CR-IMG": "imaging report (compte rendu d'imagerie), LOINC 18748-4",
    "CR-BIO": "laboratory report (compte rendu de biologie), LOINC 11502-2",
    "VSM": "volet de synthèse médicale (CDA R2 N3, VSM volet), code SYNTH of 1.2.250.1.213.1.1.4.12",
    "LDL-SES": "lettre de liaison à la sortie (CDA R2 N1 with its PDF), LOINC 11490-0",
    "CRO": "compte rendu opératoire (CDA R2 N1 with its PDF), LOINC 34874-8",
    "IDENTITY": "an identity of the hospital's identity referential (RI), diffused by IHE PAM FR",
    "ORDONNANCE": "ordonnance de sortie, prescription of health products (CDA R2 N1, PDF), LOINC 57833-6",
}
