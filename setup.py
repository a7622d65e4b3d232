"""Maps the repository's top-level folders onto one importable namespace, ``segur``.

The user asked for ``mocks/``, ``validators/``, ``fixtures/`` and ``scenarios/`` at the top of
the repository. Installed as top-level packages, those generic names would clash with unrelated
PyPI distributions (``validators``, ``fixtures`` and ``mocks`` all exist), so each folder is
installed as a subpackage of ``segur`` instead: ``validators/`` is ``segur.validators``.
"""

from setuptools import find_packages, setup

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
    packages.extend(f"{package}.{sub}" for sub in find_packages(folder))

setup(package_dir=ROOTS, packages=packages)
