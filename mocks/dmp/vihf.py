"""The VIHF: the SAML 2.0 assertion a DMP caller puts in `wsse:Security`, and how the mock checks it.

VIHF 3.0 ("Vecteur d'Identification et d'Habilitation Formelles") as ANS documents it for the DMP
("Mapping VIHF pour le DMP", ansforge/IG-hl7v2-volet-transmission-document-cda-r2, and the ANS ITI-41
sample in ../shared/ref/xds): an assertion signed (enveloped XML-DSig) with the structure's
certificate, whose Issuer is that certificate's DN, with a Subject/NameID, an AuthnStatement, and the
attributes `VIHF_Version`, `Identifiant_Structure`, `Secteur_Activite`, subject-id, role, resource-id
(the patient's INS), `Ressource_URN` (urn:dmp), purposeofuse, `Authentification_Mode`, `LPS_Nom`,
`LPS_Version`, `LPS_ID_HOMOLOGATION_DMP` (and optionally `LPS_ID`).

`verify_vihf` checks all of it and returns the claims only when the signature holds; the claims are
read from the XML signxml verified (never from the raw request), which defeats signature wrapping.
"""

from __future__ import annotations

import base64
import hashlib
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.x509.oid import NameOID
from lxml import etree
from signxml import SignatureMethod, XMLVerifier
from signxml.algorithms import DigestAlgorithm
from signxml.exceptions import InvalidCertificate, InvalidDigest, InvalidInput, InvalidSignature
from signxml.verifier import SignatureConfiguration

from segur.kernel import ins as ins_helpers
from segur.kernel.findings import Finding

from . import valuesets
from .dsig import verify_fast
from .rules import (
    VIHF_001,
    VIHF_002,
    VIHF_003,
    VIHF_004,
    VIHF_005,
    VIHF_006,
    VIHF_007,
    VIHF_008,
    VIHF_009,
    VIHF_010,
    VIHF_011,
    VIHF_012,
    VIHF_013,
    VIHF_014,
    VIHF_015,
    VIHF_016,
    VIHF_017,
    VIHF_018,
)

SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
DS = "http://www.w3.org/2000/09/xmldsig#"
HL7 = "urn:hl7-org:v3"
NS = {"saml2": SAML, "wsse": WSSE, "ds": DS, "hl7": HL7}

ISSUER_FORMAT = "urn:oasis:names:tc:SAML:1.1:nameid-format:X509SubjectName"

ATTR_VERSION = "VIHF_Version"
ATTR_STRUCTURE = "Identifiant_Structure"
ATTR_SECTOR = "Secteur_Activite"
ATTR_SUBJECT_ID = "urn:oasis:names:tc:xspa:1.0:subject:subject-id"
ATTR_ROLE = "urn:oasis:names:tc:xacml:2.0:subject:role"
ATTR_RESOURCE_ID = "urn:oasis:names:tc:xacml:2.0:resource:resource-id"
ATTR_RESOURCE_URN = "Ressource_URN"
ATTR_PURPOSE = "urn:oasis:names:tc:xspa:1.0:subject:purposeofuse"
ATTR_AUTH_MODE = "Authentification_Mode"
ATTR_LPS_NAME = "LPS_Nom"
ATTR_LPS_VERSION = "LPS_Version"
ATTR_LPS_HOMOLOGATION = "LPS_ID_HOMOLOGATION_DMP"
ATTR_LPS_ID = "LPS_ID"

#: Attributes every VIHF for the DMP carries (ANS mapping table; LPS_ID is optional there).
MANDATORY_ATTRIBUTES = (
    ATTR_VERSION, ATTR_STRUCTURE, ATTR_SECTOR, ATTR_SUBJECT_ID, ATTR_ROLE, ATTR_RESOURCE_ID,
    ATTR_RESOURCE_URN, ATTR_PURPOSE, ATTR_AUTH_MODE, ATTR_LPS_NAME, ATTR_LPS_VERSION, ATTR_LPS_HOMOLOGATION,
)

RESOURCE_URN_DMP = "urn:dmp"
PURPOSE_SYSTEM = "1.2.250.1.213.1.1.4.248"  # "mode acces VIHF 1.0" (ANS sample)
PROFESSION_SYSTEM = "1.2.250.1.71.1.2.7"  # TRE_G15-ProfessionSante (ANS sample: code 10 Médecin)
# : Professions whose VIHF must carry a second role value, their specialty (ANS mapping: médecins,
# pharmaciens).
PROFESSIONS_NEEDING_SPECIALTY = {"10": "médecin", "21": "pharmacien"}

