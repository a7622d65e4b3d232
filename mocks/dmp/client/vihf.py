"""Build and sign a VIHF 3.0 assertion, as an editor's software does before each DMP call.

The shape follows the ANS "Mapping VIHF pour le DMP" table and the ANS ITI-41 sample (see
`segur.mocks.dmp.vihf`): Issuer = the signing certificate's DN, enveloped XML-DSig placed right after
the Issuer (the SAML 2.0 schema order), exclusive C14N, RSA-SHA256. `VihfDefects` are seams for the
negative tests a harness needs (unsigned, missing attribute, wrong version, tampered after signing…).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from cryptography import x509
from lxml import etree
from signxml import XMLSigner
from signxml.algorithms import CanonicalizationMethod, DigestAlgorithm, SignatureMethod

from segur.kernel.ins import Ins
from segur.kernel.pki import CertFiles

from ..vihf import (
    ATTR_AUTH_MODE,
    ATTR_LPS_HOMOLOGATION,
    ATTR_LPS_ID,
    ATTR_LPS_NAME,
    ATTR_LPS_VERSION,
    ATTR_PURPOSE,
    ATTR_RESOURCE_ID,
    ATTR_RESOURCE_URN,
    ATTR_ROLE,
    ATTR_SECTOR,
    ATTR_STRUCTURE,
    ATTR_SUBJECT_ID,
    ATTR_VERSION,
    DS,
    HL7,
    ISSUER_FORMAT,
    PROFESSION_SYSTEM,
    PURPOSE_SYSTEM,
    RESOURCE_URN_DMP,
    SAML,
    WSSE,
    CodedValue,
)

XSI = "http://www.w3.org/2001/XMLSchema-instance"
SPECIALTY_SYSTEM = "1.2.250.1.71.4.2.5"  # TRE_R38-SpecialiteOrdinale (ANS sample: SM26)


@dataclass
class VihfIdentity:
    """Who calls the DMP, for which patient, from which software."""

    structure_id: str  # Identifiant_Structure: the structure's national id (e.g. "1" + FINESS)
    patient: Ins | str  # the patient's INS (an Ins, or already written INS^^^&OID&ISO^NH)
    # the user's national id (8 + RPPS), or of the person responsible for automated processing
    subject_nameid: str
    subject_id: str  # "Nom Prénom (Service)" of the user, or the software's name
    sector: str = "SA07"  # Secteur_Activite code (TRE_R02, JDV_J61), e.g. SA07 cabinet individuel
    profession: CodedValue = field(default_factory=lambda: CodedValue("10", PROFESSION_SYSTEM, "Médecin"))
    specialty: CodedValue | None = field(
        default_factory=lambda: CodedValue("SM44", SPECIALTY_SYSTEM,
                                           "Radio-diagnostic et imagerie médicale (SM)"))
    authentication_mode: str = "INDIRECTE"
    purpose: CodedValue = field(default_factory=lambda: CodedValue("normal", PURPOSE_SYSTEM, "Accès normal"))
    lps_name: str = "SEGUR-HARNESS-CLIENT"
    lps_version: str = "0.1.0"
    lps_homologation: str = "SEGUR-TEST-0001"
    lps_id: str | None = None
    authn_context: str = "urn:oasis:names:tc:SAML:2.0:ac:classes:TLSClient"

    @property
    def resource_id(self) -> str:
        return self.patient.xds_patient_id() if isinstance(self.patient, Ins) else self.patient


@dataclass
class VihfDefects:
    """Deliberate mistakes, for tests that must see the DMP refuse them."""

    unsigned: bool = False
    omit_attributes: tuple[str, ...] = ()
    attribute_values: dict[str, str] = field(default_factory=dict)  # replace an attribute's text value
    issuer: str | None = None  # an Issuer that is not the certificate's DN
    validity: timedelta | None = None  # NotOnOrAfter - NotBefore (default 10 minutes)
    not_before_offset: timedelta = timedelta(minutes=-1)  # NotBefore relative to now
    no_conditions: bool = False
    no_authn_statement: bool = False
    no_nameid: bool = False
    signature_algorithm: SignatureMethod = SignatureMethod.RSA_SHA256
    digest_algorithm: DigestAlgorithm = DigestAlgorithm.SHA256


def _ns(prefix_uri: str, local: str) -> str:
    return f"{{{prefix_uri}}}{local}"


def _instant(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def certificate_subject(cert_files: CertFiles) -> str:
    """The signing certificate's subject DN, as the VIHF Issuer carries it."""
    return x509.load_pem_x509_certificate(cert_files.cert_file.read_bytes()).subject.rfc4514_string()


