"""INSi mock: the searches, seen through a zeep client generated from CNAM's own WSDL.

Each operation and each return code (00 one identity, 01 none, 02 several), the active INS with its
OID, the INS history and the reference traits, as the shared test world and the CNDA recordings
say; and the mock's own WSDL, served at ?wsdl, used by a second zeep client.
"""

from __future__ import annotations

import datetime

import pytest
import zeep
from lxml import etree

from segur.mocks.insi.soap import read_wsdl_actions
from segur.mocks.insi.testing import (
    context_headers,
    official_client,
    running_insi,
    search_first_name_by_first_name,
)

HEADERS = context_headers()


@pytest.fixture(scope="module")
def insi():
    with running_insi() as running:
        yield running


@pytest.fixture(autouse=True)
def _clean(insi):
    insi.admin("reset", "POST", {})


@pytest.fixture(scope="module")
def service(insi, shared_ref):
    client, service = official_client(shared_ref / "insi" / "wsdl", insi.service_url)
    return service


def by_traits(service, birth_name, first_name, sex, birth_date, place=None, headers=HEADERS):
    kwargs = {"LieuNaissance": place} if place else {}
    return service.rechercherInsAvecTraitsIdentite(NomNaissance=birth_name, Prenom=[first_name], Sexe=sex,
                                                   DateNaissance=birth_date, _soapheaders=headers, **kwargs)


def test_a_world_patient_is_found_with_code_00_and_her_ins_and_oid(service):
    result = by_traits(service, "ADRTROIS", "DOMINIQUE", "F", "1997-02-26")
    assert (result.CR.CodeCR, result.CR.LibelleCR) == ("00", "OK")
    active = result.INDIVIDU.INSACTIF
    assert (active.IdIndividu.NumIdentifiant, active.IdIndividu.Cle) == ("297022A020778", "78")
    assert active.OID == "1.2.250.1.213.1.4.8"
    tiq = result.INDIVIDU.TIQ
    traits = ("NomNaissance", "Prenom", "ListePrenom", "Sexe", "DateNaissance", "LieuNaissance")
    assert [getattr(tiq, trait) for trait in traits] == [
        "ADRTROIS", "DOMINIQUE", "DOMINIQUE", "F", "1997-02-26", "2A020"]


def test_an_unknown_identity_gives_code_01_without_individual(service):
    result = by_traits(service, "INCONNU", "PERSONNE", "M", "1970-01-01")
    assert (result.CR.CodeCR, result.CR.LibelleCR) == ("01", "Aucune identite trouvee")
    assert result.INDIVIDU is None


def test_homonyms_give_code_02_and_the_birth_place_tells_them_apart(service):
    several = by_traits(service, "BLANCHET", "JULIE", "F", "1981-04-02")
    assert (several.CR.CodeCR, several.CR.LibelleCR) == ("02", "Plusieurs identites trouvees")
    assert several.INDIVIDU is None
    one = by_traits(service, "BLANCHET", "JULIE", "F", "1981-04-02", place="33063")
    assert one.CR.CodeCR == "00" and one.INDIVIDU.INSACTIF.IdIndividu.NumIdentifiant == "2810433063279"


def test_homonyms_are_told_apart_by_the_whole_list_of_first_names(service):
    """What the regional INS guides advise after a 02: search again with the other first names."""
    one = by_traits(service, "BLANCHET", "JULIE NICOLE", "F", "1981-04-02")
    assert one.CR.CodeCR == "00" and one.INDIVIDU.TIQ.ListePrenom == "JULIE NICOLE"
    assert one.INDIVIDU.INSACTIF.IdIndividu.NumIdentifiant == "2810433063279"


def test_homonyms_sharing_the_birth_place_stay_ambiguous(service):
    assert by_traits(service, "CHARTIER", "LUCY", "F", "1941-04-23", place="35238").CR.CodeCR == "02"


