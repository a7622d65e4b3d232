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
    "send-psc-mss": "send the report by MSSanté from the author's personal mailbox (extra['mailbox']), AUTH "
                    "XOAUTH2 with a Pro Santé Connect access token of the author (extra['idnps'])",
    "send-dmp-mss-psc": "send-dmp, then send-psc-mss; an MSSanté authentication error must not stop the DMP "
                        "send (and the task then reports a failure)",
}

#: kind → the document a task asks for (the couloir's report)
KINDS: dict[str, str] = {
    "CR-IMG": "imaging report (compte rendu d'imagerie), LOINC 18748-4",
    "CR-BIO": "laboratory report (compte rendu de biologie), LOINC 11502-2",
}
