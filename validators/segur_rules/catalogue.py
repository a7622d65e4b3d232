"""The Ségur rules: one `Rule` per defect a referencing reviewer looks for in a CDA document.

Each rule has a stable id, an English and a French message, a fix hint, the REM requirement ids
it helps prove (from ../shared/rem/requirements.csv, vague-2 working data) and the specification
it comes from. The checks that fire them live in the sibling modules; docs/segur-rules.md is the
user-facing table.

Severity policy: ERROR when a published specification makes the constraint mandatory for the
Ségur flows (DMP, MSSanté); WARNING when the constraint is a strong recommendation or when ANS's
own published examples do not meet it (so a harness error would contradict the reference).
"""

from __future__ import annotations

from segur.kernel.findings import Severity
from segur.kernel.rules import Rule, register

LAYER = "segur"

# Sources cited by several rules.
SRC_INS_GUIDE = ("ANS, Guide d'implémentation de l'INS; "
                 "CI-SIS Volet Structuration Minimale (template 1.2.250.1.213.1.1.1.1)")
SRC_SM = "CI-SIS Volet Structuration Minimale, template 1.2.250.1.213.1.1.1.1 (ASIP-STRUCT-MIN)"
SRC_IDNPS = ("CI-SIS Annexe transverse - Source des données métier pour les professionnels et les structures "
             "(idNat_PS, OID 1.2.250.1.71.4.2.1); ansforge/IG-FHIR-PDSM4DMP-EEDS "
             "input/fsh/Model/PSIdNat.fsh; ANS IG document core (CDA header: author, legalAuthenticator)")
SRC_N1 = ("CI-SIS Volet Structuration Minimale (CDA R2 niveau 1, templateId 1.3.6.1.4.1.19376.1.2.20); "
          "IHE PCC XDS-SD")
SRC_TS = ("CI-SIS abstract pattern IVL_TS.sch (a time is aaaa, aaaamm, "
          "aaaammjj or aaaammjjhh[mm[ss]][+/-]zzzz, 'en temps local du producteur'; "
          "shipped in the packs but instantiated by none); HL7 CDA R2 data type TS")

INS_REM = ("RIS:DOC/va1.02", "RIS:DOC/va1.04", "BIO:DOC/va1.02", "RIS:INS/va1.59", "BIO:INS/va1.59")
TRAITS_REM = ("RIS:INS/va1.52", "BIO:INS/va1.52", "SC_INS:SC.INS/va1.28")
N1_REM = ("RIS:RIS.DOC/va1.16", "BIO:SGL.DOC/va1.27", "RIS:RIS.DMP/va1.13")
PDFA_REM = ("RIS:DOC/va1.01", "BIO:DOC/va1.01", "BIO:MSS/va1.01")
PS_REM = ("RIS:DMP/HISTO.04", "BIO:DMP/HISTO.04")
TIME_REM = ("RIS:DMP/HISTO.03", "BIO:DMP/HISTO.03", "RIS:CDA/INT.04", "BIO:CDA/INT.04")
VERSION_REM = ("RIS:CDA/DD.05", "BIO:CDA/DD.05", "RIS:DMP/UX.39", "BIO:DMP/UX.39", "BIO:SGL.DMP/va1.23")
CONF_REM = ("RIS:RIS.DMP/va1.10", "BIO:SGL.DOC/va1.21")
CODE_REM = ("RIS:RIS.CRI/va1.07", "RIS:MSS/CONF.15", "BIO:MSS/CONF.15", "RIS:CDA/INT.04", "BIO:CDA/INT.04")
TITLE_REM = ("SC_CDA:SC.CDA/META.01", "RIS:CDA/INT.14", "BIO:CDA/INT.14", "RIS:DMP/CONF.04",
             "BIO:DMP/CONF.04")
VOLET_REM = ("RIS:RIS.CRI/va1.07", "BIO:SGL.DOC/va1.30", "BIO:DOC/va1.02")
RESULT_REM = ("BIO:SGL.DOC/va1.30", "BIO:DOC/va1.02", "BIO:MSS/UX.18", "RIS:MSS/UX.18")
SRC_LOINC_CHECK = ("LOINC Users' Guide, appendix C 'Calculating Mod 10 Check Digits' "
                   "(https://loinc.org/kb/users-guide/calculating-mod-10-check-digits/)")
SRC_CR_BIO = ("CI-SIS volet Compte rendu d'examens de biologie médicale: pattern "
              "E_FR-Resultats-examens-de-biologie-medicale of CI-SIS_BIO-CR-BIO_2024.01 (a result code with "
              "@code is LOINC, else the code is empty and a local code goes in translation)")

SRC_CIRCUIT_BIO = ("ANS 'JDV Circuit de la biologie' (comment 'Code LOINC provenant du JDV Circuit de la "
                   "biologie' in the pack's BIO-CR-BIO_2024.01_TSH_1.xml; published at "
                   "https://smt.esante.gouv.fr/terminologie-jeu-de-valeurs-circuit-de-la-biologie/ per "
                   "ansforge/IG-document-core FRDiagnosticReportBIOChapterDocument), not in the pack: "
                   "given by the user")


