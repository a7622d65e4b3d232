"""The VIHF signature's fast path: the one XML-DSig shape VIHF signers produce, verified with lxml's
exclusive C14N and `cryptography` directly; anything else is left to signxml.

signxml checks any XML-DSig and spends most of its ~1.5-3 ms per VIHF in Python around the C work
(six serialise/parse round trips, the XML-DSig schema, the CA file read and parsed again, the
certificate wrapped in PEM lines by `textwrap`, its subject formatted for a message). An enveloped
signature of a SAML assertion has one shape: ds:Signature, a child of the assertion, holding SignedInfo
(exclusive C14N 1.0, an RSA signature method, one Reference to the assertion's ID with the transforms
enveloped-signature then exclusive C14N, a digest), SignatureValue, and KeyInfo/X509Data with one
X509Certificate (W3C XML-DSig 1.1 §4, §6.6.4; SAML 2.0 core §5.4: "enveloped signature", exclusive
canonicalisation, a Reference URI to the ID of the signed element; what signxml's XMLSigner writes and
the ANS VIHF sample in ../shared/ref/xds carries).

`verify_fast` only ever accepts: it returns the signed assertion and the signing certificate when the
signature has exactly that shape (no other attribute, element, text, comment or entity), every
algorithm is one the VIHF check accepts, the digest and the signature hold, and the certificate chains
to a trusted CA at the verification time with the end-entity policy signxml applies (KeyUsage with
digitalSignature; web PKI defaults for the CAs). In every other case — a refusal included — it returns
None and the caller asks signxml, so a refused VIHF is refused by signxml with its words, and the fast
path cannot accept what signxml would refuse. The signed assertion returned is, as signxml's, the
canonical bytes of the assertion without its signature parsed again (comments and unsigned text gone).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import os
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509 import verification
from lxml import etree

DS = "http://www.w3.org/2000/09/xmldsig#"
EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"
ENVELOPED = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"

#: RSA signature methods (XML-DSig 1.1 §6.4.2, RFC 6931 §2.3) and digests (§6.2, RFC 6931 §2.1.3).
RSA_METHODS = {
    "http://www.w3.org/2000/09/xmldsig#rsa-sha1": hashes.SHA1,
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha224": hashes.SHA224,
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256": hashes.SHA256,
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384": hashes.SHA384,
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512": hashes.SHA512,
}
DIGESTS = {
    "http://www.w3.org/2000/09/xmldsig#sha1": hashes.SHA1,
    "http://www.w3.org/2001/04/xmldsig-more#sha224": hashes.SHA224,
    "http://www.w3.org/2001/04/xmlenc#sha256": hashes.SHA256,
    "http://www.w3.org/2001/04/xmldsig-more#sha384": hashes.SHA384,
    "http://www.w3.org/2001/04/xmlenc#sha512": hashes.SHA512,
}

_SIGNATURE, _SIGNED_INFO, _SIGNATURE_VALUE, _KEY_INFO = (
    f"{{{DS}}}Signature", f"{{{DS}}}SignedInfo", f"{{{DS}}}SignatureValue", f"{{{DS}}}KeyInfo")
_C14N_METHOD, _SIGNATURE_METHOD, _REFERENCE = (
    f"{{{DS}}}CanonicalizationMethod", f"{{{DS}}}SignatureMethod", f"{{{DS}}}Reference")
_TRANSFORMS, _TRANSFORM, _DIGEST_METHOD, _DIGEST_VALUE = (
    f"{{{DS}}}Transforms", f"{{{DS}}}Transform", f"{{{DS}}}DigestMethod", f"{{{DS}}}DigestValue")
_X509_DATA, _X509_CERTIFICATE = f"{{{DS}}}X509Data", f"{{{DS}}}X509Certificate"


class _NotTheShape(Exception):
    """The signature is not the one shape the fast path verifies (or does not verify): signxml decides."""


@dataclass(frozen=True)
class Verified:
    signed: etree._Element  # the assertion as signed: its canonical bytes without ds:Signature, parsed
    certificate: x509.Certificate


def verify_fast(standalone: etree._Element, signature_methods: set[str], digests: set[str],
                ca_file: Path, when: datetime) -> Verified | None:
    """The verified assertion and its signer, or None: not the VIHF shape, or not valid (ask signxml)."""
    try:
        return _verify(standalone, signature_methods, digests, ca_file, when)
    except (_NotTheShape, InvalidSignature, verification.VerificationError, binascii.Error):
        return None  # not the shape, or not valid: signxml says which and why
    except Exception:  # noqa: BLE001 - hostile input (an odd key type, a broken certificate…): signxml's to judge
        return None


def _verify(root, signature_methods, digests, ca_file, when) -> Verified:
    assertion_id = root.get("ID")
    signatures = [e for e in root.iter(_SIGNATURE)]
    if not assertion_id or len(signatures) != 1 or signatures[0].getparent() is not root:
        raise _NotTheShape("one ds:Signature, a child of the assertion")
    if len(root.xpath("//*[@*[local-name() = 'ID'] = $id]", id=assertion_id)) != 1:
        raise _NotTheShape("the assertion's ID names one element")
    if any(isinstance(node, etree._Entity) for node in root.iter()):
        raise _NotTheShape("entities")
    signature = signatures[0]
    signed_info, signature_value, key_info = _children(signature, _SIGNED_INFO, _SIGNATURE_VALUE, _KEY_INFO)
    c14n_method, signature_method, reference = _children(
        signed_info, _C14N_METHOD, _SIGNATURE_METHOD, _REFERENCE)
    transforms, digest_method, digest_value = _children(
        reference, _TRANSFORMS, _DIGEST_METHOD, _DIGEST_VALUE, attributes=("URI",))
    enveloped, exclusive = _children(transforms, _TRANSFORM, _TRANSFORM)
    [x509_data] = _children(key_info, _X509_DATA)
    [certificate_element] = _children(x509_data, _X509_CERTIFICATE)
    for element, algorithm in ((c14n_method, EXC_C14N), (enveloped, ENVELOPED), (exclusive, EXC_C14N)):
        _leaf(element, ("Algorithm",))
        if element.get("Algorithm") != algorithm:
            raise _NotTheShape(f"{element.tag} is not {algorithm}")
    for element in (signature_method, digest_method):
        _leaf(element, ("Algorithm",))
    method, digest = signature_method.get("Algorithm"), digest_method.get("Algorithm")
    if method not in RSA_METHODS or method not in signature_methods or digest not in DIGESTS \
            or digest not in digests or reference.get("URI") != f"#{assertion_id}":
        raise _NotTheShape("an algorithm or a reference the fast path does not take")
    raw_signature, raw_digest, der = (
        _base64(_leaf(element)) for element in (signature_value, digest_value, certificate_element))

    certificate = x509.load_der_x509_certificate(der)
    public_key = certificate.public_key()
    if not isinstance(public_key, rsa.RSAPublicKey):
        raise _NotTheShape("an RSA signature method needs an RSA key")
    signed_info_c14n = etree.tostring(signed_info, method="c14n", exclusive=True, with_comments=False)
    public_key.verify(raw_signature, signed_info_c14n, padding.PKCS1v15(), RSA_METHODS[method]())
    _chain_verifier(ca_file, when).verify(certificate, [])

    _remove_enveloped(signature)
    assertion_c14n = etree.tostring(root, method="c14n", exclusive=True, with_comments=False)
    hashed = hashes.Hash(DIGESTS[digest]())
    hashed.update(assertion_c14n)
    if not hmac.compare_digest(hashed.finalize(), raw_digest):
        raise _NotTheShape("digest mismatch")
    return Verified(etree.fromstring(assertion_c14n), certificate)


def _children(element, *tags: str, attributes: tuple[str, ...] = ()) -> list:
    """The element's children, which must be exactly `tags` in that order, with no text between them and
    no attribute but `attributes`."""
    children = list(element)
    if [child.tag for child in children] != list(tags) or set(element.attrib) - set(attributes):
        raise _NotTheShape(f"{element.tag} does not hold exactly {tags}")
    if (element.text or "").strip() or any((child.tail or "").strip() for child in children):
        raise _NotTheShape(f"text in {element.tag}")
    return children


def _leaf(element, attributes: tuple[str, ...] = ()) -> str:
    """The text of an element that must have no child and no attribute but `attributes`."""
    if len(element) or set(element.attrib) - set(attributes):
        raise _NotTheShape(f"{element.tag} has children or attributes")
    return element.text or ""


def _base64(text: str) -> bytes:
    return base64.b64decode("".join(text.split()), validate=True)


def _remove_enveloped(signature) -> None:
    """The enveloped-signature transform: the signature goes, the text after it stays (XML-DSig §6.6.4)."""
    parent, previous = signature.getparent(), signature.getprevious()
    if signature.tail:
        if previous is not None:
            previous.tail = (previous.tail or "") + signature.tail
        else:
            parent.text = (parent.text or "") + signature.tail
    parent.remove(signature)


# --- the trusted CAs, read once per version of the file -------------------------------------------------
_stores: dict[tuple, verification.Store] = {}
_stores_lock = threading.Lock()


def _ca_store(ca_file: Path) -> verification.Store:
    """The CAs of a PEM file, parsed again only when the file changes (its path, size and mtime)."""
    info = os.stat(ca_file)
    key = (str(ca_file), info.st_size, info.st_mtime_ns, info.st_ino)
    with _stores_lock:
        store = _stores.get(key)
    if store is None:
        store = verification.Store(x509.load_pem_x509_certificates(Path(ca_file).read_bytes()))
        with _stores_lock:
            if len(_stores) >= 32:
                _stores.clear()
            _stores[key] = store
    return store


def _require_digital_signature(_policy, _certificate, key_usage: x509.KeyUsage) -> None:
    if not key_usage.digital_signature:
        raise ValueError("certificate KeyUsage does not allow digitalSignature")


#: signxml's own policies (`X509CertChainVerifier`): the signer's KeyUsage allows signing; CAs as the web PKI.
_EE_POLICY = verification.ExtensionPolicy.permit_all().require_present(
    x509.KeyUsage, verification.Criticality.AGNOSTIC, _require_digital_signature)
_CA_POLICY = verification.ExtensionPolicy.webpki_defaults_ca()


def _chain_verifier(ca_file: Path, when: datetime):
    return (verification.PolicyBuilder().store(_ca_store(ca_file)).time(when)
            .extension_policies(ee_policy=_EE_POLICY, ca_policy=_CA_POLICY).build_client_verifier())
