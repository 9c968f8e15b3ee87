"""The repository's layout: every package pyproject lists is ours, and importing it does nothing.

The top-level names (`model`, `config`, `store`, ...) are generic; an installed distribution with the
same name must never shadow ours. Importing a package must do no work (STYLE.md, convention 10).
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES: list[str] = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"][
    "packages"
]
TOP_LEVEL = [name for name in PACKAGES if "." not in name]

# Run in a fresh interpreter: imports the package named in argv[1], then reports what it finds.
PROBE = """\
import importlib, json, logging, sys, threading
module = importlib.import_module(sys.argv[1])
root = logging.getLogger()
sys.stdout.write(json.dumps({
    "file": module.__file__,
    "threads": threading.active_count(),
    "root_handlers": len(root.handlers),
    "root_level": logging.getLevelName(root.level),
}))
"""


def test_pyproject_lists_top_level_packages() -> None:
    assert TOP_LEVEL, "pyproject.toml [tool.setuptools] packages lists no top-level package"


@pytest.mark.parametrize("name", TOP_LEVEL)
def test_package_imported_by_the_tests_is_this_repository(name: str) -> None:
    module = importlib.import_module(name)

    assert module.__file__ == str(REPO / name / "__init__.py")


@pytest.mark.parametrize("name", TOP_LEVEL)
def test_package_imported_from_elsewhere_is_this_repository_and_importing_it_does_nothing(
    name: str, tmp_path: Path
) -> None:
    # -I: no PYTHONPATH, no user site, no current directory on sys.path. The package must come
    # through the installed project (`pip install -e .`, ./scripts/setup.sh), and win over any
    # other distribution of the same name in site-packages.
    proc = subprocess.run(
        [sys.executable, "-I", "-c", PROBE, name],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert proc.stderr == "", f"importing {name} wrote to stderr or failed (project not installed?)"
    assert (proc.returncode, proc.stdout) == (
        0,
        json.dumps(
            {
                "file": str(REPO / name / "__init__.py"),
                "threads": 1,
                "root_handlers": 0,
                "root_level": "WARNING",
            }
        ),
    )
    assert list(tmp_path.iterdir()) == [], f"importing {name} created files in the working directory"
