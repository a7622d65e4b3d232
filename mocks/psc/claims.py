"""What Pro Santé Connect says about a professional: the userinfo claims, built from the test world.

Field names and shapes follow ANS's own code and samples (shared/ref/psc/README.md §2): the VIHF
Gravitee policy (`prosanteconnect/generate-VIHF`, `model/prosanteconnect/UserInfos.java`,
`SubjectRefPro.java`, `Practice.java`, `Activity.java`) and the proof-of-concept samples
(`prosanteconnect/proof-of-concept`, `remote-cache/…/userInfos.json`, `PSCDataExample.json`).
Absent values are empty strings, as in those samples. `SubjectNameID` and `preferred_username` are
the IDNPS (8 + RPPS); `sub` is Keycloak's federated form `f:<uuid>:<IDNPS>` (PoC `Token.txt`).
"""

from __future__ import annotations

import uuid

from segur.fixtures.world import Organisation, Professional

#: Stable per professional, so `sub` is the same from run to run (the real uuid is PSC's own).
SUB_NAMESPACE = uuid.UUID("6f1c2f8e-0a55-4d55-9a4c-5e6e8b0c7a10")
SECTEUR_OID = "1.2.250.1.71.4.2.4"  # Secteur_Activite `SA07^1.2.250.1.71.4.2.4` (PoC sample)
ROLE_OID = "1.2.250.1.213.1.1.5.5"  # SubjectRole `10^1.2.250.1.213.1.1.5.5` (PoC sample)
#: Every field of an activity (VIHF `Activity.java`); the mock fills those the world knows.
ACTIVITY_FIELDS = (
    "codeModeExercice", "codeSecteurDactivite", "codeSectionPharmacien", "codeRole", "codeGenreActivite",
    "numeroSiretSite", "numeroSirenSite", "numeroFinessSite", "numeroFinessetablissementJuridique",
    "identifiantTechniqueDeLaStructure", "raisonSocialeSite", "enseigneCommercialeSite",
    "complementDestinataire", "complementPointGeographique", "numeroVoie", "indiceRepetitionVoie",
    "codeTypeDeVoie", "libelleVoie", "mentionDistribution", "bureauCedex", "codePostal", "codeCommune",
    "codePays", "telephone", "telephone2", "telecopie", "adresseEMail", "codeDepartement",
    "ancienIdentifiantDeLaStructure", "autoriteDenregistrement")


def subject(professional: Professional) -> str:
    return f"f:{uuid.uuid5(SUB_NAMESPACE, professional.idnps)}:{professional.idnps}"


def _civility(professional: Professional) -> str:
    return {"M": "M", "MME": "MME"}.get(professional.prefix or "", "")


def activity(professional: Professional, organisation: Organisation | None) -> dict:
    """One `activities[]` item: where the professional practises (the world's organisation)."""
    item = dict.fromkeys(ACTIVITY_FIELDS, "")
    item["codeGenreActivite"] = "GENR01"
    item["codeModeExercice"] = "S" if organisation and organisation.practice_setting != "AMBULATOIRE" else "L"
    if organisation is not None:
        address = organisation.address
        item.update({
            "codeSecteurDactivite": organisation.facility_type, "numeroFinessSite": organisation.finess,
            "identifiantTechniqueDeLaStructure": organisation.idnst, "raisonSocialeSite": organisation.name,
            "numeroVoie": address.house_number or "", "libelleVoie": address.street or "",
            "codePostal": address.postal_code or "", "bureauCedex": address.city or "",
            "codeDepartement": (address.postal_code or "")[:2], "telephone": organisation.phone or "",
            "numeroSiretSite": organisation.siret or ""})
    item["adresseEMail"] = professional.mailbox or ""
    return item


def exercice(professional: Professional, organisation: Organisation | None) -> dict:
    """The `SubjectRefPro.exercices[]` item of the professional's one profession."""
    return {
        "codeProfession": professional.profession_code, "codeCategorieProfessionnelle": "C",
        "codeCiviliteDexercice": "DR" if professional.suffix == "DR" else "",
        "nomDexercice": professional.family_name, "prenomDexercice": professional.given_name,
        "codeTypeSavoirFaire": "S" if professional.specialty_code else "",
        "codeSavoirFaire": professional.specialty_code or "",
        "activities": [activity(professional, organisation)]}


def identity_claims(professional: Professional) -> dict:
    """What every PSC token and userinfo says of the user (scope openid)."""
    return {"sub": subject(professional), "SubjectNameID": professional.idnps,
            "preferred_username": professional.idnps, "given_name": professional.given_name,
            "family_name": professional.family_name, "email_verified": False}


def userinfo_claims(professional: Professional, organisation: Organisation | None, scope: str) -> dict:
    """The userinfo answer: identity, and with `scope_all` the practices and the organisation."""
    claims = identity_claims(professional)
    if "scope_all" not in scope.split():
        return claims
    claims.update({
        "SubjectOrganization": organisation.name if organisation else "",
        "SubjectOrganizationID": organisation.idnst if organisation else "",
        "Secteur_Activite": f"{organisation.facility_type}^{SECTEUR_OID}" if organisation else "",
        "SubjectRole": [f"{professional.profession_code}^{ROLE_OID}"],
        "Mode_Acces_Raison": "", "Acces_Regulation_Medicale": "FAUX", "UITVersion": "1.0",
        "Palier_Authentification": "APPPRIP3^1.2.250.1.213.1.5.1.1.1", "PSI_Locale": "",
        "otherIds": [{"identifiant": professional.rpps, "origine": "RPPS", "qualite": 1}],
        "SubjectRefPro": {"codeCivilite": _civility(professional),
                          "exercices": [exercice(professional, organisation)]}})
    return claims
