"""Maps the repository's top-level folders onto one importable namespace, ``segur``.

The user asked for ``mocks/``, ``validators/``, ``fixtures/`` and ``scenarios/`` at the top of
the repository. Installed as top-level packages, those generic names would clash with unrelated
PyPI distributions (``validators``, ``fixtures`` and ``mocks`` all exist), so each folder is
installed as a subpackage of ``segur`` instead: ``validators/`` is ``segur.validators``.

Data folders without ``__init__.py`` (``mocks/insi/wsdl``, ``scenarios/data``) are listed as namespace
packages, so their files are package data setuptools knows about: listing them only as package data of
the parent made every build print a long "absent from the `packages` configuration" warning per folder.
"""

from setuptools import find_namespace_packages, setup

ROOTS = {
    "segur": "segur",
    "segur.validators": "validators",
    "segur.mocks": "mocks",
    "segur.fixtures": "fixtures",
    "segur.scenarios": "scenarios",
}

packages = []
for package, folder in ROOTS.items():
    packages.append(package)
    packages.extend(f"{package}.{sub}" for sub in find_namespace_packages(folder, exclude=["*__pycache__*"]))

setup(package_dir=ROOTS, packages=packages)
