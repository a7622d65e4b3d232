"""The tasks beyond sending a report (reading mail, consulting the DMP, identity feeds…): action → the
function doing it for a `core.Run` (it returns an `Outcome` or raises a `RisError`). Each capability of the
proof the RIS implements lives in a module of its own and adds its actions here."""

from __future__ import annotations

from . import consent, consult, histo, hl7_cda, inbox, lookup, lps, pam_feed, psc, ri_feed

HANDLERS: dict = {**lookup.ACTIONS, **histo.ACTIONS, **psc.HANDLERS, "read-inbox": inbox.read_inbox}
HANDLERS["consult-dmp"] = consult.consult
HANDLERS["feed-identity"] = ri_feed.feed_identity
HANDLERS["pam-send-dmp"] = pam_feed.send_dmp
HANDLERS.update(consent.ACTIONS)
HANDLERS.update(hl7_cda.HANDLERS)
HANDLERS.update(lps.HANDLERS)
HANDLERS["read-personal-inbox"] = inbox.read_personal_inbox