def test_search_is_strict_on_each_trait(service):
    assert by_traits(service, "ADRTROIS", "DOMINIQUE", "F", "1997-02-26").CR.CodeCR == "00"
    assert by_traits(service, "ADRTROI", "DOMINIQUE", "F", "1997-02-26").CR.CodeCR == "01"
    assert by_traits(service, "ADRTROIS", "DOMINIQUE", "M", "1997-02-26").CR.CodeCR == "01"
    assert by_traits(service, "ADRTROIS", "DOMINIQUE", "F", "1997-02-27").CR.CodeCR == "01"
    assert by_traits(service, "ADRTROIS", "DOMINIQUE", "F", "1997-02-26", place="2A004").CR.CodeCR == "01"


def test_names_are_compared_without_case_or_accents(service):
    assert by_traits(service, "Adrtrois", "Dominique", "F", "1997-02-26").CR.CodeCR == "00"
    assert by_traits(service, "ADRTROÏS", "DOMINIQUÉ", "F", "1997-02-26").CR.CodeCR == "00"


def test_clients_call_once_per_first_name_in_turn(service):
    """TCHITCHI CATARINA BELLA: OLA is not hers (01), CATARINA is her first first name (00),
    BELLA alone is not the first one (01), the whole list matches (00)."""
    assert by_traits(service, "TCHITCHI", "OLA", "F", "1936-06-21").CR.CodeCR == "01"
    found = by_traits(service, "TCHITCHI", "CATARINA", "F", "1936-06-21")
    assert found.CR.CodeCR == "00"
    assert (found.INDIVIDU.TIQ.Prenom, found.INDIVIDU.TIQ.ListePrenom) == ("CATARINA", "CATARINA BELLA")
    assert by_traits(service, "TCHITCHI", "BELLA", "F", "1936-06-21").CR.CodeCR == "01"
    assert by_traits(service, "TCHITCHI", "CATARINA BELLA", "F", "1936-06-21").CR.CodeCR == "00"


def test_several_prenom_elements_are_the_list_of_first_names_in_order_not_alternatives(service):
    """INSi_RECSANS_INS.xsd allows several `Prenom`: read as the list split up, as one `Prenom`
    "CATARINA BELLA" would be; a wrong first name among them is not skipped (CNAM is strict: OLA → 01)."""
    def search(first_names):
        result = service.rechercherInsAvecTraitsIdentite(NomNaissance="TCHITCHI", Prenom=first_names,
                                                         Sexe="F", DateNaissance="1936-06-21",
                                                         _soapheaders=HEADERS)
        return result.CR.CodeCR
    assert search(["CATARINA", "BELLA"]) == "00"
    assert search(["OLA", "CATARINA"]) == "01"
    assert search(["BELLA", "CATARINA"]) == "01"
    assert search(["CATARINA"]) == "00"


def test_the_kits_client_loop_tries_each_first_name_then_the_whole_list(service):
    def loop(*traits):
        return search_first_name_by_first_name(service, *traits)

    result, attempts = loop("TCHITCHI", "OLA CATARINA BELLA", "F", "1936-06-21")
    assert attempts == [("OLA", "01"), ("CATARINA", "00")] and result.INDIVIDU.TIQ.Prenom == "CATARINA"
    _, attempts = loop("HOUILLES", "PIERRE PAUL JACQUES", "M", "1993-01-27")
    assert attempts == [("PIERRE", "01"), ("PAUL", "01"), ("JACQUES", "01"), ("PIERRE PAUL JACQUES", "01")]
    result, attempts = loop("BLANCHET", "JULIE MARCELLE", "F", "1981-04-02")
    assert attempts == [("JULIE", "02"), ("MARCELLE", "01"), ("JULIE MARCELLE", "00")]
    assert result.INDIVIDU.TIQ.LieuNaissance == "75112"


def test_ins_history_is_returned_as_recorded_in_the_cnda_plan(service):
    """TEST_2.04 cas 2: ECETINSI PIERRE-ALAIN, two earlier INS, dates as recorded."""
    result = by_traits(service, "ECETINSI", "PIERRE-ALAIN", "M", "2009-07-14")
    assert result.CR.CodeCR == "00"
    assert result.INDIVIDU.INSACTIF.IdIndividu.NumIdentifiant == "1090763220834"
    history = result.INDIVIDU.INSHISTO
    assert [(h.IdIndividu.NumIdentifiant, h.IdIndividu.Cle) for h in history] == [
        ("2090763220834", "39"), ("2090663220123", "55")]
    assert (history[0].DateDeb, history[0].DateFin) == (datetime.date(2019, 3, 1), datetime.date(2019, 2, 28))
    assert result.INDIVIDU.TIQ.ListePrenom == "PIERRE-ALAIN MURIEL FLORIANT"


