"""Installs the repository's top folders as one package, ``segur``: ``validators/`` is ``segur.validators``.

``ROOTS`` is the one place this map is written (README, "Where the code is", says why). Data folders
without ``__init__.py`` (``mocks/insi/wsdl``, ``scenarios/data``) are listed as namespace packages so that
setuptools knows their files as package data without a warning per folder.
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
    subpackages = find_namespace_packages(folder, exclude=["*__pycache__*"])
    packages.extend(f"{package}.{sub}" for sub in subpackages)

setup(package_dir=ROOTS, packages=packages)
