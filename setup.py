"""Packaging hook: ship the top-level rules/ and templates/ folders inside the installed package.

They live at the top of the repository (where PMOs and designers edit them), and a normal install
copies them to ``lifecycle/_data/`` so ``pmo`` finds them from any working directory.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py


class BuildWithData(build_py):
    def run(self) -> None:
        super().run()
        root = Path(__file__).resolve().parent
        for name in ("rules", "templates"):
            dst = Path(self.build_lib) / "lifecycle" / "_data" / name
            if dst.exists():
                shutil.rmtree(dst)
            shutil.copytree(root / name, dst, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))


setup(cmdclass={"build_py": BuildWithData})