#: Fix hints in French (the English one is `Rule.hint`); exposed as ``finding.extra['hint_fr']``.
HINTS_FR: dict[str, str] = {
    'SEGUR-INS-001': (
        "Qualifiez l'identité avec INSi et ajoutez <id root=\"<OID de l'INS>\" extension=\"<INS de 15 "
        "caractères>\"/> comme premier patientRole/id. Les documents pour le DMP et la messagerie "
        "citoyenne exigent un INS qualifié."
    ),
    'SEGUR-INS-002': (
        "Écrivez l'INS exactement comme INSi l'a renvoyé : 13 caractères de NIR/NIA (Corse : 2A/2B) "
        "suivis de la clé à 2 chiffres, 15 caractères, sans espace."
    ),
    'SEGUR-INS-003': (
        "La clé vaut 97 - (nombre à 13 chiffres mod 97), 2A étant lu 19 et 2B 18. Une clé fausse signale "
        "un INS mal saisi ou tronqué : reprenez-le de la réponse INSi."
    ),
    'SEGUR-INS-004': (
        "Un patient a un seul INS (matricule + OID). Ne gardez que celui qu'INSi a renvoyé pour cette "
        "identité."
    ),
    'SEGUR-INS-005': (
        "Utilisez l'OID renvoyé par INSi avec le matricule : 1.2.250.1.213.1.4.8 (NIR), .9 (NIA), .10 "
        "(NIR de test) ou .11 (NIR de démonstration). L'ancien INS-C (1.2.250.1.213.1.4.2) n'est plus un "
        "INS."
    ),
    'SEGUR-INS-006': (
        "Le NIR code le sexe (1er chiffre) et l'année et le mois de naissance (chiffres 2 à 5). Vérifiez "
        "que l'INS et les traits viennent de la même réponse INSi."
    ),
    'SEGUR-INS-007': (
        "L'adresse de messagerie citoyenne d'un patient est <matricule INS>@patient.mssante.fr : "
        "construisez-la sur le même INS que patientRole/id, ou retirez-la."
    ),
    'SEGUR-PAT-001': (
        "Gardez un seul recordTarget avec un seul patientRole ; envoyez un document par patient."
    ),
    'SEGUR-PAT-002': (
        "Écrivez patient/birthTime/@value avec la date de naissance INS complète AAAAMMJJ (une vraie "
        "date, pas dans le futur)."
    ),
    'SEGUR-PAT-003': (
        "Écrivez <administrativeGenderCode code=\"F|M|UN\" codeSystem=\"2.16.840.1.113883.5.1\"/> avec le "
        "sexe de l'identité INS."
    ),
    'SEGUR-PAT-004': (
        "Avec un INS, donnez ses traits : name/family[@qualifier='BR'] (nom de naissance), name/given "
        "(prénoms de naissance), name/given[@qualifier='BR'] (premier prénom de naissance), birthTime, "
        "administrativeGenderCode et birthplace/place/addr/county (code COG de l'INSEE)."
    ),
    'SEGUR-PS-001': (
        "Identifiez chaque auteur par son IDNPS : <id root=\"1.2.250.1.71.4.2.1\" extension=\"8<RPPS>\"/> "
        "(ou 0<ADELI>, 3<FINESS>/<identifiant local>… pour les personnels sans RPPS)."
    ),
    'SEGUR-PS-002': (
        "Identifiez le professionnel qui valide le document par son IDNPS : <id "
        "root=\"1.2.250.1.71.4.2.1\" extension=\"8<RPPS>\"/>."
    ),
    'SEGUR-PS-003': (
        "Un IDNPS est 8 + RPPS (11 chiffres), 0 + ADELI (9 caractères), ou 1/3/4/5/6 + identifiant "
        "cabinet ADELI, FINESS, SIREN, SIRET ou cabinet RPPS + '/' + identifiant local. Prenez-le dans "
        "l'Annuaire santé ou sur la carte CPx."
    ),
    'SEGUR-BODY-001': (
        "Écrivez <nonXMLBody><text mediaType=\"application/pdf\" representation=\"B64\">…le PDF en "
        "base64…</text></nonXMLBody>."
    ),
    'SEGUR-BODY-002': (
        "Encodez les octets du PDF en base64 standard (alphabet RFC 4648, remplissage '=') ; les retours "
        "à la ligne sont admis."
    ),
    'SEGUR-BODY-003': (
        "Intégrez le fichier PDF complet : il commence par '%PDF-' et se termine par '%%EOF'."
    ),
    'SEGUR-BODY-004': (
        "Produisez le compte rendu en PDF/A-1 (ISO 19005-1) ou plus récent, comme le demande le REM pour "
        "le PDF des CR d'imagerie et de biologie ; un fichier PDF/A déclare sa partie dans ses "
        "métadonnées XMP (pdfaid:part)."
    ),
    'SEGUR-BODY-006': (
        "Intégrez un PDF simple : sans mot de passe ni chiffrement, sans JavaScript, sans action de "
        "lancement, sans fichier joint. Le logiciel du destinataire (visionneuse DMP, client MSSanté) "
        "doit l'afficher tel quel."
    ),
    'SEGUR-BODY-005': (
        "Un document N1 a un nonXMLBody et exactement les templateId 2.16.840.1.113883.2.8.2.1, "
        "1.2.250.1.213.1.1.1.1 et 1.3.6.1.4.1.19376.1.2.20 (qui remplace le templateId du volet)."
    ),
    'SEGUR-CODE-001': (
        "Utilisez le code LOINC du type de document, p. ex. 18748-4 pour un CR d'imagerie, 11502-2 pour "
        "un CR de biologie, avec codeSystem 2.16.840.1.113883.6.1."
    ),
    'SEGUR-CODE-002': (
        "Donnez au document le code de son volet (voir validators/data/segur_volets.json), ou déclarez "
        "le volet qui correspond à son contenu."
    ),
    'SEGUR-TITLE-001': (
        "Donnez au document un titre lisible, p. ex. <title>Compte rendu d'imagerie médicale</title> : "
        "le DMP et les clients de messagerie affichent les documents sous ce titre."
    ),
    'SEGUR-VOLET-001': (
        "Déclarez le volet après les templateId génériques : <templateId root=\"1.2.250.1.213.1.1.1.45\" "
        "extension=\"2024.01\"/> pour un CR d'imagerie, <templateId root=\"1.2.250.1.213.1.1.1.55\" "
        "extension=\"2024.01\"/> pour un CR de biologie, et structurez le corps selon ce volet ; "
        "pour un compte rendu en PDF, produisez un document N1 (nonXMLBody)."
    ),
    'SEGUR-CODE-003': (
        "Codez chaque résultat avec un code LOINC existant (codeSystem 2.16.840.1.113883.6.1), p. ex. "
        "3016-3 pour la TSH ; le chiffre après le tiret est la clé mod 10 du numéro. Sans code LOINC, "
        "laissez code vide et mettez le code local dans code/translation."
    ),
    'SEGUR-CODE-004': (
        "Un résultat de biologie porte le code LOINC de l'analyse (voir le jeu de valeurs LOINC biologie de "
        "l'ANS), pas un code d'acte ou de document d'imagerie, ni le code de type d'un document (18748-4 CR "
        "d'imagerie, 11502-2 CR de biologie…), qui va dans ClinicalDocument/code."
    ),
    'SEGUR-CODE-005': (
        "Configurez le répertoire du pack officiel (--pack, SEGUR_PACK ou segur.toml) et donnez le jeu de "
        "valeurs « JDV Circuit de la biologie » de l'ANS, exporté en XML IHE SVS ou en JSON FHIR "
        "(--value-set bio-results=FICHIER, SEGUR_VALUE_SETS ou value_sets dans segur.toml), pour que les "
        "codes de résultats soient comparés aux deux."
    ),
    'SEGUR-CODE-006': (
        "Codez le résultat avec un code LOINC du « JDV Circuit de la biologie » de l'ANS "
        "(smt.esante.gouv.fr, bioloinc.fr) ; si l'analyse n'y a pas de code, laissez code vide et mettez "
        "le code local dans code/translation. Vérifiez aussi que le fichier fourni est la version en "
        "vigueur du jeu de valeurs."
    ),
    'SEGUR-TIME-001': (
        "Ajoutez le décalage par rapport à UTC, p. ex. 20240115143000+0100 ; le DMP le convertit en UTC "
        "pour les métadonnées XDS."
    ),
    'SEGUR-TIME-002': (
        "Écrivez la date et l'heure à la minute ou à la seconde, avec le décalage : "
        "AAAAMMJJHHMM[SS]+ZZZZ."
    ),
    'SEGUR-TIME-003': (
        "Écrivez une date et une heure réelles (AAAAMMJJHHMMSS+ZZZZ), ni dans le futur ni avant 1900."
    ),
    'SEGUR-TIME-004': (
        "Ajoutez le décalage par rapport à UTC (p. ex. +0100) : le DMP en déduit les "
        "serviceStartTime/serviceStopTime XDS, en UTC."
    ),
    'SEGUR-VER-001': (
        "Donnez au document un <id root=\"<OID ou UUID>\" [extension=\"…\"]/> unique ; une nouvelle version "
        "reçoit un nouvel id."
    ),
    'SEGUR-VER-002': (
        "Donnez au document un <setId root=\"<OID ou UUID>\"/> commun à toutes ses versions."
    ),
    'SEGUR-VER-003': (
        "Écrivez <versionNumber value=\"1\"/> pour une première version, puis 2, 3… à chaque remplacement."
    ),
    'SEGUR-VER-004': (
        "Ajoutez <relatedDocument typeCode=\"RPLC\"><parentDocument><id root=\"<id de la version "
        "remplacée>\"/></parentDocument></relatedDocument>."
    ),
    'SEGUR-VER-005': (
        "Chaque version a son propre id ; toutes les versions partagent le setId ; un remplacement "
        "(RPLC) désigne l'id de la version précédente et porte un versionNumber > 1."
    ),
    'SEGUR-CONF-001': (
        "Utilisez <confidentialityCode code=\"N\" codeSystem=\"2.16.840.1.113883.5.25\" "
        "displayName=\"Normal\"/> (ou R, V). Le masquage aux professionnels ou au patient se règle dans "
        "les métadonnées XDS, pas ici."
    ),
}


