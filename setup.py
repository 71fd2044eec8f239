"""Lists the sub-packages of each folder mapped in pyproject.toml's [tool.setuptools.package-dir].

setuptools cannot discover packages below a renamed folder by itself; this walks each folder once.
"""
from setuptools import find_packages, setup

PACKAGE_DIRS = {
    "kd.common": "common",
    "kd.vision": "image-classification",
    "kd.nlp": "NLP",
    "kd.rl": "reinforcement-learning",
}

packages = []
for namespace, folder in PACKAGE_DIRS.items():
    packages.append(namespace)
    packages += [f"{namespace}.{sub}" for sub in find_packages(folder)]

setup(packages=packages, package_dir=PACKAGE_DIRS)
