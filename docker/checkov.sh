#!/usr/bin/env bash
# Static security checks of the Terraform in terraform/ with checkov (offline).
# Used by `make infra-lint`, not by `make test`: the first run installs checkov into
# its own virtualenv under .dev/ (checkov pins an old boto3, so it stays out of .venv).
#
#   bash docker/checkov.sh            # from the repository root
#
# Findings we accept are skipped next to the resource with
# `#checkov:skip=CKV_...:reason`, never here, so every exception carries its reason.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# No terraform CLI configuration is needed (or wanted) for fmt and checkov.
export TF_CLI_CONFIG_FILE=/dev/null

PYTHON_BIN="${CHECKOV_PYTHON:-$(command -v python3.11 || command -v python3.12 || command -v python3)}"
VENV=".dev/checkov-venv"
CHECKOV_SPEC="${CHECKOV_SPEC:-checkov>=3.2,<4}"

if [[ ! -x "$VENV/bin/checkov" ]]; then
    echo "Installing checkov into $VENV (first run only)..."
    mkdir -p .dev
    "$PYTHON_BIN" -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "$CHECKOV_SPEC"
fi

# terraform fmt, where a terraform binary happens to be installed (it is optional).
if command -v terraform >/dev/null 2>&1; then
    terraform fmt -check -diff -recursive terraform
fi

exec "$VENV/bin/checkov" --skip-download --framework terraform -d terraform --quiet --compact
