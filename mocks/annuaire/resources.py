"""The world's professionals and organisations as the Annuaire santé FHIR API publishes them.

Shapes follow the ANS "Annuaire Santé" FHIR IG (ansforge/IG-fhir-annuaire, profiles
as-dp-practitioner, as-dp-practitionerrole, as-dp-organization; extension
as-ext-mailbox-mss-metadata) and FR Core (identifier types IDNPS/RPPS/IDNST/FINEG/SIRET,
extension fr-core-contact-point-email-type):

- Practitioner: identifiers IDNPS (`urn:oid:1.2.250.1.71.4.2.1`, value `8` + RPPS) and RPPS
  (`https://rpps.esante.gouv.fr`); exercise name; MSSanté mailbox as a `telecom` email with the
  TRE_R256 `MSSANTE` email type and the mailbox metadata (TRE_R257 type PER/ORG/APP, listeRouge);
  qualifications with the profession (TRE_G15) and specialty (TRE_R38).
- PractitionerRole: links the practitioner to the organisation they work for; carries the
  activity identifier (`https://rpps.esante.gouv.fr`, "identifiant d'activité propre au RPPS")
  and the professional's PER mailbox there (slice `mailbox-mss` of as-practitionerrole).
- Organization: IDNST (`urn:oid:1.2.250.1.71.4.2.2`, `1` + FINESS), FINESS
  (`https://finess.esante.gouv.fr`), SIRET (`https://sirene.fr`), ORG/APP mailboxes.
- HealthcareService: one per organisation, its activity (the facility type), so that
  `HealthcareService:organization` has something to find. Device: the world has no heavy
  equipment, so the type is served and every search answers an empty Bundle.

Ids are technical ids as the real directory's (`003-5818457-5939334`: a type prefix, then two
numbers; ANS documentation v2, "Tester l'API" and resource pages), derived from a hash of the
natural key so they are stable across restarts but never equal to the RPPS or FINESS: a
product must search by identifier, not read by RPPS. `meta.versionId` and `meta.lastUpdated`
are on every resource (the dates are spread deterministically over 2024–2025, for delta sync).

Closed mailboxes are not published (the directory lists only open ones). Every resource is
validated with fhir.resources (its R4B models: R4B changed nothing in these resources
since R4) when the directory is built, so what is served is valid FHIR.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from segur.fixtures.world import World
from segur.kernel.ins import OID_IDNPS

IG = "https://interop.esante.gouv.fr/ig/fhir/annuaire/StructureDefinition"
FR_CORE = "https://hl7.fr/ig/fhir/core/StructureDefinition"
V2_0203 = "https://hl7.fr/ig/fhir/core/CodeSystem/fr-core-cs-v2-0203"
NOS = "https://mos.esante.gouv.fr/NOS"
RPPS_SYSTEM = "https://rpps.esante.gouv.fr"
IDNPS_SYSTEM = f"urn:oid:{OID_IDNPS}"
IDNST_SYSTEM = "urn:oid:1.2.250.1.71.4.2.2"
FINESS_SYSTEM = "https://finess.esante.gouv.fr"
SIRET_SYSTEM = "https://sirene.fr"
EMAIL_TYPE_URL = f"{FR_CORE}/fr-core-contact-point-email-type"
MAILBOX_METADATA_URL = f"{IG}/as-ext-mailbox-mss-metadata"
DATA_TRACE_URL = f"{IG}/as-ext-data-trace"
SOURCE = "https://annuaire.sante.fr"
EXERCISE_MODE_SYSTEM = f"{NOS}/TRE_R23-ModeExercice/FHIR/TRE-R23-ModeExercice"

VALIDATED_TYPES = ("Practitioner", "PractitionerRole", "Organization", "HealthcareService")


def _validators() -> dict:
    """The fhir.resources model of each type the world fills, to validate what is served."""
    # fhir.resources' models cost ~40 ms to import (measured with -X importtime): `segur --help` (which
    # imports the service, and so this module) never builds the directory, so they are imported here.
    from fhir.resources.R4B.healthcareservice import HealthcareService
    from fhir.resources.R4B.organization import Organization
    from fhir.resources.R4B.practitioner import Practitioner
    from fhir.resources.R4B.practitionerrole import PractitionerRole

    return {"Practitioner": Practitioner, "PractitionerRole": PractitionerRole, "Organization": Organization,
            "HealthcareService": HealthcareService}


#: Prefix of the technical ids per type. Observed in the ANS documentation v2: 002 Device,
#: 003 Practitioner, 004 HealthcareService, 005 PractitionerRole; 001 Organization by analogy.
ID_PREFIX = {"Organization": "001", "Device": "002", "Practitioner": "003", "HealthcareService": "004",
             "PractitionerRole": "005"}
LAST_UPDATED_FROM = datetime(2024, 1, 1, tzinfo=UTC)
LAST_UPDATED_SPAN_SECONDS = 2 * 365 * 24 * 3600


def _digest(resource_type: str, natural_key: str) -> bytes:
    return hashlib.sha256(f"{resource_type}|{natural_key}".encode()).digest()


def technical_id(resource_type: str, natural_key: str) -> str:
    """A stable opaque id like the real directory's (`003-5818457-5939334`), never the RPPS/FINESS."""
    digest = _digest(resource_type, natural_key)
    first = int.from_bytes(digest[:4]) % 10_000_000
    second = int.from_bytes(digest[4:8]) % 10_000_000
    return f"{ID_PREFIX[resource_type]}-{first}-{second}"