@pytest.mark.parametrize(("traits", "oid"), [
    (("PROVISOIRE", "MATRICULE", "M", "2009-07-01"), "1.2.250.1.213.1.4.9"),  # NIA (TEST_2.05)
    (("CORSE", "ANTHONY", "M", "1980-03-02"), "1.2.250.1.213.1.4.8"),  # NIR born in 2B (TEST_2.08 cas 1)
    (("PAT-TROIS", "DOMINIQUE", "F", "1979-03-28"), "1.2.250.1.213.1.4.10"),  # test NIR (ANS CDA examples)
])
def test_the_oid_is_the_one_the_world_gives(service, traits, oid):
    result = by_traits(service, *traits)
    assert result.CR.CodeCR == "00" and oid == result.INDIVIDU.INSACTIF.OID


def test_lunar_birth_dates_are_matched_as_written(service):
    assert by_traits(service, "GAUDIN", "AUGUSTIN", "M", "1961-00-00").CR.CodeCR == "00"


def test_vitale_card_search_finds_the_active_ins_from_an_earlier_nir(service):
    result = service.rechercherInsAvecCarteVitale(
        MatriculeIndividu={"NumIdentifiant": "2090763220834", "Cle": "39"}, DateNaissance="2009-07-14",
        _soapheaders=HEADERS)
    assert result.CR.CodeCR == "00"
    assert result.INDIVIDU.INSACTIF.IdIndividu.NumIdentifiant == "1090763220834"
    assert result.INDIVIDU.INSACTIF.OID == "1.2.250.1.213.1.4.8"


def test_vitale_card_search_verifies_nir_key_date_and_name(service):
    def vitale(number, key, birth_date, name=None, od=False):
        matricule = {"NumIdentifiant": number, "Cle": key}
        kwargs = {"MatriculeOD" if od else "MatriculeIndividu": matricule}
        if name:
            kwargs["NomNaissance"] = name
        return service.rechercherInsAvecCarteVitale(DateNaissance=birth_date, _soapheaders=HEADERS,
                                                    **kwargs).CR.CodeCR

    assert vitale("297022A020778", "78", "1997-02-26") == "00"
    assert vitale("297022A020778", "78", "1997-02-26", name="ADRTROIS") == "00"
    assert vitale("297022A020778", "78", "1997-02-26", od=True) == "00"
    assert vitale("297022A020778", "77", "1997-02-26") == "01"  # wrong key
    assert vitale("297022A020778", "78", "1997-02-25") == "01"  # wrong birth date
    assert vitale("297022A020778", "78", "1997-02-26", name="AUTRE") == "01"  # wrong birth name
    assert vitale("197022A020778", "12", "1997-02-26") == "01"  # unknown NIR


def test_the_recorded_keys_of_a_cnda_persona_are_replayed(service):
    """TEST_2.08 cas 2 records key 60 (INSEE's rule gives 76): the mock answers what CNAM answered."""
    result = service.rechercherInsAvecCarteVitale(
        MatriculeIndividu={"NumIdentifiant": "1810363220456", "Cle": "60"}, DateNaissance="1981-03-24",
        _soapheaders=HEADERS)
    assert result.CR.CodeCR == "00" and result.INDIVIDU.INSACTIF.IdIndividu.Cle == "60"