#: Signature algorithms accepted: signxml's secure defaults plus RSA-SHA1/SHA-1, which the ANS sample uses.
_ACCEPTED_SIGNATURE_METHODS = SignatureConfiguration().signature_methods | {SignatureMethod.RSA_SHA1}
_ACCEPTED_DIGESTS = SignatureConfiguration().digest_algorithms | {DigestAlgorithm.SHA1}
_ACCEPTED_METHOD_URIS = {method.value for method in _ACCEPTED_SIGNATURE_METHODS}
_ACCEPTED_DIGEST_URIS = {digest.value for digest in _ACCEPTED_DIGESTS}


@dataclass(frozen=True)
class CodedValue:
    """An HL7 CE carried in an AttributeValue (role, purpose of use)."""

    code: str
    code_system: str
    display: str = ""


@dataclass(frozen=True)
class VihfClaims:
    """What a verified VIHF says about the caller and the patient."""

    assertion_id: str
    issuer: str
    subject_nameid: str
    subject_id: str
    structure_id: str
    sector: str  # as sent, CODE^OID
    roles: tuple[CodedValue, ...]
    version: str
    authentication_mode: str
    resource_id: str
    patient: ins_helpers.Ins | None
    resource_urn: str
    purpose_of_use: CodedValue | None
    lps_name: str
    lps_version: str
    lps_homologation: str
    lps_id: str | None
    issue_instant: datetime | None
    not_before: datetime | None
    not_on_or_after: datetime | None
    authn_context: str
    signer_subject: str
    signer_structure_id: str | None  # OU of the signing certificate
    signer_organisation: str | None  # O of the signing certificate

    @property
    def sector_code(self) -> str:
        return self.sector.split("^", 1)[0]

    @property
    def profession(self) -> CodedValue | None:
        return self.roles[0] if self.roles else None

    @property
    def caller(self) -> str:
        """Who is calling, for authorisation look-ups and the journal: the user id, else the structure."""
        return self.subject_nameid or self.structure_id


@dataclass
class VihfContext:
    """What the mock knows when it checks a VIHF: whom it trusts, who connected, what time it is."""

    trusted_ca_files: tuple[Path, ...] | list[Path] | Path
    tls_structure_id: str | None = None  # OU of the TLS client certificate, when mTLS is on
    tls_organisation: str | None = None  # O of the TLS client certificate
    now: datetime | Callable[[], datetime] | None = None
    test_mode: bool = True
    accepted_versions: tuple[str, ...] = ("3.0",)
    accepted_authentication_modes: tuple[str, ...] = ("INDIRECTE", "DIRECTE")
    clock_skew: timedelta = timedelta(minutes=5)
    _bundle: Path | None = field(default=None, repr=False)

    def current_time(self) -> datetime:
        if self.now is None:
            return datetime.now(UTC)
        moment = self.now() if callable(self.now) else self.now
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)

    @property
    def tls_structure(self) -> str | None:
        """The structure the TLS certificate names: its OU (IGC-Santé puts the structure id there), else O."""
        return self.tls_structure_id or self.tls_organisation

    def ca_bundle(self) -> Path:
        """One PEM file holding every trusted CA (signxml reads a single file)."""
        trusted = self.trusted_ca_files
        files = [trusted] if isinstance(trusted, str | Path) else list(trusted)
        if len(files) == 1:
            return Path(files[0])
        if self._bundle is None or not self._bundle.exists():
            data = b"".join(Path(f).read_bytes().rstrip() + b"\n" for f in files)
            name = hashlib.sha256(data).hexdigest()[:16]
            bundle = Path(tempfile.gettempdir()) / f"segur-vihf-ca-{name}.pem"
            bundle.write_bytes(data)
            self._bundle = bundle
        return self._bundle

    @classmethod
    def from_wsgi_environ(cls, environ: dict, trusted_ca_files, **options) -> VihfContext:
        """Fill the TLS client identity from a WSGI environ (cheroot's SSL_CLIENT_* variables)."""
        ou = environ.get("SSL_CLIENT_S_DN_OU")
        org = environ.get("SSL_CLIENT_S_DN_O")
        pem = environ.get("SSL_CLIENT_CERT")
        if pem and not (ou or org):
            try:
                cert = x509.load_pem_x509_certificate(pem.encode() if isinstance(pem, str) else pem)
                ou, org = _name_attr(cert.subject, NameOID.ORGANIZATIONAL_UNIT_NAME), _name_attr(
                    cert.subject, NameOID.ORGANIZATION_NAME)
            except ValueError:
                pass
        return cls(trusted_ca_files, tls_structure_id=ou or None, tls_organisation=org or None, **options)


