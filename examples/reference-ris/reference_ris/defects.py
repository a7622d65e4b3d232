"""The seeded defects: one at a time, each a mistake real products have made (issue 7 §4, PROOF.md).

Each defect changes what the RIS sends, never how it reports: the harness must catch it from what
reached the mocks. `swallow-outage` is the exception — it changes what the RIS *says* (success) while
nothing was sent, which is exactly what the harness must not believe.
"""

from __future__ import annotations

DEFECTS = {
    "wrong-ins-oid": "writes the INS under an OID INSi did not return (from a local NIR/NIA setting: the NIR "
                     "OID, or the NIA OID when INSi returned the NIR one)",
    "provisional-as-qualified": "when INSi answers 01/02 (or fails), sends anyway, declared qualified "
                                "(X-MSS-INS: O), with the INS of a local patient of the same name, sex and "
                                "birth date (a homonym), else an INS built from the traits",
    "no-vitale-search": "searches INSi by the traits even when the patient's Vitale card was read (never "
                        "calls rechercherInsAvecCarteVitale)",
    "no-insi-call": "never calls INSi: takes the INS from its cache or its local patient file, else builds "
                    "it from the traits",
    "bad-nir-key": "writes the INS with a wrong 2-digit key, in the CDA and the metadata",
    "pdf-not-base64": "writes the PDF with the URL-safe alphabet (- and _), which is not base64",
    "wrong-format-code": "declares a formatCode that does not match the document (text for a PDF N1, PDF N1 "
                         "for a structured N3)",
    "patient-mismatch": "puts another patient's INS in the XDS/XDM metadata (a stale patient context)",
    "mss-without-xdm": "attaches the CDA bare to the MSSanté message, without the IHE_XDM.ZIP",
    "citizen-wrong-address": "sends the citizen's copy to the previous patient's Mon espace santé address (a "
                             "stale context), or to <NIR without its key>@patient.mssante.fr when there is "
                             "none",
    "swallow-outage": "when a service is down (HTTP 5xx, SOAP fault, SMTP 4xx, no connection), says the "
                      "report was sent and exits 0",
    "pdf-other-patient": "embeds in the CDA the PDF rendered for the previous patient (a stale print "
                         "context): the header names the right patient, the PDF another one",
    "mss-pdf-draft": "attaches beside the IHE_XDM.ZIP the draft PDF of the report (rendered before "
                     "validation), not the PDF inside the CDA",
    "source-patient-stale": "writes the XDS sourcePatientInfo (PID-5/7/8) from the previous patient's "
                            "context",
    "xdm-n3-format-code": "declares in the XDM METADATA.XML the structured (N3) formatCode for an N1 PDF "
                          "report (the N1 PDF one for an N3 report)",
    "reused-document-id": "gives the report of every MSSanté message the same document id (an id kept in the "
                          "message template)",
    "replace-new-set-id": "sends the new version of a report (RPLC) with a new setId instead of the replaced "
                          "document's",
    "retry-rebuilt": "after an outage, rebuilds the report under the kept ids (same id, setId and version, "
                     "new content and time) instead of sending the kept one",
    "author-time-before-exam": "dates the author's time from the exam request, the day before the exam",
    "invisible-to-patient": "stores the DMP entry with the visibility code INVISIBLE_PATIENT (a masking "
                            "setting left on), which hides the report from the patient",
    "author-not-actor": "writes the report under the name of the configured default signer (another "
                        "professional), not the professional who acts",
    "send-on-01": "when INSi finds no identity (01), sends anyway with the INS of the local patient file or "
                  "one built from the traits (only 02 is withheld)",
    "traits-not-insi": "writes the patient's birth name in the CDA formatted for display (Dupont), not as "
                       "INSi returned it (DUPONT)",
    "unknown-idam": "calls INSi with the software authorisation number (IDAM) of the vendor's documentation "
                    "example, not its own",
    "lookup-skipped": "sends to the address its local address book holds for the professional the task "
                      "names, without searching the Annuaire santé for them",
    "lookup-wrong-professional": "searches the practice in the Annuaire santé and takes the next row's "
                                 "mailbox: another professional's",
    "crl-not-kept": "keeps no CRL: when the CRL point fails, it cannot check the operator and does not send",
    "crl-ignored": "downloads the CRL but never applies it to the operator's certificate (sends to a revoked "
                   "server)",
    "no-fin-header": "asked to end the exchange with the patient, sends the message without X-MSS-MES: FIN",
    "consult-no-td02": "consulting the DMP, skips TD0.2 (existence and authorisation) and goes straight to "
                       "TD0.3 and the search",
    "consult-wrong-patient": "searches and reads the DMP with the previous patient's INS (a stale patient "
                             "context)",
    "consult-structure-user": "consults the DMP under the structure's default user (another professional's "
                              "IDNPS in the VIHF), not the professional who consults",
    "consult-search-no-dates": "searches the DMP without the creation dates the user chose (type and status "
                               "only)",
    "consult-reports-unretrieved": "reports the documents the search found as integrated without retrieving "
                                   "them (ITI-43)",
    "consult-no-summary-lookup": "says the DMP holds no medical summary without asking it",
    "consult-ignores-newer-version": "shows a stored DMP document without following its replacement (RPLC) "
                                     "to the newer version",
    # the other couloirs' reference products (`volets`: reference-lgc, reference-dpi, reference-pfi)
    "vsm-no-treatments": "leaves the mandatory \"Traitement au long cours\" section out of the VSM (LGC)",
    "ldl-wrong-class": "files the lettre de liaison in the DMP with a prescription's classCode (42), not the "
                       "compte rendu class of its type (DPI)",
    "relay-drops-ins": "relays the document with the hospital's IPP in the CDA where the DPI wrote the INS; "
                       "the XDS/XDM metadata, written from the HL7 message, still carry the INS (PFI)",
    "ri-ins-unqualified": "diffuses a provisional identity (PID-32 PROV) with the INS of the local patient "
                          "file in PID-3 (RI, `ri_feed`)",
    "ri-update-new-ipp": "sends an identity update (A31) under a newly drawn IPP, not the record's (RI)",
    "histo-today-date": "rebuilds each historical report today and dates it today, not with its exam date",
    "histo-resent": "in the bulk back-fill, sends again the report it fed already (rebuilt, a new id)",
    "histo-count-wrong": "reports as its back-fill indicator the reports of the last feed only",
    "blocked-still-sent": "sends the report to the DMP although the user blocked the feed for the exam",
    "mask-ignored": "sends the report to the DMP without the visibility codes the user set",
    "delete-not-sent": "deletes the report from its own file only: no ITI-57 reaches the DMP",
    "delete-no-warning": "deletes the lab report without warning its recipients",
    "partial-new-set-id": "sends the complete lab report as a new document (new setId, no RPLC), not as the "
                          "partial one's new version",
    "no-cancel-mention": "sends the new version of the lab report without the 'annule et remplace' mention",
    "inbox-plain-imap": "reading its mailbox, sends IMAP LOGIN before STARTTLS (the password in clear), and "
                        "starts TLS only once the server refused it",
    "inbox-ignores-xdm": "reading its mailbox, never opens the IHE_XDM.ZIP: a received report is left as a "
                         "plain attachment, nothing is integrated",
    "inbox-integrates-unqualified": "integrates a received report whose INS is not qualified (X-MSS-INS: N) "
                                    "automatically, matching the patient by birth name and birth date",
    "inbox-duplicates": "integrates a received document again when it comes a second time (no look-up of the "
                        "document id among those already integrated)",
    "inbox-no-mdn": "never returns the read receipt (MDN) a received message asks for",
    "inbox-no-receipt-request": "sends a report without Disposition-Notification-To when the user asked a "
                                "read receipt",
    "psc-plain-login": "opens the professional's personal mailbox with AUTH PLAIN and the mailbox password, "
                       "not XOAUTH2 with a Pro Santé Connect token",
    "psc-stale-token": "keeps the PSC access token it has without refreshing it: after a PSC logout it sends "
                       "with the dead token and, refused, does not authenticate with PSC again",
    "psc-no-reopen": "when the operator ends the SMTP session (421), gives up instead of opening a new one",
    "psc-error-aborts": "when PSC refuses the professional's login, the MSSanté error aborts the whole task: "
                        "the report never reaches the DMP either",
    "app-mailbox-no-cert": "opens the application mailbox with PLAIN over STARTTLS without presenting the "
                           "structure's ORG AUTH_CLI certificate",
    "pam-ack-ae": "answers AE (ERR 207) to every PAM feed message it integrated",
    "pam-ignore-update": "on a PAM A31, takes the INS but keeps the traits the patient was created with",
    "pam-merge-keeps-old": "ignores a PAM A40 merge: the merged identifier still names its own identity",
    "pam-keeps-deleted": "ignores the PAM A47 that deletes an INS: the deleted INS is still used",
    "pam-provisional-as-qualified": "keeps the INS a PAM feed carries in PID-3 whatever PID-32 says (PROV "
                                    "too), and uses it as qualified",
    "inbox-misses-abnormal": "flags the results of a received lab report by their reference range, not by "
                             "the biologist's interpretationCode",
    "inbox-drops-stylesheet": "reading its mailbox, stores a received CDA without the producer's stylesheet "
                              "its xml-stylesheet instruction names (the CDA alone)",
    "consent-not-recorded": "says the patient's changed choice about DMP consultation was recorded, and "
                            "calls nothing (the choice kept in the RIS only)",
    "consent-wrong-action": "records the patient's refusal of DMP consultation with TD0.3 AJOUT, not "
                            "SUPPRESSION",
    "hl7-txa-wrong-id": "hands the report to the PFI with TXA-12 the document's setId, not its id (DPI)",
    "hl7-pid-without-ins": "hands the report to the PFI with the IPP alone in PID-3, though INSi qualified "
                           "the identity (DPI)",
    "hl7-zam-refused": "answers AE to the PFI's DMP/MSSanté returns (ZAM) (DPI)",
    "hl7-relay-no-ack": "keeps the producer's MDM but hangs up without an ACK (PFI)",
    "hl7-relay-dmp-only": "relays the producer's document to the DMP only, never to its MSSanté recipients "
                          "(PFI)",
    "hl7-relay-no-returns": "never returns the DMP/MSSanté outcomes (ZAM) to the producer (PFI)",
    "inbox-patient-as-professional": "lists a patient's message from Mon espace santé as a professional's",
    "inbox-patient-shows-address-only": "shows a patient's message from Mon espace santé by its address "
                                        "<INS>@patient.mssante.fr only, not the usager's name and INS",
    "lps-ack-aa-without-ins": "answers AA to the PFI's MDM whose CDA carries no INS, and keeps nothing (DPI)",
    "lps-replace-keeps-old": "on the PFI's MDM^T10, keeps the replaced version current beside the new one "
                             "(DPI)",
    "lps-cda-reencoded": "hands the consumer the CDA of the IHE_XDM.ZIP parsed and written again, not the "
                         "bytes received (PFI)",
    "lps-mdn-processed-after-ae": "returns an MDN 'processed' with the plain subject whatever the consumer's "
                                  "ACK, AE included (PFI)",
    "tls13-claimed-tls12-max": "claims tls13 but caps its MSSanté connections (SMTP and IMAP) at TLS 1.2",
    "sasl-ir-claimed-two-steps": "claims sasl-ir but sends IMAP AUTHENTICATE XOAUTH2 alone and the token "
                                 "after the server's challenge (two steps), though the server offers SASL-IR",
    "inbox-no-insi-verify": "integrates a received report whose INS (another identity domain's) it does not "
                            "hold under that INS, without asking INSi to verify the identity",
    "psc-login-local": "takes the professional's login (task login-psc) on a local account: no PSC flow",
    "psc-no-eidas1": "sends its PSC authorization requests without acr_values (eidas1 not asked)",
}


def check(defect: str | None) -> str | None:
    if defect in (None, "", "none"):
        return None
    if defect not in DEFECTS:
        raise ValueError(f"unknown defect {defect!r}; known: {', '.join(DEFECTS)}")
    return defect
