"""The INSi mock's rules and the catalogue of the SOAP faults it answers with.

Every check the mock applies is a `Rule` (id ``INSI-…``) so that the journal, `segur rules` and the
evidence report speak of it the same way. A rule that refuses a request names the fault the real
teleservice gives for it (`FAULTS`): SOAP 1.2 fault code, subcode ``siram_NNN``, and the
``siram:Erreur`` detail (`schema_faultSOAP_V01_01.xsd`: text, ``code``, ``severite``, ``messageID``).

Where the faults come from (read, not copied):

- ``siram_100`` / ``desir_550`` — unknown software authorisation (IDAM). Recorded answer of CNAM's
  qualification service to ``IDAM=FAKE-IDAM``: MIT client ``padoa/tlsi-ins``,
  ``src/ins/fixtures/service-errors/siram_100-desir_500-fake-idam.fixtures.ts`` and its test
  ``src/ins/test/insi-client.test.ts`` ("should have a failed request if the software is not allowed").
- ``siram_40`` / ``desir_1020`` — service temporarily unavailable (same test file, a live answer).
- ``desir_560`` — insufficient rights, a client certificate whose CN is not INSI-AUTO/INSI-MANU: code
  and text quoted in ``padoa/tlsi-ins``'s README (Notes); its subcode family is assumed.
- ``siram_40`` / ``insi_102`` — technical error of the traits search, ``S:Receiver``
  (``padoa/tlsi-ins`` fixture ``src/fixtures/persons/aeion-coeur.fixture.ts``). The recording says
  ``severite="fatal"``, which the official XSD's enumeration does not allow (it has ``fatale``):
  the mock sends ``fatale`` so that its answers validate.
- ``VersionMismatch`` (SOAP 1.2 Part 1 §5.4.7, with the ``Upgrade`` header) for a SOAP 1.1
  envelope; ``Sender`` for a message that is not well-formed or holds a DTD (SOAP 1.2 Part 1 §5:
  "a SOAP message MUST NOT contain a Document Type Declaration").
- WS-Addressing faults (W3C WS-Addressing 1.0 — SOAP Binding §6.4 and Metadata §4.4):
  ``wsa:MessageAddressingHeaderRequired`` (missing Action), ``wsa:ActionNotSupported``,
  ``wsa:InvalidAddressingHeader`` / ``wsa:ActionMismatch`` (SOAP action ≠ ``wsa:Action``). CNAM's
  service runs on a JAX-WS stack (its answers carry ``S:``/``ns4`` prefixes), which answers these.

Faults marked ``confirmed=False`` could not be found in a public source (CNAM's "Guide
d'intégration INSi" and the CNDA test plan are not public): the mock keeps the real families
(``siram_100`` access refused, ``siram_40`` unavailable) and gives its own detail codes, flagged
as such in `docs/insi.md`. A client must not hard-code them; the injected-fault API lets a test
use any real code it knows.
"""

from __future__ import annotations

from dataclasses import dataclass

from segur.kernel.findings import Severity
from segur.kernel.rules import RuleBook

LAYER = "insi"

REASON_ACCESS = ("L'accès par ce progiciel au service n'est pas autorisé. Contactez l'éditeur du progiciel "
                 "ou votre responsable informatique.")
REASON_UNAVAILABLE = ("Le service est temporairement inaccessible. Veuillez renouveler votre demande "
                      "ultérieurement. Si le problème persiste, contactez l'éditeur du progiciel ou votre "
                      "responsable informatique.")
REASON_INVALID = ("La requête transmise au service est invalide. Contactez l'éditeur du progiciel ou votre "
                  "responsable informatique.")


@dataclass(frozen=True)
class FaultSpec:
    """One SOAP 1.2 fault of the catalogue."""

    key: str
    code: str  # SOAP 1.2 fault code: Sender, Receiver, VersionMismatch
    subcode: str | None  # "siram_100", or a qualified WS-A subcode "wsa:ActionNotSupported"
    reason: str
    detail_code: str | None = None  # siram:Erreur/@code
    detail_text: str | None = None
    severite: str = "erreur"
    confirmed: bool = True
    source: str = ""
    subsubcode: str | None = None
    http_status: int | None = None  # None: the mock's fault style decides (soap.fault_http_status)


_PADOA = "padoa/tlsi-ins (MIT), recorded answers of CNAM's INSi qualification service"
_WSA = "W3C WS-Addressing 1.0 SOAP Binding §6.4"