def _name_attr(name: x509.Name, oid) -> str | None:
    values = name.get_attributes_for_oid(oid)
    return str(values[0].value) if values else None


def _text(element: etree._Element | None) -> str:
    return (element.text or "").strip() if element is not None else ""


def parse_time(value: str | None) -> datetime | None:
    """xs:dateTime as SAML writes it (UTC, 'Z', optional fraction); None if absent, ValueError if bad."""
    if not value:
        return None
    moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _normalised_dn(text: str) -> frozenset[tuple[str, str]]:
    """A DN as a set of (attribute, value), so 'CN=a, O=b' equals 'O=b,CN=a' (order and spacing vary)."""
    parts: list[tuple[str, str]] = []
    current = ""
    escaped = False
    for char in text:
        if escaped:
            current += char
            escaped = False
        elif char == "\\":
            current += char
            escaped = True
        elif char in ",;":
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    pairs = []
    for part in parts:
        if "=" in part:
            key, value = part.split("=", 1)
            pairs.append((key.strip().upper(), value.strip()))
    return frozenset(pairs)


class _Attributes:
    def __init__(self, assertion: etree._Element):
        self.values: dict[str, list[etree._Element]] = {}
        for attribute in assertion.iterfind("saml2:AttributeStatement/saml2:Attribute", NS):
            name = attribute.get("Name", "")
            self.values.setdefault(name, []).extend(attribute.iterfind("saml2:AttributeValue", NS))

    def text(self, name: str) -> str:
        values = self.values.get(name) or []
        return _text(values[0]) if values else ""

    def coded(self, name: str) -> list[CodedValue | None]:
        """Each AttributeValue as the CE it carries (Role, PurposeOfUse…); None for a value that is not
        one."""
        found = []
        for value in self.values.get(name, []):
            ce = next(iter(value), None)
            if ce is None or not ce.get("code"):
                found.append(None)
            else:
                found.append(
                    CodedValue(ce.get("code", ""), ce.get("codeSystem", ""), ce.get("displayName", "")))
        return found

    def present(self, name: str) -> bool:
        return any(_text(v) or len(v) for v in self.values.get(name, []))


def verify_vihf(security_header: etree._Element | None,
                context: VihfContext) -> tuple[VihfClaims | None, list[Finding]]:
    """Check the VIHF in a `wsse:Security` header; claims are returned only when its signature holds."""
    if security_header is None:
        return None, [VIHF_001.finding(location="soap:Header")]
    assertions = security_header.findall("saml2:Assertion", NS)
    if not assertions:
        return None, [VIHF_001.finding(location="soap:Header/wsse:Security")]
    if len(assertions) > 1:
        return None, [VIHF_002.finding(location="wsse:Security",
                                       detail=f"{len(assertions)} assertions where one is expected")]
    assertion = assertions[0]
    where = "wsse:Security/saml2:Assertion"
    findings: list[Finding] = []
    problems = []
    if assertion.get("Version") != "2.0":
        problems.append(f"Version is {assertion.get('Version')!r}, not '2.0'")
    if not assertion.get("ID"):
        problems.append("the ID attribute is missing")
    if not assertion.get("IssueInstant"):
        problems.append("the IssueInstant attribute is missing")
    if problems:
        findings.append(VIHF_002.finding(location=where, detail="; ".join(problems)))
        if not assertion.get("ID"):
            return None, findings

    verified, signer, signature_findings = _verify_signature(assertion, context)
    findings += signature_findings
    # Read the claims from what the signature covers; when it does not hold, from the request itself, so the
    # caller still learns everything else that is wrong (but gets no claims back).
    source = verified if verified is not None else assertion
    claims, content_findings = _read_claims(source, signer, context)
    findings += content_findings
    return (claims if verified is not None else None), findings


