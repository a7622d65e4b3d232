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
    "pam-send-dmp": "send the report to the DMP for the patient the PAM feed named extra['pam_patient_id'] "
                    "(a PI of extra['pam_authority']): the identity it was fed, no traits typed",
}

#: kind → the document a task asks for (the couloir's report)
KINDS: dict[str, str] = {
    "CR-IMG": "imaging report (compte rendu d'imagerie), LOINC 18748-4",
    "CR-BIO": "laboratory report (compte rendu de biologie), LOINC 11502-2",
}
