"""pytest-kind-ng (pytest-kind's maintained successor, same `pytest_kind` package) as a library, never as a plugin.

pytest-kind-ng registers a `--kubeconfig` pytest option, and so does pytest-helm-charts: pytest refuses to
load both plugins, and a `-p no:pytest-kind-ng` in addopts only helps when pytest finds our ini file. So
pytest-kind-ng is installed (`./dev setup`, from
requirements-kind.lock) into <venv>/deployproof-libraries, a folder pytest's plugin discovery does not
scan, and imported from there by the kind provider when it is used.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

from ..errors import PrerequisiteError

LIBRARY_DIR = Path(sys.prefix) / "deployproof-libraries"


def kind_cluster_class():
    """pytest-kind-ng's KindCluster class (module pytest_kind.cluster)."""
    if str(LIBRARY_DIR) not in sys.path:
        sys.path.append(str(LIBRARY_DIR))
    try:
        return importlib.import_module("pytest_kind.cluster").KindCluster
    except ImportError as exc:
        raise PrerequisiteError(
            f"pytest-kind-ng is not installed in {LIBRARY_DIR} ({exc})",
            f"run ./dev setup, or: {sys.executable} -m pip install --no-deps --require-hashes "
            f"--target {LIBRARY_DIR} -r requirements-kind.lock") from exc