def _verify_signature(assertion: etree._Element, context: VihfContext):
    where = "wsse:Security/saml2:Assertion/ds:Signature"
    if assertion.find("ds:Signature", NS) is None:
        return None, None, [VIHF_003.finding(location="wsse:Security/saml2:Assertion")]
    standalone = etree.fromstring(etree.tostring(assertion))  # the assertion alone, as signed
    fast = verify_fast(standalone, _ACCEPTED_METHOD_URIS, _ACCEPTED_DIGEST_URIS, context.ca_bundle(),
                       context.current_time())
    if fast is not None:  # the usual VIHF shape, valid (dsig.py); any other case is signxml's to judge
        return fast.signed, fast.certificate, []
    standalone = etree.fromstring(etree.tostring(assertion))  # the fast path may have changed its copy
    config = SignatureConfiguration(
        expect_references=1, signature_methods=_ACCEPTED_SIGNATURE_METHODS,
        digest_algorithms=_ACCEPTED_DIGESTS, verification_time=context.current_time())
    try:
        result = XMLVerifier().verify(standalone, ca_pem_file=str(context.ca_bundle()), id_attribute="ID",
                                      expect_config=config)
    except InvalidCertificate as exc:
        return None, None, [VIHF_005.finding(location=where, detail=_plain(exc))]
    except InvalidDigest as exc:
        return None, None, [VIHF_004.finding(
            location=where, detail=f"the assertion was changed after it was signed ({_plain(exc)})")]
    except (InvalidSignature, InvalidInput) as exc:
        return None, None, [VIHF_004.finding(location=where, detail=_plain(exc))]
    except etree.DocumentInvalid as exc:
        return None, None, [VIHF_004.finding(
            location=where, detail=f"the ds:Signature element is not valid XML-DSig ({exc})")]
    except Exception as exc:  # noqa: BLE001 - hostile input must give a finding, never a traceback
        return None, None, [VIHF_004.finding(
            location=where, detail=f"the signature cannot be processed ({type(exc).__name__}: {exc})")]
    signed = result.signed_xml
    if (signed is None or signed.tag != f"{{{SAML}}}Assertion" or signed.get("ID") != assertion.get("ID")):
        return None, None, [VIHF_004.finding(
            location=where,
            detail="the signature does not cover this assertion (its Reference points elsewhere)")]
    certificate = _signing_certificate(result)
    return signed, certificate, []


def _plain(exc: Exception) -> str:
    text = str(exc).strip() or type(exc).__name__
    if "candidates exhausted" in text:
        return "its issuer is not a trusted CA, or it is expired or not yet valid"
    return text


def _signing_certificate(result) -> x509.Certificate | None:
    signature = result.signature_xml
    cert_element = signature.find(".//ds:X509Certificate", NS) if signature is not None else None
    if cert_element is None or not _text(cert_element):
        return None

    try:
        return x509.load_der_x509_certificate(base64.b64decode("".join(_text(cert_element).split())))
    except ValueError:
        return None


