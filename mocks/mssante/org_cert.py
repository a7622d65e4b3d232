"""The client certificate of an SMTP session, and whether it opens an application mailbox (REM MSS/CONF.12).

An application mailbox (BAL applicative) of the MSSanté API LPS is opened by mounting TLS with an IGC-Santé
**ORG AUTH_CLI** certificate of its structure, then logging in with PLAIN and the mailbox's address (REM
SC.MSS/CONF.12, "Référentiel socle MSSanté #2 Clients de Messageries Sécurisées de Santé" v1.0, API LPS —
shared/ref/psc/README.md §3, source P-REF2). An IGC-Santé ORG certificate names a service of a structure: CN
the service, OU the structure's national id (IDNST), O its name (ANS's example subject DN
`CN=CLIENT_TEST_RORN,OU=33333333333,O=GIP - TEST3012` on gnius.esante.gouv.fr, "je commande mon
certificat", as `segur.kernel.pki` issues them); AUTH_CLI is its client-authentication use (extended key
usage `clientAuth`, RFC 5280 §4.2.1.12).

The mock reads the certificate the client presented during the handshake (already verified against the
test CA by TLS), records its facts in the session journal (`client.tls.client_cert`), and says whether it
is an ORG AUTH_CLI certificate of the structure owning the mailbox.
"""

from __future__ import annotations

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

#: the modes of the `app_cert` setting
APP_CERT_MODES = ("off", "record", "require")
#: the extended key usages named in the journal (others by their dotted OID)
USAGE_NAMES = {ExtendedKeyUsageOID.CLIENT_AUTH: "clientAuth", ExtendedKeyUsageOID.SERVER_AUTH: "serverAuth"}


def certificate_facts(der: bytes | None) -> dict | None:
    """What the session journal keeps of a client certificate (None: the client presented none)."""
    if not der:
        return None
    certificate = x509.load_der_x509_certificate(der)

    def first(name: x509.Name, oid) -> str | None:
        values = name.get_attributes_for_oid(oid)
        return str(values[0].value) if values else None

    subject = certificate.subject
    try:
        usages = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        ekus = [USAGE_NAMES.get(oid, oid.dotted_string) for oid in usages]
        client_auth = ExtendedKeyUsageOID.CLIENT_AUTH in usages
    except x509.ExtensionNotFound:
        ekus, client_auth = [], False
    return {"subject": subject.rfc4514_string(), "cn": first(subject, NameOID.COMMON_NAME),
            "o": first(subject, NameOID.ORGANIZATION_NAME),
            "ou": first(subject, NameOID.ORGANIZATIONAL_UNIT_NAME),
            "issuer": certificate.issuer.rfc4514_string(), "serial": format(certificate.serial_number, "x"),
            "not_after": certificate.not_valid_after_utc.isoformat(), "extended_key_usage": ekus,
            "auth_cli": client_auth}


def org_certificate_problem(cert: dict | None, structure_id: str) -> str | None:
    """Why `cert` (facts of `certificate_facts`) does not open an application mailbox of the structure whose
    national id is `structure_id`; None when it does."""
    if not cert:
        return "no client certificate was presented in the TLS handshake"
    if not cert.get("auth_cli"):
        return f"the certificate {cert['subject']} is not for client authentication (no clientAuth usage)"
    if cert.get("ou") != structure_id:
        return (f"the certificate {cert['subject']} names the structure {cert.get('ou')!r} (OU), not the "
                f"mailbox's {structure_id}")
    return None
