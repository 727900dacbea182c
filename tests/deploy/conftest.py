from __future__ import annotations

import os
from pathlib import Path

import pytest

# deploy/check.sh sets this to deploy/.venv's python: tests that need the deploy tools
# (PyYAML, kubernetes-validate, aws-cdk-lib) run through it and are skipped elsewhere.
DEPLOY_PYTHON = os.environ.get("BETMESH_DEPLOY_PYTHON", "")
ROOT = Path(__file__).resolve().parents[2]

needs_deploy_tools = pytest.mark.skipif(
    not DEPLOY_PYTHON, reason="deploy tools venv: run deploy/check.sh"
)