def _read_claims(assertion: etree._Element, signer: x509.Certificate | None,
                 context: VihfContext) -> tuple[VihfClaims, list[Finding]]:
    findings: list[Finding] = []
    where = "wsse:Security/saml2:Assertion"
    now = context.current_time()

    # Issuer: the signing certificate's DN, format X509SubjectName.
    issuer_element = assertion.find("saml2:Issuer", NS)
    issuer = _text(issuer_element)
    signer_subject = signer.subject.rfc4514_string() if signer is not None else ""
    if not issuer:
        findings.append(VIHF_006.finding(location=f"{where}/saml2:Issuer", problem="missing or empty"))
    else:
        if issuer_element.get("Format") != ISSUER_FORMAT:
            findings.append(VIHF_006.finding(
                location=f"{where}/saml2:Issuer/@Format",
                problem=f"declared with Format {issuer_element.get('Format')!r}, not {ISSUER_FORMAT}"))
        if signer is not None and _normalised_dn(issuer) != _normalised_dn(signer_subject):
            findings.append(VIHF_006.finding(
                location=f"{where}/saml2:Issuer",
                problem=f"'{issuer}', not the signing certificate's subject '{signer_subject}'"))

    nameid = _text(assertion.find("saml2:Subject/saml2:NameID", NS))
    if not nameid:
        findings.append(VIHF_007.finding(location=f"{where}/saml2:Subject/saml2:NameID"))

    authn = assertion.find("saml2:AuthnStatement", NS)
    class_ref = authn.find("saml2:AuthnContext/saml2:AuthnContextClassRef", NS) if authn is not None else None
    authn_context = _text(class_ref)
    if authn is None:
        findings.append(VIHF_008.finding(location=where, detail="no saml2:AuthnStatement"))
    else:
        if not authn.get("AuthnInstant"):
            findings.append(VIHF_008.finding(
                location=f"{where}/saml2:AuthnStatement", detail="no AuthnInstant"))
        if not authn_context:
            findings.append(VIHF_008.finding(location=f"{where}/saml2:AuthnStatement",
                                             detail="no AuthnContext/AuthnContextClassRef"))

    # The validity window.
    issue_instant = not_before = not_on_or_after = None
    conditions = assertion.find("saml2:Conditions", NS)
    try:
        issue_instant = parse_time(assertion.get("IssueInstant"))
        if conditions is not None:
            not_before = parse_time(conditions.get("NotBefore"))
            not_on_or_after = parse_time(conditions.get("NotOnOrAfter"))
    except ValueError as exc:
        findings.append(VIHF_002.finding(location=where, detail=f"a date is not an xs:dateTime ({exc})"))
    skew = context.clock_skew
    stamp = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    if issue_instant is not None and issue_instant > now + skew:
        findings.append(VIHF_009.finding(
            location=f"{where}/@IssueInstant",
            detail=f"issued at {assertion.get('IssueInstant')}, in the future (now {stamp})"))
    if not_before is not None and now + skew < not_before:
        findings.append(VIHF_009.finding(
            location=f"{where}/saml2:Conditions/@NotBefore",
            detail=f"not valid before {conditions.get('NotBefore')} (now {stamp})"))
    if not_on_or_after is not None and now - skew >= not_on_or_after:
        findings.append(VIHF_009.finding(location=f"{where}/saml2:Conditions/@NotOnOrAfter",
                                         detail=f"expired at {conditions.get('NotOnOrAfter')} (now {stamp})"))
    if not_before is not None and not_on_or_after is not None and not_on_or_after <= not_before:
        findings.append(VIHF_009.finding(location=f"{where}/saml2:Conditions",
                                         detail="NotOnOrAfter is not after NotBefore"))

    attributes = _Attributes(assertion)
    for name in MANDATORY_ATTRIBUTES:
        if not attributes.present(name):
            findings.append(VIHF_010.finding(location=f"{where}/saml2:AttributeStatement", attribute=name))

    version = attributes.text(ATTR_VERSION)
    if version and version not in context.accepted_versions:
        findings.append(VIHF_011.finding(location=f"Attribute[{ATTR_VERSION}]", value=version,
                                         accepted=", ".join(context.accepted_versions)))
    resource_urn = attributes.text(ATTR_RESOURCE_URN)
    if resource_urn and resource_urn != RESOURCE_URN_DMP:
        findings.append(VIHF_012.finding(location=f"Attribute[{ATTR_RESOURCE_URN}]", value=resource_urn))

    resource_id = attributes.text(ATTR_RESOURCE_ID)
    patient = None
    if resource_id:
        patient, problem = check_ins_patient_id(resource_id, context.test_mode)
        if problem:
            findings.append(VIHF_013.finding(location=f"Attribute[{ATTR_RESOURCE_ID}]", value=resource_id,
                                             detail=problem))

    mode = attributes.text(ATTR_AUTH_MODE)
    if mode and mode not in context.accepted_authentication_modes:
        findings.append(VIHF_014.finding(location=f"Attribute[{ATTR_AUTH_MODE}]", value=mode,
                                         accepted=", ".join(context.accepted_authentication_modes)))

    sector = attributes.text(ATTR_SECTOR)
    if sector:
        problem = _sector_problem(sector)
        if problem:
            findings.append(VIHF_015.finding(
                location=f"Attribute[{ATTR_SECTOR}]", value=sector, detail=problem))

    roles = attributes.coded(ATTR_ROLE)
    if attributes.values.get(ATTR_ROLE):
        for problem in _role_problems(roles):
            findings.append(VIHF_016.finding(location=f"Attribute[{ATTR_ROLE}]", detail=problem))

    purposes = attributes.coded(ATTR_PURPOSE)
    purpose = purposes[0] if purposes else None
    if attributes.values.get(ATTR_PURPOSE):
        if purpose is None:
            findings.append(VIHF_017.finding(location=f"Attribute[{ATTR_PURPOSE}]",
                                             detail="the value is not an hl7:PurposeOfUse CE with a code"))
        elif purpose.code_system != PURPOSE_SYSTEM:
            findings.append(VIHF_017.finding(
                location=f"Attribute[{ATTR_PURPOSE}]",
                detail=f"codeSystem is {purpose.code_system!r}, not {PURPOSE_SYSTEM}"))

    structure = attributes.text(ATTR_STRUCTURE)
    signer_ou = _name_attr(signer.subject, NameOID.ORGANIZATIONAL_UNIT_NAME) if signer is not None else None
    signer_o = _name_attr(signer.subject, NameOID.ORGANIZATION_NAME) if signer is not None else None
    if structure:
        if context.tls_structure and structure != context.tls_structure:
            what = ("TLS client certificate's organisational unit (OU)" if context.tls_structure_id
                    else "TLS client certificate's organisation (O)")
            findings.append(VIHF_018.finding(
                location=f"Attribute[{ATTR_STRUCTURE}]", value=structure, what=what,
                expected=context.tls_structure))
        if signer_ou and structure != signer_ou:
            findings.append(VIHF_018.finding(
                location=f"Attribute[{ATTR_STRUCTURE}]", value=structure,
                what="VIHF signing certificate's organisational unit (OU)", expected=signer_ou))

    claims = VihfClaims(
        assertion_id=assertion.get("ID", ""), issuer=issuer, subject_nameid=nameid,
        subject_id=attributes.text(ATTR_SUBJECT_ID), structure_id=structure, sector=sector,
        roles=tuple(r for r in roles if r is not None), version=version, authentication_mode=mode,
        resource_id=resource_id, patient=patient, resource_urn=resource_urn, purpose_of_use=purpose,
        lps_name=attributes.text(ATTR_LPS_NAME), lps_version=attributes.text(ATTR_LPS_VERSION),
        lps_homologation=attributes.text(ATTR_LPS_HOMOLOGATION), lps_id=attributes.text(ATTR_LPS_ID) or None,
        issue_instant=issue_instant, not_before=not_before, not_on_or_after=not_on_or_after,
        authn_context=authn_context, signer_subject=signer_subject, signer_structure_id=signer_ou,
        signer_organisation=signer_o,
    )
    return claims, findings