FAULTS: dict[str, FaultSpec] = {f.key: f for f in (
    FaultSpec("idam_unknown", "Sender", "siram_100", REASON_ACCESS, "desir_550",
              "Numéro d'autorisation du logiciel inconnu.", source=_PADOA),
    FaultSpec("service_unavailable", "Sender", "siram_40", REASON_UNAVAILABLE, "desir_1020",
              "Le service appelé est temporairement indisponible", severite="fatale", source=_PADOA),
    FaultSpec("technical_error", "Receiver", "siram_40", REASON_UNAVAILABLE, "insi_102",
              "L'appel au service de recherche avec les traits d'identité renvoie une erreur technique.",
              severite="fatale", source=_PADOA + " (recorded severite 'fatal', sent as 'fatale')"),
    FaultSpec("access_level", "Sender", "siram_100", REASON_ACCESS, "desir_551",
              "Le niveau d'accès de l'appelant ne permet pas cette opération.", confirmed=False,
              source="family siram_100 as recorded; detail code assigned by the mock"),
    FaultSpec("certificate_refused", "Sender", "siram_100", REASON_ACCESS, "desir_560",
              "Vous ne disposez pas des droits suffisants pour accéder à ce service",
              source="padoa/tlsi-ins README.md (Notes: DESIR_560, a client certificate whose CN is not "
              "INSI-MANU/INSI-AUTO); written lower-case like the recorded desir_550; family siram_100 "
              "assumed"),
    FaultSpec("context_lps", "Sender", "siram_10", REASON_INVALID, "desir_510",
              "Le contexte LPS (en-tête ContexteLPS) est absent ou invalide.", confirmed=False,
              source="assigned by the mock"),
    FaultSpec("context_bam", "Sender", "siram_10", REASON_INVALID, "desir_511",
              "Le contexte BAM (en-tête ContexteBAM) est absent ou invalide.", confirmed=False,
              source="assigned by the mock"),
    FaultSpec("request_invalid", "Sender", "siram_10", REASON_INVALID, "insi_101",
              "Les données de la requête sont invalides.", confirmed=False, source="assigned by the mock"),
    FaultSpec("wsa_action_missing", "Sender", "wsa:MessageAddressingHeaderRequired",
              "A required header representing a Message Addressing Property is not present",
              source=_WSA),
    FaultSpec("wsa_action_unknown", "Sender", "wsa:ActionNotSupported",
              "The [action] cannot be processed at the receiver", source=_WSA),
    FaultSpec("wsa_action_mismatch", "Sender", "wsa:InvalidAddressingHeader",
              "The SOAP action and the wsa:Action header differ", subsubcode="wsa:ActionMismatch",
              source="W3C WS-Addressing 1.0 Metadata §4.4"),
    FaultSpec("wsa_cardinality", "Sender", "wsa:InvalidAddressingHeader",
              "A header representing a Message Addressing Property is not valid and the message cannot be "
              "processed",
              subsubcode="wsa:InvalidCardinality", source=_WSA + ".1"),
    FaultSpec("soap_version", "VersionMismatch", None,
              "Wrong SOAP version: this service speaks SOAP 1.2 (http://www.w3.org/2003/05/soap-envelope)",
              source="W3C SOAP 1.2 Part 1 §5.4.7"),
    FaultSpec("soap_must_understand", "MustUnderstand", None,
              "A header block marked mustUnderstand is not understood by this service",
              source="W3C SOAP 1.2 Part 1 §5.4.8"),
    FaultSpec("soap_malformed", "Sender", None, "The message is not a well-formed SOAP 1.2 envelope",
              source="W3C SOAP 1.2 Part 1 §5 and §7.5.2"),
    FaultSpec("soap_media_type", "Sender", None,
              "Unsupported media type: a SOAP 1.2 request is sent as application/soap+xml", http_status=415,
              source="W3C SOAP 1.2 Part 2 §7.1.4; RFC 3902"),
)}


BOOK = RuleBook(LAYER)

HTTP_SIZE = BOOK.rule('INSI-HTTP-SIZE', 'Request body of {size} bytes is over the {limit}-byte limit',
    message_fr='Corps de requête de {size} octets au-delà de la limite de {limit} octets',
    hint='Send one search per request; an INSi request is a few kilobytes.', source='mock limit (HTTP 413)')
HTTP_METHOD = BOOK.rule('INSI-HTTP-METHOD', 'The service answers POST only (got {method})',
    message_fr="Le service n'accepte que POST (reçu {method})",
    hint='POST the SOAP envelope to the endpoint.', source='SOAP 1.2 HTTP binding')