def test_the_journal_shows_each_search_with_its_code_and_bodies(insi, service):
    by_traits(service, "ADRTROIS", "DOMINIQUE", "F", "1997-02-26")
    by_traits(service, "BLANCHET", "JULIE", "F", "1981-04-02")
    by_traits(service, "INCONNU", "PERSONNE", "M", "1970-01-01")
    status, journal = insi.admin("journal")
    assert status == 200
    entries = journal["entries"]
    assert [e["meta"]["code_cr"] for e in entries] == ["00", "02", "01"]
    assert [e["rules"] for e in entries] == [
        ["INSI-SEARCH-FOUND"], ["INSI-SEARCH-SEVERAL"], ["INSI-SEARCH-NONE"]]
    first = entries[0]
    assert first["operation"] == "rechercherInsAvecTraitsIdentite" and first["verdict"] == "accepted"
    assert first["meta"]["ins"] == "297022A02077878"
    assert "<ns0:NomNaissance>ADRTROIS</ns0:NomNaissance>" in first["request"]["body"]["text"]
    assert first["request"]["headers"]["Content-Type"].startswith("application/soap+xml")
    assert "297022A020778" in first["response"]["body"]["text"] and first["response"]["status"] == 200
    assert first["meta"]["message_id"].startswith("urn:uuid:")


def test_answers_carry_ws_addressing_relates_to_the_request_message_id(insi, service):
    by_traits(service, "ADRTROIS", "DOMINIQUE", "F", "1997-02-26")
    entry = insi.journal.entries()[-1]
    answer = etree.fromstring(entry.response["body"]["text"].encode())
    wsa = "{http://www.w3.org/2005/08/addressing}"
    assert answer.findtext(f".//{wsa}RelatesTo") == entry.meta["message_id"]
    assert answer.findtext(f".//{wsa}Action") == (
        "urn:ServiceIdentiteCertifiee:1.0.0:rechercherInsAvecTraitsIdentiteResponse")


# -- the mock's own WSDL -------------------------------------------------------------------------

def test_a_client_generated_from_the_mocks_own_wsdl_finds_a_patient(insi):
    client = zeep.Client(insi.wsdl_url)
    search = client.service.rechercherInsAvecTraitsIdentite
    result = search(NomNaissance="ADRTROIS", Prenom=["DOMINIQUE"], Sexe="F", DateNaissance="1997-02-26",
                    _soapheaders=HEADERS)
    assert result.CR.CodeCR == "00" and result.INDIVIDU.INSACTIF.IdIndividu.Cle == "78"
    several = client.service.rechercherInsAvecTraitsIdentite(
        NomNaissance="BLANCHET", Prenom=["JULIE"], Sexe="F", DateNaissance="1981-04-02", _soapheaders=HEADERS)
    assert several.CR.CodeCR == "02"
    card = client.service.rechercherInsAvecCarteVitale(
        MatriculeIndividu={"NumIdentifiant": "180032B020401", "Cle": "23"}, DateNaissance="1980-03-02",
        _soapheaders=HEADERS)
    assert card.CR.CodeCR == "00" and card.INDIVIDU.TIQ.LieuNaissance == "2B020"


def test_the_served_wsdl_points_at_the_running_server_and_its_schemas(insi):
    import urllib.request

    with urllib.request.urlopen(insi.wsdl_url, timeout=5) as resp:
        wsdl = etree.fromstring(resp.read())
    address = wsdl.find(".//{http://schemas.xmlsoap.org/wsdl/soap12/}address").get("location")
    assert address == insi.service_url
    locations = [i.get("schemaLocation") for i in wsdl.iter("{http://www.w3.org/2001/XMLSchema}import")]
    assert locations and all(loc.startswith(insi.url + "/wsdl/xsd/") for loc in locations)
    for location in locations:
        with urllib.request.urlopen(location, timeout=5) as resp:
            assert etree.fromstring(resp.read()).tag == "{http://www.w3.org/2001/XMLSchema}schema"


def test_the_mocks_wsdl_declares_the_same_actions_as_cnams(shared_ref):
    official = read_wsdl_actions(shared_ref / "insi" / "wsdl" / "DESIR_ICIR_EXP_1.5.0.wsdl")
    assert read_wsdl_actions() == official
    assert official["rechercherInsAvecTraitsIdentite"][0] == (
        "urn:ServiceIdentiteCertifiee:1.0.0:rechercherInsAvecTraitsIdentite")


def test_health_lists_every_endpoint_a_client_needs(insi):
    status, health = insi.admin("health")
    assert status == 200 and health["service"] == "insi" and health["status"] == "ok"
    assert health["endpoints"]["soap"] == insi.service_url
    assert health["endpoints"]["wsdl"] == insi.wsdl_url
    assert health["patients"] == len(insi.model.world.patients)
