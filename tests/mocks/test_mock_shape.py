"""Every mock has the same files with the same meaning (docs/architecture.md): a newcomer who knows one
knows all. The registry's services that live in `mocks/` are checked, so a new mock is held to it too."""

from __future__ import annotations

from pathlib import Path

import pytest

from segur.kernel.rules import RuleBook
from segur.kernel.service import Service
from segur.rule_catalogue import RULE_MODULES
from segur.services import SERVICES

MOCKS = Path(__file__).resolve().parents[2] / "mocks"
MODULE_SET = ("models.py", "responses.py", "rules.py", "service.py", "testing.py")
MOCK_SERVICES = [cls for cls in SERVICES if cls.__module__.startswith("segur.mocks.")]


def _package(service) -> str:
    return service.__module__.rsplit(".", 1)[0]


def test_every_mock_folder_is_a_registered_service():
    folders = {p.name for p in MOCKS.iterdir() if (p / "__init__.py").exists()}
    assert folders == {_package(cls).rsplit(".", 1)[1] for cls in MOCK_SERVICES}


@pytest.mark.parametrize("service", MOCK_SERVICES, ids=lambda cls: cls.name)
def test_a_mock_has_the_module_set_a_service_and_one_rule_book(service):
    folder = MOCKS / _package(service).rsplit(".", 1)[1]
    assert [name for name in MODULE_SET if not (folder / name).exists()] == []
    assert service.__module__.endswith(".service") and issubclass(service, Service)
    rules = next(m for m in RULE_MODULES if m.__name__ == _package(service) + ".rules")
    books = [value for value in vars(rules).values() if isinstance(value, RuleBook)]
    assert len(books) == 1, f"{folder.name}/rules.py declares {len(books)} RuleBooks"