def activity_identifier(natural_key: str) -> str:
    """A stable 10-digit activity id (the RPPS "identifiant de situation d'exercice", e.g. 1013186038)."""
    return str(1_000_000_000 + int.from_bytes(_digest("activity", natural_key)[:8]) % 100_000_000)


def last_updated(resource_type: str, natural_key: str) -> str:
    """A stable last-update instant in 2024–2025, with milliseconds as the real server writes it."""
    digest = _digest("lastUpdated|" + resource_type, natural_key)
    offset = int.from_bytes(digest[:8]) % LAST_UPDATED_SPAN_SECONDS
    instant = LAST_UPDATED_FROM + timedelta(seconds=offset, milliseconds=offset % 1000)
    return instant.isoformat(timespec="milliseconds")


def _ref(resource_type: str, natural_key: str) -> dict:
    return {"reference": f"{resource_type}/{technical_id(resource_type, natural_key)}"}


def _identifier(system: str, value: str, type_code: str) -> dict:
    return {"use": "official", "type": {"coding": [{"system": V2_0203, "code": type_code}]},
            "system": system, "value": value}


def mailbox_telecom(address: str, kind: str) -> dict:
    """An MSSanté address as the directory publishes it (AsMailboxMSSProfile)."""
    return {
        "extension": [
            {"url": EMAIL_TYPE_URL, "valueCoding": {
                "system": f"{NOS}/TRE_R256-TypeMessagerie/FHIR/TRE-R256-TypeMessagerie", "code": "MSSANTE"}},
            {"url": MAILBOX_METADATA_URL, "extension": [
                {"url": "type", "valueCodeableConcept": {"coding": [
                    {"system": f"{NOS}/TRE_R257-TypeBAL/FHIR/TRE-R257-TypeBAL", "code": kind}]}},
                {"url": "listeRouge", "valueBoolean": False},
            ]},
        ],
        "system": "email",
        "value": address,
        "use": "work",
    }


#: The information system each type's data comes from (as-ext-data-trace `systeme-information`:
#: RPPS | FINESS | MSS | CG): professionals and their activities from the RPPS, structures from FINESS.
INFORMATION_SYSTEM = {"Practitioner": "RPPS", "PractitionerRole": "RPPS", "Organization": "FINESS",
                      "HealthcareService": "FINESS", "Device": "FINESS"}


def _meta(resource_type: str, natural_key: str, profiles: list[str]) -> dict:
    """meta as the IG's rs-as-core rule set has it: the data trace extension, then the usual fields."""
    trace = {"url": DATA_TRACE_URL,
             "extension": [{"url": "systeme-information", "valueCode": INFORMATION_SYSTEM[resource_type]}]}
    return {"extension": [trace], "versionId": "1", "lastUpdated": last_updated(resource_type, natural_key),
            "source": SOURCE, "profile": profiles}


def _profiles(profile: str, fr_core: str) -> list[str]:
    return [f"{FR_CORE}/{fr_core}", f"{IG}/{profile}"]


def open_mailbox(pro, world: World) -> str | None:
    """The professional's mailbox address if the directory publishes it (open), else None."""
    box = world.mailbox(pro.mailbox) if pro.mailbox else None
    return box.address if box is not None and not box.closed else None


