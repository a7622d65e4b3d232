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
    "pam-ack-ae": "answers AE (ERR 207) to every PAM feed message it integrated",
    "pam-ignore-update": "on a PAM A31, takes the INS but keeps the traits the patient was created with",
    "pam-merge-keeps-old": "ignores a PAM A40 merge: the merged identifier still names its own identity",
    "pam-keeps-deleted": "ignores the PAM A47 that deletes an INS: the deleted INS is still used",
    "pam-provisional-as-qualified": "keeps the INS a PAM feed carries in PID-3 whatever PID-32 says (PROV "
                                    "too), and uses it as qualified",
}


def check(defect: str | None) -> str | None:
    if defect in (None, "", "none"):
        return None
    if defect not in DEFECTS:
        raise ValueError(f"unknown defect {defect!r}; known: {', '.join(DEFECTS)}")
    return defect