def build_assertion(identity: VihfIdentity, issuer: str, *, now: datetime | None = None,
                    assertion_id: str | None = None, defects: VihfDefects | None = None) -> etree._Element:
    """The unsigned VIHF assertion (with a signature placeholder after the Issuer)."""
    defects = defects or VihfDefects()
    now = now or datetime.now(UTC)
    assertion = etree.Element(_ns(SAML, "Assertion"), nsmap={"saml2": SAML, "xsi": XSI})
    assertion.set("ID", assertion_id or f"_{uuid.uuid4()}")
    assertion.set("IssueInstant", _instant(now))
    assertion.set("Version", "2.0")
    issuer_element = etree.SubElement(assertion, _ns(SAML, "Issuer"), Format=ISSUER_FORMAT)
    issuer_element.text = defects.issuer if defects.issuer is not None else issuer
    if not defects.unsigned:
        etree.SubElement(assertion, _ns(DS, "Signature"), Id="placeholder", nsmap={"ds": DS})
    subject = etree.SubElement(assertion, _ns(SAML, "Subject"))
    if not defects.no_nameid:
        etree.SubElement(subject, _ns(SAML, "NameID")).text = identity.subject_nameid
    if not defects.no_conditions:
        not_before = now + defects.not_before_offset
        etree.SubElement(assertion, _ns(SAML, "Conditions"), NotBefore=_instant(not_before),
                         NotOnOrAfter=_instant(not_before + (defects.validity or timedelta(minutes=10))))
    if not defects.no_authn_statement:
        authn = etree.SubElement(assertion, _ns(SAML, "AuthnStatement"), AuthnInstant=_instant(now))
        context = etree.SubElement(authn, _ns(SAML, "AuthnContext"))
        etree.SubElement(context, _ns(SAML, "AuthnContextClassRef")).text = identity.authn_context
    statement = etree.SubElement(assertion, _ns(SAML, "AttributeStatement"))

    def text_attribute(name: str, value: str | None) -> None:
        if name in defects.omit_attributes or value is None:
            return
        attribute = etree.SubElement(statement, _ns(SAML, "Attribute"), Name=name)
        text = defects.attribute_values.get(name, value)
        etree.SubElement(attribute, _ns(SAML, "AttributeValue")).text = text

    def coded_attribute(name: str, tag: str, values: list[CodedValue]) -> None:
        if name in defects.omit_attributes:
            return
        attribute = etree.SubElement(statement, _ns(SAML, "Attribute"), Name=name)
        for value in values:
            holder = etree.SubElement(attribute, _ns(SAML, "AttributeValue"))
            ce = etree.SubElement(holder, _ns(HL7, tag), nsmap={None: HL7, "xsi": XSI})
            ce.set("code", value.code)
            ce.set("codeSystem", value.code_system)
            ce.set("displayName", value.display)
            ce.set(_ns(XSI, "type"), "CE")

    text_attribute(ATTR_VERSION, "3.0")
    text_attribute(ATTR_SECTOR, f"{identity.sector}^1.2.250.1.71.4.2.4")
    text_attribute(ATTR_RESOURCE_URN, RESOURCE_URN_DMP)
    text_attribute(ATTR_SUBJECT_ID, identity.subject_id)
    text_attribute(ATTR_STRUCTURE, identity.structure_id)
    text_attribute(ATTR_LPS_ID, identity.lps_id)
    text_attribute(ATTR_LPS_NAME, identity.lps_name)
    text_attribute(ATTR_LPS_HOMOLOGATION, identity.lps_homologation)
    text_attribute(ATTR_LPS_VERSION, identity.lps_version)
    text_attribute(ATTR_RESOURCE_ID, identity.resource_id)
    text_attribute(ATTR_AUTH_MODE, identity.authentication_mode)
    coded_attribute(ATTR_PURPOSE, "PurposeOfUse", [identity.purpose])
    coded_attribute(
        ATTR_ROLE, "Role", [identity.profession] + ([identity.specialty] if identity.specialty else []))
    return assertion


class _LegacyCapableSigner(XMLSigner):
    """signxml refuses SHA-1 unless told to; the ANS sample still signs with RSA-SHA1, so allow it on
    request."""

    def check_deprecated_methods(self) -> None:
        return None


def sign_assertion(assertion: etree._Element, cert_files: CertFiles,
                   defects: VihfDefects | None = None) -> etree._Element:
    """Sign the assertion (enveloped XML-DSig over its ID, the certificate in KeyInfo)."""
    defects = defects or VihfDefects()
    sha1 = "SHA1" in defects.signature_algorithm.name or "SHA1" in defects.digest_algorithm.name
    signer_class = _LegacyCapableSigner if sha1 else XMLSigner
    signer = signer_class(signature_algorithm=defects.signature_algorithm,
                          digest_algorithm=defects.digest_algorithm,
                          c14n_algorithm=CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0)
    return signer.sign(assertion, key=cert_files.private_key(), cert=cert_files.cert_file.read_text(),
                       reference_uri=f"#{assertion.get('ID')}", id_attribute="ID")


def build_vihf(identity: VihfIdentity, cert_files: CertFiles, *, now: datetime | None = None,
               assertion_id: str | None = None, defects: VihfDefects | None = None) -> etree._Element:
    """A complete VIHF, signed unless `defects.unsigned`."""
    defects = defects or VihfDefects()
    assertion = build_assertion(identity, certificate_subject(cert_files), now=now, assertion_id=assertion_id,
                                defects=defects)
    if defects.unsigned:
        return assertion
    return sign_assertion(assertion, cert_files, defects)


def security_header(assertion: etree._Element | None) -> etree._Element:
    """`wsse:Security` holding the assertion (an empty one when `assertion` is None)."""
    header = etree.Element(_ns(WSSE, "Security"), nsmap={"wsse": WSSE})
    if assertion is not None:
        header.append(assertion)
    return header