def practitioner(pro, world: World) -> dict:
    qualifications = [{"code": {"coding": [
        {"system": f"{NOS}/TRE_G15-ProfessionSante/FHIR/TRE-G15-ProfessionSante", "code": pro.profession_code,
         "display": pro.profession_display}]}}]
    if pro.specialty_code:
        qualifications.append({"code": {"coding": [
            {"system": f"{NOS}/TRE_R38-SpecialiteOrdinale/FHIR/TRE-R38-SpecialiteOrdinale",
             "code": pro.specialty_code}]}})
    name = {"use": "usual", "family": pro.family_name, "given": [pro.given_name]}
    if pro.prefix:
        name["prefix"] = [pro.prefix]
    if pro.suffix:
        name["suffix"] = [pro.suffix]
    resource = {
        "resourceType": "Practitioner",
        "id": technical_id("Practitioner", pro.rpps),
        "meta": _meta("Practitioner", pro.rpps, _profiles("as-dp-practitioner", "fr-core-practitioner")),
        "language": "fr",
        "identifier": [_identifier(IDNPS_SYSTEM, pro.idnps, "IDNPS"),
                       _identifier(RPPS_SYSTEM, pro.rpps, "RPPS")],
        "active": True,
        "name": [name],
        "qualification": qualifications,
    }
    address = open_mailbox(pro, world)
    if address:
        resource["telecom"] = [mailbox_telecom(address, "PER")]
    return resource


def practitioner_role(pro, world: World) -> dict:
    """The professional's activity at their organisation, with the PER mailbox published there."""
    key = f"{pro.rpps}|{pro.organisation}"
    resource = {
        "resourceType": "PractitionerRole",
        "id": technical_id("PractitionerRole", key),
        "meta": _meta("PractitionerRole", key,
                      _profiles("as-dp-practitionerrole", "fr-core-practitioner-role")),
        "language": "fr",
        "identifier": [{"system": RPPS_SYSTEM, "value": activity_identifier(key)}],
        "active": True,
        "practitioner": _ref("Practitioner", pro.rpps),
        "organization": _ref("Organization", pro.organisation),
        "code": [{"coding": [{"system": EXERCISE_MODE_SYSTEM, "code": "L"}]}],
    }
    address = open_mailbox(pro, world)
    if address:
        resource["telecom"] = [mailbox_telecom(address, "PER")]
    return resource


def organization(org, world: World) -> dict:
    identifiers = [_identifier(IDNST_SYSTEM, org.idnst, "IDNST"),
                   _identifier(FINESS_SYSTEM, org.finess, "FINEG")]
    if org.siret:
        identifiers.append(_identifier(SIRET_SYSTEM, org.siret, "SIRET"))
    telecom = []
    for kind, addresses in (("ORG", org.org_mailboxes), ("APP", org.app_mailboxes)):
        for address in addresses:
            box = world.mailbox(address)
            if box is None or not box.closed:
                telecom.append(mailbox_telecom(address, kind))
    if org.phone:
        telecom.append({"system": "phone", "value": org.phone})
    resource = {
        "resourceType": "Organization",
        "id": technical_id("Organization", org.finess),
        "meta": _meta("Organization", org.finess, _profiles("as-dp-organization", "fr-core-organization")),
        "language": "fr",
        "identifier": identifiers,
        "active": True,
        "type": [{"coding": [{"system": f"{NOS}/TRE_R02-SecteurActivite/FHIR/TRE-R02-SecteurActivite",
                              "code": org.facility_type, "display": org.facility_type_display}]}],
        "name": org.name,
        "address": [{"line": [" ".join(p for p in (org.address.house_number, org.address.street) if p)],
                     "postalCode": org.address.postal_code, "city": org.address.city,
                     "country": org.address.country}],
    }
    if telecom:
        resource["telecom"] = telecom
    return resource


def healthcare_service(org) -> dict:
    return {
        "resourceType": "HealthcareService",
        "id": technical_id("HealthcareService", org.finess),
        "meta": _meta("HealthcareService", org.finess, [f"{IG}/as-dp-healthcareservice-healthcare-activity"]),
        "active": True,
        "providedBy": _ref("Organization", org.finess),
        "name": org.practice_setting_display,
        "category": [{"coding": [{"system": f"{NOS}/TRE_R02-SecteurActivite/FHIR/TRE-R02-SecteurActivite",
                                  "code": org.facility_type}]}],
    }


def build_directory(world: World) -> dict[str, dict[str, dict]]:
    """Every resource of the directory, by type then id (sorted, as the real server pages by id),
    each validated as FHIR R4."""
    directory: dict[str, dict[str, dict]] = {t: {} for t in (*VALIDATED_TYPES, "Device")}
    for pro in world.professionals:
        for resource in (practitioner(pro, world), practitioner_role(pro, world)):
            directory[resource["resourceType"]][resource["id"]] = resource
    for org in world.organisations:
        for resource in (organization(org, world), healthcare_service(org)):
            directory[resource["resourceType"]][resource["id"]] = resource
    validators = _validators()
    for resource_type, resources in directory.items():
        validator = validators.get(resource_type)
        for resource in resources.values():
            if validator:
                validator.model_validate(resource)
    return {t: dict(sorted(resources.items())) for t, resources in directory.items()}
