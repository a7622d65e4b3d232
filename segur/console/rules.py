"""The console's own rules: what it says about an upload it cannot validate (the validator's rules say the
rest)."""

from __future__ import annotations

from segur.kernel.rules import RuleBook

book = RuleBook("console", source="project policy (docs/console.md, Validate)")

EMPTY_UPLOAD = book.rule(
    "CONSOLE-001", "Nothing to validate: the form carried no document.",
    message_fr="Rien à valider : le formulaire ne contenait aucun document.",
    hint="Paste the CDA's XML in the text area, or choose a .xml file or an IHE_XDM.ZIP.")
UNREADABLE_XDM = book.rule(
    "CONSOLE-002", "The IHE_XDM.ZIP cannot be read: {reason}.",
    message_fr="L'archive IHE_XDM.ZIP est illisible : {reason}.",
    hint="Send the zip your product attaches to the message (IHE ITI TF-2 §3.32: IHE_XDM/<subset>/ with "
         "METADATA.XML and the CDA documents).")