def _rule(rule_id: str, en: str, fr: str, hint: str, *, rem=(), source="", severity=Severity.ERROR, what=""):
    return Rule(
        id=rule_id,
        layer=LAYER,
        message_en=en,
        message_fr=fr,
        hint=hint,
        severity=severity,
        rem=tuple(rem),
        source=source,
        extra={"what": what, "hint_fr": HINTS_FR[rule_id]},
    )


RULES: tuple[Rule, ...] = (
    # -- patient identity: the INS ------------------------------------------------------------
    _rule(
        "SEGUR-INS-001",
        "The patient has no INS: no recordTarget/patientRole/id carries one of the INS OIDs "
        "(NIR 1.2.250.1.213.1.4.8, NIA …4.9, test NIR …4.10, demo NIR …4.11).",
        "Le patient n'a pas d'INS : aucun recordTarget/patientRole/id ne porte un OID d'INS "
        "(NIR 1.2.250.1.213.1.4.8, NIA …4.9, NIR de test …4.10, NIR de démonstration …4.11).",
        "Qualify the identity with INSi and add <id root=\"<INS OID>\" extension=\"<15-character INS>\"/> as "
        "the first patientRole/id. Documents for the DMP and the citizen mailbox need a qualified INS.",
        rem=INS_REM,
        source=SRC_INS_GUIDE + "; ANS IG document core, 'Exigences spécifiques' "
        "(the INS is mandatory once a document is shared, e.g. in Mon espace santé)",
        what="patient identity carries an INS",
    ),
    _rule(
        "SEGUR-INS-002",
        "The INS '{value}' under OID {oid} is malformed: {problem}.",
        "L'INS '{value}' sous l'OID {oid} est mal formé : {problem_fr}.",
        "Write the INS exactly as INSi returned it: 13 characters of NIR/NIA (Corsica: 2A/2B) "
        "followed by the 2-digit key, 15 characters, no spaces.",
        rem=INS_REM, source=SRC_INS_GUIDE, what="INS value has 15 characters and a NIR/NIA shape",
    ),
    _rule(
        "SEGUR-INS-003",
        "The INS '{value}' has a wrong key: {problem}.",
        "L'INS '{value}' a une clé erronée : {problem_fr}.",
        "The key is 97 - (13-digit number mod 97), with 2A read as 19 and 2B as 18. "
        "A wrong key means the INS was mistyped or truncated: take it again from the INSi answer.",
        rem=INS_REM, source="INSEE NIR key; CNAM Référentiel INS (Corsica rule)", what="INS key is correct",
    ),
    _rule(
        "SEGUR-INS-004",
        "The patient carries several conflicting INS: {values}.",
        "Le patient porte plusieurs INS contradictoires : {values}.",
        "A patient has exactly one INS (matricule + OID). Keep only the one INSi returned for this identity.",
        rem=INS_REM, source=SRC_INS_GUIDE, what="at most one INS",
    ),
    _rule(
        "SEGUR-INS-005",
        "The identifier '{value}' looks like an INS but is declared under OID {oid}, "
        "which is not an INS OID.",
        "L'identifiant '{value}' ressemble à un INS mais est déclaré sous l'OID {oid}, "
        "qui n'est pas un OID d'INS.",
        "Use the INS OID INSi returned with the matricule: 1.2.250.1.213.1.4.8 (NIR), .9 (NIA), .10 "
        "(test NIR) or .11 (demo NIR). The old INS-C (1.2.250.1.213.1.4.2) is no longer an INS.",
        rem=INS_REM, source=SRC_INS_GUIDE + "; FR Core identifier systems",
        what="INS declared under an INS OID",
    ),
    _rule(
        "SEGUR-INS-006",
        "The INS '{value}' does not match the patient's traits: {problem}.",
        "L'INS '{value}' ne correspond pas aux traits du patient : {problem_fr}.",
        "The NIR encodes the sex (1st digit) and the year and month of birth (digits 2-5). "
        "Check that the INS and the traits come from the same INSi answer.",
        rem=TRAITS_REM, source="INSEE NIR structure; " + SRC_INS_GUIDE, severity=Severity.WARNING,
        what="INS consistent with sex and birth date",
    ),
    _rule(
        "SEGUR-INS-007",
        "The patient's Mon espace santé address '{address}' is not built on the document's INS {value}.",
        "L'adresse Mon espace santé du patient '{address}' n'est pas construite sur l'INS du document "
        "{value}.",
        "A patient's MSSanté citizen address is <INS matricule>@patient.mssante.fr: "
        "write it from the same INS as patientRole/id, or remove it.",
        rem=("RIS:MSS/UX.31", "RIS:MSS/va1.01", "BIO:MSS/va1.01"),
        source="ANS, messagerie de Mon espace santé (address matriculeINS@patient.mssante.fr); "
               "REM RIS:MSS/UX.31",
        what="citizen MSSanté address matches the INS",
    ),
    # -- patient traits --------------------------------------------------------------------------
    _rule(
        "SEGUR-PAT-001",
        "The document has {count} recordTarget elements; a Ségur document concerns exactly one patient.",
        "Le document a {count} éléments recordTarget ; un document Ségur concerne exactement un patient.",
        "Keep one recordTarget with one patientRole; send one document per patient.",
        rem=("RIS:MSS/CONF.23", "BIO:MSS/CONF.23"), source=SRC_SM,
        what="exactly one recordTarget/patientRole",
    ),
    _rule(
        "SEGUR-PAT-002",
        "The patient's birth date is {problem}.",
        "La date de naissance du patient est {problem_fr}.",
        "Write patient/birthTime/@value as the full INS birth date YYYYMMDD (a real calendar date, "
        "not in the future).",
        rem=TRAITS_REM, source=SRC_SM + " (INS traits); DMP integration guide §4.2.2 (lunar dates, AM_DLU)",
        what="birth date present, full and plausible (a date known only to the year or month is a warning)",
    ),
    _rule(
        "SEGUR-PAT-003",
        "The patient's administrative sex is {problem}.",
        "Le sexe administratif du patient est {problem_fr}.",
        "Write <administrativeGenderCode code=\"F|M|UN\" codeSystem=\"2.16.840.1.113883.5.1\"/> with the sex "
        "of the INS identity.",
        rem=TRAITS_REM, source=SRC_SM + " (INS traits); JDV_J143_AdministrativeGender_CISIS",
        what="sex present",
    ),
    _rule(
        "SEGUR-PAT-004",
        "The patient carries an INS but its identity traits are incomplete: missing {missing}.",
        "Le patient porte un INS mais ses traits d'identité sont incomplets : il manque {missing_fr}.",
        "With an INS, give the INS traits: name/family[@qualifier='BR'] (birth name), name/given "
        "(birth given names), name/given[@qualifier='BR'] (first birth given name), birthTime, "
        "administrativeGenderCode and birthplace/place/addr/county (INSEE COG code).",
        rem=TRAITS_REM, source=SRC_SM + " (assert on INS traits)", what="INS traits present",
    ),
    # -- health professionals ----------------------------------------------------------------------
    _rule(
        "SEGUR-PS-001",
        "The author has no national health-professional id (no assignedAuthor/id under OID "
        "1.2.250.1.71.4.2.1).",
        "L'auteur n'a pas d'identifiant national de professionnel (aucun assignedAuthor/id sous l'OID "
        "1.2.250.1.71.4.2.1).",
        "Identify each author by its IDNPS: <id root=\"1.2.250.1.71.4.2.1\" extension=\"8<RPPS>\"/> "
        "(or 0<ADELI>, 3<FINESS>/<local id>… for staff without RPPS).",
        rem=PS_REM, source=SRC_IDNPS, what="authors identified by IDNPS",
    ),
    _rule(
        "SEGUR-PS-002",
        "The legal authenticator has no national health-professional id (no assignedEntity/id under OID "
        "1.2.250.1.71.4.2.1).",
        "Le responsable du document (legalAuthenticator) n'a pas d'identifiant national de professionnel "
        "(aucun assignedEntity/id sous l'OID 1.2.250.1.71.4.2.1).",
        "Identify the professional who validates the document by its IDNPS: <id root=\"1.2.250.1.71.4.2.1\" "
        "extension=\"8<RPPS>\"/>.",
        rem=PS_REM, source=SRC_IDNPS, what="legal authenticator identified by IDNPS",
    ),
    _rule(
        "SEGUR-PS-003",
        "The national health-professional id '{value}' is malformed: {problem}.",
        "L'identifiant national de professionnel '{value}' est mal formé : {problem_fr}.",
        "An IDNPS is 8 + RPPS (11 digits), 0 + ADELI (9 characters), or 1/3/4/5/6 + cabinet ADELI, FINESS, "
        "SIREN, SIRET or cabinet RPPS + '/' + a local id. Take it from the Annuaire santé or the CPx card.",
        rem=PS_REM, source=SRC_IDNPS, what="IDNPS value shape",
    ),
    # -- N1 body --------------------------------------------------------------------------------
    _rule(
        "SEGUR-BODY-001",
        "The N1 body is not an inline base64 PDF: {problem}.",
        "Le corps N1 n'est pas un PDF en base64 intégré : {problem_fr}.",
        "Write <nonXMLBody><text mediaType=\"application/pdf\" representation=\"B64\">…base64 of the "
        "PDF…</text></nonXMLBody>.",
        rem=N1_REM, source=SRC_N1, what="nonXMLBody/text is inline B64 application/pdf",
    ),
    _rule(
        "SEGUR-BODY-002",
        "The {where} is not valid base64: {problem}.",
        "Le {where_fr} n'est pas du base64 valide : {problem_fr}.",
        "Encode the PDF bytes with standard base64 (RFC 4648 alphabet, '=' padding); "
        "line breaks are allowed.",
        rem=N1_REM, source=SRC_N1 + "; HL7 ED data type (representation B64)",
        what="N1 body and embedded PDFs (observationMedia) are valid base64",
    ),
    _rule(
        "SEGUR-BODY-003",
        "The {where} does not decode to a PDF: {problem}.",
        "Le {where_fr} ne se décode pas en PDF : {problem_fr}.",
        "Embed the complete PDF file: it starts with '%PDF-' and ends with '%%EOF'.",
        rem=N1_REM, source=SRC_N1 + "; ISO 32000 (file header and trailer)",
        what="N1 body and embedded PDFs decode to a complete PDF",
    ),
    _rule(
        "SEGUR-BODY-004",
        "The embedded PDF is not declared PDF/A (no pdfaid:part in its XMP metadata).",
        "Le PDF intégré n'est pas déclaré PDF/A (pas de pdfaid:part dans ses métadonnées XMP).",
        "Produce the report as PDF/A-1 (ISO 19005-1) or later, as the REM asks for the PDF of CR d'imagerie "
        "and CR de biologie; a PDF/A file declares its part in XMP (pdfaid:part).",
        rem=PDFA_REM, source="REM DOC/va1.01 (PDF/A-1); IHE PCC XDS-SD (PDF/A); ISO 19005 §6.7.11",
        severity=Severity.WARNING, what="PDF/A declared",
    ),
    _rule(
        "SEGUR-BODY-005",
        "The N1 structure is inconsistent: {problem}.",
        "La structure N1 est incohérente : {problem_fr}.",
        "An N1 document has a nonXMLBody and exactly the templateIds 2.16.840.1.113883.2.8.2.1, "
        "1.2.250.1.213.1.1.1.1 and 1.3.6.1.4.1.19376.1.2.20 (which replaces the volet templateId).",
        rem=N1_REM, source=SRC_SM + " (N1 assertions)", what="N1 templateId and nonXMLBody agree",
    ),
    _rule(
        "SEGUR-BODY-006",
        "The {where} is encrypted or carries active content ({content}).",
        "Le {where_fr} est chiffré ou porte du contenu actif ({content}).",
        "Embed a plain PDF: no password or encryption, no JavaScript, no launch action, no attached file. "
        "The recipient's software (DMP viewer, MSSanté client) must display it as is.",
        rem=("RIS:CDA/VISU.01", "BIO:CDA/VISU.01") + PDFA_REM,
        source="ISO 19005-1 §6.1.3 (no encryption) and §6.6.1 (no JavaScript or Launch actions); "
               "REM CDA/VISU.01",
        severity=Severity.WARNING, what="PDF without encryption or active content",
    ),
    # -- document code --------------------------------------------------------------------------
    _rule(
        "SEGUR-CODE-001",
        "The document code {code} ({code_system}) is not an XDS typeCode the DMP accepts "
        "(JDV_J07_XdsTypeCode_CISIS).",
        "Le code du document {code} ({code_system}) n'est pas un typeCode XDS accepté par le DMP "
        "(JDV_J07_XdsTypeCode_CISIS).",
        "Use the LOINC code of the document type, e.g. 18748-4 for a CR d'imagerie, "
        "11502-2 for a CR de biologie, with codeSystem 2.16.840.1.113883.6.1.",
        rem=CODE_REM,
        source="JDV_J07_XdsTypeCode_CISIS (1.2.250.1.213.1.1.5.471); CI-SIS Volet Partage de Documents",
        what="document code is a DMP typeCode",
    ),
    _rule(
        "SEGUR-CODE-002",
        "The document code {code} ({code_system}) does not match the volet {volet}, "
        "which requires {expected}.",
        "Le code du document {code} ({code_system}) ne correspond pas au volet {volet}, "
        "qui impose {expected}.",
        "Give the document the code of its volet (see validators/data/segur_volets.json), "
        "or declare the volet that matches its content.",
        rem=CODE_REM, source="CI-SIS volet packs, Entete patterns (see validators/data/segur_volets.json)",
        what="document code matches the volet",
    ),
    _rule(
        "SEGUR-CODE-003",
        "The lab result code {code} ({code_system}) is not a LOINC code: {problem}.",
        "Le code de résultat de biologie {code} ({code_system}) n'est pas un code LOINC : {problem_fr}.",
        "Code each result with an existing LOINC code (codeSystem 2.16.840.1.113883.6.1), e.g. "
        "3016-3 for TSH; the digit after the dash is the mod-10 check digit of the number. "
        "Without a LOINC code, leave code empty and put the local code in code/translation.",
        rem=RESULT_REM, source=SRC_CR_BIO + "; " + SRC_LOINC_CHECK,
        what="CR-BIO result codes are well-formed LOINC codes with a correct check digit",
    ),
    _rule(
        "SEGUR-CODE-004",
        "The lab result code {code} is {kind} ({value_set}: '{label}'), not a lab test.",
        "Le code de résultat de biologie {code} est {kind_fr} ({value_set_fr} : '{label}'), "
        "pas une analyse de biologie.",
        "A lab result carries the LOINC code of the test (see ANS's LOINC value set for biology), "
        "not the code of an imaging procedure or document, nor a document type code (18748-4 CR d'imagerie, "
        "11502-2 CR de biologie…), which belongs in ClinicalDocument/code.",
        rem=RESULT_REM,
        source=SRC_CR_BIO + "; JDV_CodesDocumentImagerie_CISIS (1.2.250.1.213.1.1.5.687), "
        "read from the configured pack's jeuxDeValeurs/; "
        "JDV_J07_XdsTypeCode_CISIS (1.2.250.1.213.1.1.5.471), its LOINC codes, "
        "shipped in validators/data/segur_jdv_j07_xds_type_code.json",
        what="CR-BIO result codes are not document type codes (JDV_J07) nor imaging codes (pack value set)",
    ),
    _rule(
        "SEGUR-CODE-005",
        "The lab result codes were not fully checked: {reason}.",
        "Les codes de résultats de biologie n'ont pas été entièrement vérifiés : {reason_fr}.",
        "Configure the official pack directory (--pack, SEGUR_PACK or segur.toml) and give ANS's 'JDV "
        "Circuit de la biologie' value set, exported as IHE SVS XML or FHIR JSON (--value-set "
        "bio-results=FILE, SEGUR_VALUE_SETS or value_sets in segur.toml), so that the result codes are "
        "checked against both.",
        rem=RESULT_REM, source="project policy (a check that did not run is said, never passed silently)",
        severity=Severity.INFO,
        what="(info) a result-code check that needs the pack or the biology value set was not run",
    ),
    _rule(
        "SEGUR-CODE-006",
        "The lab result code {code} is not in the biology value set {value_set}.",
        "Le code de résultat de biologie {code} n'est pas dans le jeu de valeurs de biologie {value_set}.",
        "Code the result with a LOINC code of ANS's 'JDV Circuit de la biologie' (smt.esante.gouv.fr, "
        "bioloinc.fr); if the test has no code there, leave code empty and put the local code in "
        "code/translation. Check too that the file given is the current version of the value set.",
        rem=RESULT_REM, source=SRC_CR_BIO + "; " + SRC_CIRCUIT_BIO,
        what="CR-BIO result codes are in the biology value set the user gives (--value-set bio-results=FILE)",
    ),
    # -- timestamps -----------------------------------------------------------------------------
    _rule(
        "SEGUR-TIME-001",
        "The {what} '{value}' has no time zone offset.",
        "L'horodatage {what_fr} '{value}' n'a pas de décalage horaire.",
        "Add the offset to UTC, e.g. 20240115143000+0100; the DMP converts it to UTC for the XDS metadata.",
        rem=TIME_REM, source=SRC_TS, what="timestamps carry a time zone",
    ),
    _rule(
        "SEGUR-TIME-002",
        "The {what} '{value}' is only precise to the {precision}; a document timestamp should give at least "
        "the minute.",
        "L'horodatage {what_fr} '{value}' n'est précis qu'{precision_fr} ; "
        "un horodatage de document devrait être précis au moins à la minute.",
        "Write the date and time down to the minute or second, with the offset: YYYYMMDDHHMM[SS]+ZZZZ.",
        rem=TIME_REM, source=SRC_TS + "; the ANS examples all date their header to the minute or second",
        severity=Severity.WARNING, what="header timestamps precise to the minute",
    ),
    _rule(
        "SEGUR-TIME-003",
        "The {what} '{value}' is not a plausible date and time: {problem}.",
        "L'horodatage {what_fr} '{value}' n'est pas une date plausible : {problem_fr}.",
        "Write a real date and time (YYYYMMDDHHMMSS+ZZZZ), not in the future and not before 1900.",
        rem=TIME_REM, source=SRC_TS, what="timestamps are real, plausible dates",
    ),
    _rule(
        "SEGUR-TIME-004",
        "The {what} '{value}' has a time of day but no time zone offset.",
        "L'horodatage {what_fr} '{value}' a une heure mais pas de décalage horaire.",
        "Add the offset to UTC (e.g. +0100): the DMP derives the XDS serviceStartTime/serviceStopTime, "
        "in UTC, from these times.",
        rem=TIME_REM, source=SRC_TS + "; IHE ITI TF-3 §4.2.3.2.19-20 (serviceStartTime/StopTime in UTC)",
        severity=Severity.WARNING, what="act and encounter times carry a time zone",
    ),
    # -- identification and versions -------------------------------------------------------------
    _rule(
        "SEGUR-VER-001",
        "The document id is {problem}.",
        "L'identifiant du document (id) est {problem_fr}.",
        "Give the document a unique <id root=\"<OID or UUID>\" [extension=\"…\"]/>; "
        "a new version gets a new id.",
        rem=VERSION_REM, source=SRC_SM + "; HL7 II data type", what="id present, root is an OID or UUID",
    ),
    _rule(
        "SEGUR-VER-002",
        "The document setId is {problem}.",
        "L'identifiant du lot de versions (setId) est {problem_fr}.",
        "Give the document a <setId root=\"<OID or UUID>\"/> shared by all its versions.",
        rem=VERSION_REM, source=SRC_SM + "; HL7 II data type", what="setId present, root is an OID or UUID",
    ),
    _rule(
        "SEGUR-VER-003",
        "The versionNumber is {problem}.",
        "Le numéro de version (versionNumber) est {problem_fr}.",
        "Write <versionNumber value=\"1\"/> for a first version, then 2, 3… for each replacement.",
        rem=VERSION_REM, source=SRC_SM, what="versionNumber is an integer >= 1",
    ),
    _rule(
        "SEGUR-VER-004",
        "The document is version {version} but does not say which document it replaces (no "
        "relatedDocument[@typeCode='RPLC']/parentDocument/id).",
        "Le document est en version {version} mais n'indique pas le document qu'il remplace (pas de "
        "relatedDocument[@typeCode='RPLC']/parentDocument/id).",
        "Add <relatedDocument typeCode=\"RPLC\"><parentDocument><id root=\"<id of the replaced version>\"/>"
        "</parentDocument></relatedDocument>.",
        rem=VERSION_REM,
        source="HL7 CDA R2 §4.2.3.3 (relatedDocument RPLC); CI-SIS template 1.2.250.1.213.1.1.1.1.10.3",
        severity=Severity.WARNING, what="a version > 1 references the replaced document",
    ),
    _rule(
        "SEGUR-VER-005",
        "The document's identifiers are inconsistent: {problem}.",
        "Les identifiants du document sont incohérents : {problem_fr}.",
        "Each version has its own id; all versions share the setId; a replacement (RPLC) "
        "points to the id of the previous version and carries versionNumber > 1.",
        rem=VERSION_REM, source="HL7 CDA R2 §4.2.1 (id, setId, versionNumber); IHE XDS document replacement",
        what="id, setId, versionNumber and RPLC agree",
    ),
    # -- document title and volet -------------------------------------------------------------------
    _rule(
        "SEGUR-TITLE-001",
        "The document title is {problem}.",
        "Le titre du document est {problem_fr}.",
        "Give the document a human-readable title, e.g. <title>Compte rendu d'imagerie médicale</title>: "
        "the DMP and the mail clients list documents by it.",
        rem=TITLE_REM,
        source=SRC_SM + " (assert 'element hl7:title[not(@nullFlavor)] is mandatory [min 1x]' "
        "... '[max 1x]'); REM SC.CDA/META.01 (naming rule of the title)",
        what="document title present, single, not empty",
    ),
    _rule(
        "SEGUR-VOLET-001",
        "The document code {code} is that of the {volet} volet, but the structured document does not declare "
        "the volet's templateId {template_id}.",
        "Le code du document {code} est celui du volet {volet}, mais le document structuré ne déclare pas le "
        "templateId {template_id} du volet.",
        "Declare the volet after the generic templateIds: <templateId root=\"1.2.250.1.213.1.1.1.45\" "
        "extension=\"2024.01\"/> for a CR d'imagerie, <templateId root=\"1.2.250.1.213.1.1.1.55\" "
        "extension=\"2024.01\"/> for a CR de biologie, and structure the body by that volet; "
        "for a PDF report, produce an N1 document (nonXMLBody).",
        rem=VOLET_REM, source="CI-SIS volet packs, Entete patterns (IMG-CR-IMG_2024.01 asserts templateId "
        "1.2.250.1.213.1.1.1.45; see validators/data/segur_volets.json)",
        what="an N3 document with a Ségur volet's code declares that volet's templateId",
    ),
    # -- confidentiality ------------------------------------------------------------------------
    _rule(
        "SEGUR-CONF-001",
        "The confidentialityCode {code} ({code_system}) is not in its value set (N, R or V from "
        "2.16.840.1.113883.5.25).",
        "Le confidentialityCode {code} ({code_system}) n'est pas dans son jeu de valeurs (N, R ou V de "
        "2.16.840.1.113883.5.25).",
        "Use <confidentialityCode code=\"N\" codeSystem=\"2.16.840.1.113883.5.25\" displayName=\"Normal\"/> "
        "(or R, V). Masking from professionals or the patient is set in the XDS metadata, not here.",
        rem=CONF_REM, source="JDV_J08_XdsConfidentialityCode_CISIS (1.2.250.1.213.1.1.5.463)",
        what="confidentialityCode in N/R/V",
    ),
)

register(*RULES)

RULES_BY_ID: dict[str, Rule] = {rule.id: rule for rule in RULES}
