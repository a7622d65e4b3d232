"""`xds_metadata.plain`, the store's fast `dataclasses.asdict`: the same dicts for every metadata object of
real submissions (one and several documents, a replacement), and asdict's own way for other values."""

from __future__ import annotations

import dataclasses
import json
from collections import OrderedDict, namedtuple
from datetime import date
from pathlib import Path

import pytest
from dmp_helpers import DmpCase

from segur.fixtures.world import load_world
from segur.kernel.pki import TestPki
from segur.mocks.dmp import ebrim
from segur.mocks.dmp.xds_metadata import Code, plain


@pytest.fixture(scope="module")
def case(tmp_path_factory) -> DmpCase:
    return DmpCase(TestPki.load_or_create(Path(tmp_path_factory.mktemp("pki"))), load_world())


def _objects(case: DmpCase, documents: int, replaces: bool = False) -> list:
    cdas = [case.cda(pdf=b"%PDF-1.4 " + bytes([i])) for i in range(documents)]
    request, _ = case.submission(cdas, replaces={"Document01": "urn:uuid:replaced"} if replaces else None)
    submission, _problems = ebrim.parse_submission(request)
    return [submission, submission.submission_set, *submission.document_entries, *submission.associations]


@pytest.mark.parametrize("documents, replaces", [(1, False), (3, False), (1, True)])
def test_every_object_of_a_submission_gives_what_asdict_gives(case, documents, replaces):
    objects = _objects(case, documents, replaces)
    for item in objects:
        assert plain(item) == dataclasses.asdict(item)
        assert json.dumps(plain(item)) == json.dumps(dataclasses.asdict(item))


def test_the_result_shares_no_mutable_value_with_the_object(case):
    entry = _objects(case, 1)[2]
    data = plain(entry)
    data["slots"]["extra"] = ["x"]
    data["classifications"].clear()
    assert "extra" not in entry.slots and entry.classifications


@dataclasses.dataclass
class _Odd:
    pair: tuple = (1, [2])
    point: tuple = namedtuple("Point", "x y")(Code("c", "s"), 2)
    ordered: dict = dataclasses.field(default_factory=lambda: OrderedDict(a=[1]))
    day: date = date(2026, 12, 6)


def test_values_outside_the_model_are_converted_as_asdict_converts_them():
    odd = _Odd()
    converted = plain(odd)
    assert converted == dataclasses.asdict(odd)
    assert type(converted["point"]).__name__ == "Point" and isinstance(converted["ordered"], OrderedDict)
    assert converted["pair"][1] is not odd.pair[1]