HTTP_CONTENT_TYPE = BOOK.rule('INSI-HTTP-CONTENT-TYPE',
    'Content-Type {content_type!r} is not application/soap+xml',
    message_fr="Content-Type {content_type!r} n'est pas application/soap+xml",
    hint='Send SOAP 1.2 as application/soap+xml; charset=utf-8 (text/xml is SOAP 1.1).',
    source='W3C SOAP 1.2 Part 2 §7.1.4; RFC 3902', fault='soap_media_type')
SOAP_XML = BOOK.rule('INSI-SOAP-XML', 'The body is not well-formed XML: {error}',
    message_fr="Le corps n'est pas un XML bien formé : {error}",
    hint='Serialise the envelope with an XML library, in UTF-8.', source='W3C SOAP 1.2 Part 1 §5',
    fault='soap_malformed')
SOAP_DTD = BOOK.rule('INSI-SOAP-DTD',
    'The message holds a document type declaration (DTD/entities), refused',
    message_fr='Le message contient une déclaration de type de document (DTD/entités), refusée',
    hint='Remove the <!DOCTYPE …>: SOAP messages must not carry one.', source='W3C SOAP 1.2 Part 1 §5',
    fault='soap_malformed')
SOAP_VERSION = BOOK.rule('INSI-SOAP-VERSION', 'The root element {root} is not a SOAP 1.2 Envelope',
    message_fr="L'élément racine {root} n'est pas une enveloppe SOAP 1.2",
    hint='Use SOAP 1.2: namespace http://www.w3.org/2003/05/soap-envelope, Content-Type '
         'application/soap+xml.',
    source='CNAM WSDL DESIR_ICIR_EXP_1.5.0 (soap12 binding); SOAP 1.2 Part 1 §5.4.7', fault='soap_version')
SOAP_ENVELOPE = BOOK.rule('INSI-SOAP-ENVELOPE', 'The SOAP envelope is not usable: {problem}',
    message_fr='Enveloppe SOAP inutilisable : {problem}',
    hint='Send exactly one Header and one Body, the Body holding one request element.',
    source='W3C SOAP 1.2 Part 1 §5', fault='soap_malformed')
SOAP_MUSTUNDERSTAND = BOOK.rule('INSI-SOAP-MUSTUNDERSTAND',
    'Header {header} is marked mustUnderstand but this service does not know it',
    message_fr="L'en-tête {header} est marqué mustUnderstand mais le service ne le connaît pas",
    hint="Send only the headers of CNAM's WSDL, or drop mustUnderstand from your own.",
    source='W3C SOAP 1.2 Part 1 §5.2.3 and §5.4.8', fault='soap_must_understand')
WSA_ACTION_MISSING = BOOK.rule('INSI-WSA-ACTION-MISSING', 'No wsa:Action header',
    message_fr='En-tête wsa:Action absent',
    hint='Add <wsa:Action>urn:ServiceIdentiteCertifiee:1.0.0:<operation></wsa:Action> (namespace '
         'http://www.w3.org/2005/08/addressing) to the SOAP header.',
    source='CNAM WSDL (wsaw:Action on each input); WS-Addressing 1.0 SOAP Binding §6.4.3',
    fault='wsa_action_missing')
WSA_ACTION_FALLBACK = BOOK.rule('INSI-WSA-ACTION-FALLBACK',
    'No wsa:Action: operation taken from the SOAP action {action!r} (lenient mode)',
    message_fr="Pas de wsa:Action : opération déduite de l'action SOAP {action!r} (mode tolérant)",
    hint="Turn WS-Addressing on in your SOAP stack: the mock's default mode, like a strict service, "
         "refuses this.",
    source='mock option --no-wsa-action-required', severity=Severity.WARNING)
WSA_ACTION_UNKNOWN = BOOK.rule('INSI-WSA-ACTION-UNKNOWN', 'Unknown action {action!r}',
    message_fr='Action inconnue {action!r}',
    hint='Use urn:ServiceIdentiteCertifiee:1.0.0:rechercherInsAvecTraitsIdentite or '
         'urn:ServiceIdentiteCertifiee:1.0.0:rechercherInsAvecCarteVitale.',
    source='CNAM WSDL DESIR_ICIR_EXP_1.5.0', fault='wsa_action_unknown')
