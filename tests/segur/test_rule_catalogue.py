"""`segur.rule_catalogue` imports every module that declares rules, so `segur rules` lists them all."""

from __future__ import annotations

import ast
import json

from package_map import modules_of, package_roots
from typer.testing import CliRunner

from segur import rule_catalogue
from segur.cli import app


def _declares_rules(path) -> bool:
    """The module builds a `RuleBook` or registers rules (`rules.register(...)`, or `register(...)`
    imported from the kernel's rules)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    bare_register = any(isinstance(node, ast.ImportFrom) and node.module == "segur.kernel.rules"
                        and any(alias.name == "register" for alias in node.names) for node in ast.walk(tree))
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            called = node.func
            name = getattr(called, "id", None)
            if name == "RuleBook" or (bare_register and name == "register"):
                return True
            if isinstance(called, ast.Attribute) and called.attr == "register" and \
                    getattr(called.value, "id", None) == "rules":
                return True
    return False


def test_every_module_declaring_rules_is_in_the_catalogue():
    declaring = {name for name, path in modules_of(package_roots()).items()
                 if name != "segur.kernel.rules" and _declares_rules(path)}
    listed = {module.__name__ for module in rule_catalogue.RULE_MODULES}
    assert declaring - listed == set(), "add these to segur/rule_catalogue.py"


def test_a_module_without_rules_is_not_found_declaring_some(tmp_path):
    plain = tmp_path / "plain.py"
    plain.write_text("from segur.kernel import rules\nRULE = rules.get('X')\n", encoding="utf-8")
    book = tmp_path / "book.py"
    book.write_text("from segur.kernel.rules import RuleBook\nBOOK = RuleBook('x')\n", encoding="utf-8")
    bare = tmp_path / "bare.py"
    bare.write_text("from segur.kernel.rules import register\nregister(RULE)\n", encoding="utf-8")
    assert (_declares_rules(plain), _declares_rules(book), _declares_rules(bare)) == (False, True, True)


def test_segur_rules_lists_the_rules_of_every_area():
    listed = json.loads(CliRunner().invoke(app, ["rules", "--json"]).output)
    layers = {rule["layer"] for rule in listed}
    validator = {"xml", "structure", "xsd", "validator", "schematron", "segur"}
    areas = validator | {"insi", "xds", "vihf", "mss", "fhir"}
    assert areas - layers == set()