def check_ins_patient_id(text: str, test_mode: bool) -> tuple[ins_helpers.Ins | None, str | None]:
    """Read `INS^^^&OID&ISO^NH`: the INS and, when it is not acceptable, why (shape, OID, key)."""
    parsed = ins_helpers.parse_xds_patient_id(text)
    if parsed is None or not text.strip().endswith("^NH"):
        return None, "it is not written INS^^^&OID&ISO^NH"
    if parsed.oid not in ins_helpers.INS_OIDS:
        return parsed, (f"the OID {parsed.oid} is not an INS OID (NIR 1.2.250.1.213.1.4.8, "
                        "NIA 1.2.250.1.213.1.4.9)")
    if parsed.oid in ins_helpers.TEST_OIDS and not test_mode:
        return parsed, f"the OID {parsed.oid} is a test OID ({parsed.kind}), refused outside test mode"
    problem = ins_helpers.ins_problem(parsed.value)
    if problem:
        return parsed, problem
    return parsed, None


def _sector_problem(sector: str) -> str | None:
    code, _, system = sector.partition("^")
    if not system:
        return f"it has no code system (expected CODE^{valuesets.SYSTEM_SECTEUR_ACTIVITE})"
    if system != valuesets.SYSTEM_SECTEUR_ACTIVITE:
        return (f"the code system is {system}, not TRE_R02-SecteurActivite "
                f"({valuesets.SYSTEM_SECTEUR_ACTIVITE})")
    value_set = valuesets.for_attribute("healthcareFacilityTypeCode")
    if not value_set.contains(code, system):
        return f"{code} is not in {value_set.name}{value_set.basis}"
    return None


def _role_problems(roles: list[CodedValue | None]) -> list[str]:
    if not roles or roles[0] is None:
        return ["the first value is not an hl7:Role CE with a code (the profession)"]
    problems = []
    first = roles[0]
    if not first.code_system:
        problems.append(f"the profession {first.code} has no codeSystem")
    if any(role is None for role in roles[1:]):
        problems.append("a role value is not an hl7:Role CE with a code")
    if first.code_system == PROFESSION_SYSTEM and first.code in PROFESSIONS_NEEDING_SPECIALTY:
        specialties = [r for r in roles[1:] if r is not None and r.code_system != PROFESSION_SYSTEM]
        if not specialties:
            problems.append(
                f"profession {first.code} ({PROFESSIONS_NEEDING_SPECIALTY[first.code]}) requires a second "
                "role value with the specialty")
    return problems