WSA_ACTION_MISMATCH = BOOK.rule('INSI-WSA-ACTION-MISMATCH',
    'SOAP action {soap_action!r} differs from wsa:Action {action!r}',
    message_fr="L'action SOAP {soap_action!r} diffère de wsa:Action {action!r}",
    hint='Send the same action in the Content-Type action parameter and in wsa:Action.',
    source='W3C WS-Addressing 1.0 Metadata §4.4', fault='wsa_action_mismatch')
WSA_CARDINALITY = BOOK.rule('INSI-WSA-CARDINALITY', 'Header {header} appears more than once',
    message_fr="L'en-tête {header} apparaît plusieurs fois",
    hint='Send wsa:Action, wsa:MessageID and wsa:To once each (with zeep, do not pass NO1_MessageID when '
         'WS-Addressing is on: the plugin adds one).',
    source='W3C WS-Addressing 1.0 SOAP Binding §6.4.1', fault='wsa_cardinality')
WSA_MESSAGEID = BOOK.rule('INSI-WSA-MESSAGEID',
    'No wsa:MessageID header: the answer cannot carry wsa:RelatesTo',
    message_fr='En-tête wsa:MessageID absent : la réponse ne peut pas porter wsa:RelatesTo',
    hint='Send a unique wsa:MessageID (uuid:…) with every request, and log it.',
    source='CNAM WSDL (NO1_MessageID header part)', severity=Severity.WARNING)
BODY_OPERATION = BOOK.rule('INSI-BODY-OPERATION',
    'Body element {element} does not belong to operation {operation}',
    message_fr="L'élément {element} du corps ne correspond pas à l'opération {operation}",
    hint='Send RECSANSVITALE with rechercherInsAvecTraitsIdentite and RECVITALE with '
         'rechercherInsAvecCarteVitale.',
    source='CNAM WSDL DESIR_ICIR_EXP_1.5.0 (messages)', fault='request_invalid')
CTX_LPS = BOOK.rule('INSI-CTX-LPS', 'ContexteLPS header {problem}',
    message_fr='En-tête ContexteLPS : {problem}',
    hint='Send ctxlps:ContexteLPS (urn:siram:lps:ctxlps) with Version, Id, Temps and LPS/IDAM.',
    source='ROOT_ctxlps_CTXLPS_V01_00.xsd; CNAM WSDL (NO1_ContexteLPS)', fault='context_lps')
CTX_BAM = BOOK.rule('INSI-CTX-BAM', 'ContexteBAM header {problem}',
    message_fr='En-tête ContexteBAM : {problem}',
    hint='Send ctxbam:ContexteBAM (urn:siram:bam:ctxbam) with Version, Id, Temps and COUVERTURE.',
    source='ROOT_ctxbam_CTXBAM_V01_02.xsd; CNAM WSDL (NO1_ContexteBAM)', fault='context_bam')
IDAM_UNKNOWN = BOOK.rule('INSI-IDAM-UNKNOWN',
    'Software authorisation (IDAM) {idam!r} is not known to the service',
    message_fr="Numéro d'autorisation du logiciel (IDAM) {idam!r} inconnu du service",
    hint='Use the IDAM CNAM gave your software (declare it to the mock with --idam or POST /_admin/idams).',
    source='recorded CNAM answer siram_100/desir_550 (padoa/tlsi-ins)', fault='idam_unknown')
IDAM_ACCEPTED_ANY = BOOK.rule('INSI-IDAM-ACCEPTED-ANY',
    'Software authorisation (IDAM) {idam!r} is not known to the service, accepted only because the mock '
    'accepts any IDAM',
    message_fr="Numéro d'autorisation du logiciel (IDAM) {idam!r} inconnu du service, accepté seulement "
               "parce que le mock accepte tout IDAM",
    hint='Check that your product sends the IDAM CNAM gave it; the real service answers '
         'siram_100/desir_550 (declare it to the mock with --idam or POST /_admin/idams to silence this).',
    source='mock option any_idam (segur up default, --any-idam)', severity=Severity.WARNING)
ACCESS_LEVEL = BOOK.rule('INSI-ACCESS-LEVEL',
    'Access mode {mode} is not allowed for IDAM {idam!r} on {operation}',
    message_fr="Le mode d'accès {mode} n'est pas autorisé pour l'IDAM {idam!r} sur {operation}",
    hint='Call with the certificate of the access mode your software was authorised for (INSI-AUTO / '
         'INSI-MANU).',
    source='mock policy (docs/insi.md)', fault='access_level')
