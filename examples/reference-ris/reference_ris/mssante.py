"""Sending the report by MSSanté: SMTP submission with STARTTLS (the test CA) and AUTH as the sending
mailbox; the CDA in an IHE_XDM.ZIP attachment (IHE ITI-32) with its PDF rendering beside it, and the
headers the MSSanté clients' referential asks for (docs/mssante.md, REM SC.MSS/CONF.14-16): X-MSS-NIL
(the product's reference), X-MSS-INS (O when the CDA carries a qualified INS), X-MSS-CODECDA (the CDA's
document type code), and the subject `XDM/1.0/DDM+<title> <BIRTH NAME> <first name> <dd/mm/yyyy>`."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import make_msgid

from segur.mocks.mssante.xdm import build_xdm

from . import volets
from .errors import ConfigError, Refused, ServiceUnavailable
from .identity import Identity
from .report import embedded_pdf

CODE_DISPLAY = dict(volets.CODES.values())  # document code → its label in the subject
#: the optional (PEUT) requirements the reference products claim (docs/sut.md, capabilities/claims.py):
#: TLS 1.3 on every MSSanté connection (MSS/CONF.02), the PSC token in one IMAP step, SASL-IR (MSS/CONF.09)
CLAIMS = ("tls13", "sasl-ir")


def capped(context: ssl.SSLContext, config) -> ssl.SSLContext:
    """The TLS context of an MSSanté connection with the configured highest version (`mss_tls_max` "1.2":
    the seeded defect tls13-claimed-tls12-max); unset, the ssl module offers TLS 1.3."""
    if config.mss_tls_max == "1.2":
        context.maximum_version = ssl.TLSVersion.TLSv1_2
    return context


def format_code_of(document: bytes) -> tuple[str, str, str] | None:
    """The formatCode the document calls for (ASS_A11), declared in the XDM METADATA.XML as in the DMP's."""
    from segur.mocks.dmp.client.metadata import metadata_from_cda

    coded = metadata_from_cda(document).format_code
    return (coded.code, coded.scheme, coded.display) if coded else None


def draft_pdf(identity: Identity) -> bytes:
    """For the seeded defect `mss-pdf-draft`: the report's draft rendering, made before it was validated."""
    from segur.fixtures.documents.pdf import make_pdf

    return make_pdf("Compte rendu (brouillon)", [f"Patient : {identity.birth_name} {identity.first_names}",
                                                f"INS : {identity.ins}", "", "Brouillon, non validé."])


def build_message(sender: str, recipient: str, document: bytes, identity: Identity, code: str, *, nil: str,
                  with_xdm: bool = True, xdm_overrides: dict | None = None, submission: dict | None = None,
                  pdf: bytes | None = None) -> EmailMessage:
    """The message for one report; `pdf` replaces the PDF attached beside the XDM (seeded defects only)."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = recipient
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or "reference-ris.local")
    birth = identity.birth_date.split("-")
    when = f" {birth[2]}/{birth[1]}/{birth[0]}" if len(birth) == 3 and "00" not in birth[1:] else ""
    first = (identity.first_names.split() or [""])[0]
    label = CODE_DISPLAY.get(code, "Compte rendu")
    message["Subject"] = f"XDM/1.0/DDM+{label} {identity.birth_name} {first}{when}"
    message["X-MSS-NIL"] = nil
    message["X-MSS-INS"] = "O"
    message["X-MSS-CODECDA"] = code
    message.set_content("Bonjour,\n\nVeuillez trouver ci-joint le compte rendu.\n\nCordialement,\n"
                        "-- envoyé par le RIS de référence du harnais Ségur\n")
    if with_xdm:
        package = build_xdm([(document, xdm_overrides)], submission=submission)
        message.add_attachment(package, maintype="application", subtype="zip", filename="IHE_XDM.ZIP")
    else:  # seeded defect `mss-without-xdm`: the CDA attached bare
        message.add_attachment(document, maintype="application", subtype="xml",
                               filename="compte-rendu-cda.xml")
    pdf = pdf or embedded_pdf(document) or volets.rendering(document)
    if pdf:
        message.add_attachment(pdf, maintype="application", subtype="pdf", filename="compte-rendu.pdf")
    return message


def send(config, message: EmailMessage, sender: str, recipient: str, context: ssl.SSLContext | None = None
         ) -> None:
    """Submit the message (over `context`, e.g. with the CRL: lookup.tls_context); SMTP 4xx and connection
    problems are outages, 5xx refusals."""
    config.require("smtp_host", "smtp_port")
    try:
        context = capped(context or ssl.create_default_context(cafile=config.ca_file or None), config)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"cannot read the CA file {config.ca_file}: {exc}") from exc
    try:
        with smtplib.SMTP(config.smtp_host, int(config.smtp_port), timeout=config.timeout) as smtp:
            smtp.ehlo()
            if config.smtp_starttls:
                smtp.starttls(context=context)
                smtp.ehlo()
            smtp.login(config.login_for(sender), config.password_for(sender))
            refused = smtp.send_message(message, from_addr=sender, to_addrs=[recipient])
    except smtplib.SMTPRecipientsRefused as exc:
        code, reply = next(iter(exc.recipients.values()))
        raise _reply_error(code, reply, f"recipient <{recipient}>") from exc
    except smtplib.SMTPResponseException as exc:
        raise _reply_error(exc.smtp_code, exc.smtp_error, "SMTP") from exc
    except (TimeoutError, smtplib.SMTPException, OSError) as exc:
        raise ServiceUnavailable(f"MSSanté unreachable: {type(exc).__name__}: {exc}") from exc
    if refused:
        code, reply = next(iter(refused.values()))
        raise _reply_error(code, reply, "recipient")


def _reply_error(code: int, reply: bytes | str, what: str):
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    message = f"MSSanté {what}: {code} {text}"
    if 400 <= code < 500:
        return ServiceUnavailable(message)
    return Refused(message)