TLS_CN = BOOK.rule('INSI-TLS-CN', 'Client certificate CN {cn!r} is neither INSI-AUTO nor INSI-MANU',
    message_fr="Le CN du certificat client {cn!r} n'est ni INSI-AUTO ni INSI-MANU",
    hint='Present the organisation certificate issued for INSi (CN INSI-AUTO or INSI-MANU).',
    source='ANS/CNAM: INSi authentication certificates INSI-AUTO / INSI-MANU; CNAM answers DESIR_560 '
           '(padoa/tlsi-ins README.md, Notes)',
    fault='certificate_refused')
TRAITS_MISSING = BOOK.rule('INSI-TRAITS-MISSING', 'Trait {trait} is required for a search by traits',
    message_fr='Le trait {trait} est obligatoire pour une recherche par traits',
    hint='Send NomNaissance, Prenom, Sexe and DateNaissance (LieuNaissance is optional).',
    source='INSi search by traits: birth name, first name, sex, birth date', fault='request_invalid')
TRAITS_SEX = BOOK.rule('INSI-TRAITS-SEX', 'Sexe {value!r} is not M or F',
    message_fr="Sexe {value!r} n'est ni M ni F", hint='INSi knows sex M or F only.',
    source='INSi TIQ (CodSexe)', fault='request_invalid')
TRAITS_DATE = BOOK.rule('INSI-TRAITS-DATE',
    'DateNaissance {value!r} is not a date YYYY-MM-DD (00 allowed for unknown month/day)',
    message_fr="DateNaissance {value!r} n'est pas une date AAAA-MM-JJ (00 admis pour mois/jour inconnus)",
    hint="Send the birth date as YYYY-MM-DD; a 'lunar' date uses 00 for an unknown month or day.",
    source='INSi DateLunaire (pattern \\d{4}-\\d{2}-\\d{2})', fault='request_invalid')
TRAITS_PLACE = BOOK.rule('INSI-TRAITS-PLACE',
    'LieuNaissance {value!r} is not an INSEE code (5 characters, 2A/2B for Corsica, 99xxx abroad)',
    message_fr="LieuNaissance {value!r} n'est pas un code INSEE (5 caractères, 2A/2B en Corse, 99xxx à "
               "l'étranger)",
    hint='Send the INSEE (COG) code of the birth commune, or 99 + country code.', source='INSi COG',
    fault='request_invalid')
TRAITS_NAME = BOOK.rule('INSI-TRAITS-NAME', '{trait} {value!r} holds characters INSi does not accept',
    message_fr='{trait} {value!r} contient des caractères refusés par INSi',
    hint='Use upper-case letters, spaces, hyphens and apostrophes.', source='mock check',
    fault='request_invalid')
VITALE_MATRICULE = BOOK.rule('INSI-VITALE-MATRICULE',
    'The Vitale card data carries no usable NIR: {problem}',
    message_fr='Les données de la carte Vitale ne portent pas de NIR exploitable : {problem}',
    hint='Send MatriculeIndividu (or MatriculeOD) NumIdentifiant on 13 characters, Cle on 2 digits, and '
         'DateNaissance.',
    source='INSi_RECVITALE_INS.xsd (Beneficiaire)', fault='request_invalid')
SEARCH_FOUND = BOOK.rule('INSI-SEARCH-FOUND', 'One identity found: INS {ins} ({oid})',
    message_fr='Une identité trouvée : INS {ins} ({oid})', hint='', source='INSi CR 00',
    severity=Severity.INFO)
SEARCH_NONE = BOOK.rule('INSI-SEARCH-NONE', 'No identity matches the traits',
    message_fr='Aucune identité ne correspond aux traits',
    hint='INSi matches traits strictly: check the birth name (not the used name), call once per first name.',
    source='INSi CR 01', severity=Severity.INFO)
SEARCH_SEVERAL = BOOK.rule('INSI-SEARCH-SEVERAL', '{count} identities match the traits',
    message_fr='{count} identités correspondent aux traits',
    hint='Add the birth place (LieuNaissance) or use the Vitale card to tell the homonyms apart.',
    source='INSi CR 02', severity=Severity.INFO)
FAULT_INJECTED = BOOK.rule('INSI-FAULT-INJECTED', 'Fault injected by the test ({kind})',
    message_fr='Erreur injectée par le test ({kind})', hint='Cleared with DELETE /_admin/faults.',
    source='mock test control', severity=Severity.WARNING)

RULES = tuple(BOOK)
