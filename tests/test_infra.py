"""Invariants of the container and AWS infrastructure (docker/, terraform/).

Parses the Terraform with python-hcl2 and the compose file with PyYAML; no network,
no Docker, no terraform binary. Settings names are read from config/ with `ast`, so
an environment variable the deployment sets but the app never reads fails here.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import hcl2
import pytest
import yaml

from tests.settings_names import settings_env_names

ROOT = Path(__file__).resolve().parent.parent
TERRAFORM = ROOT / "terraform"


def _load_terraform() -> dict[str, list[Any]]:
    options = hcl2.SerializationOptions(strip_string_quotes=True)
    merged: dict[str, list[Any]] = {}
    for path in sorted(TERRAFORM.glob("*.tf")):
        with path.open() as handle:
            document = hcl2.load(handle, serialization_options=options)
        for key, blocks in document.items():
            if isinstance(blocks, list):
                merged.setdefault(key, []).extend(blocks)
    return merged


@pytest.fixture(scope="module")
def terraform() -> dict[str, list[Any]]:
    return _load_terraform()


def _resources(terraform: dict[str, list[Any]], kind: str) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for block in terraform.get("resource", []):
        found.update(block.get(kind, {}))
    return found


def _locals(terraform: dict[str, list[Any]]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for block in terraform.get("locals", []):
        merged.update(block)
    return merged


def _is_true(value: Any) -> bool:
    return value is True or value == "true"


def test_settings_reader_finds_the_known_names() -> None:
    names = settings_env_names()
    assert {"SECRET_KEY", "DATABASE_URL", "REDIS_URL", "HOLIDESK_ENCRYPTION_KEY"} <= names


def test_beat_is_a_singleton(terraform: dict[str, list[Any]]) -> None:
    beat = _resources(terraform, "aws_ecs_service")["beat"]
    assert beat["desired_count"] == 1
    # A deployment stops the old beat before starting the new one: never two at once.
    assert beat["deployment_maximum_percent"] == 100
    assert beat["deployment_minimum_healthy_percent"] == 0
    scaled = _locals(terraform)["autoscaled"]
    assert set(scaled) == {"web", "worker"}


def test_services_run_in_private_subnets(terraform: dict[str, list[Any]]) -> None:
    services = _resources(terraform, "aws_ecs_service")
    assert set(services) == {"web", "worker", "images", "beat"}
    for service in services.values():
        network = service["network_configuration"][0]
        assert network["assign_public_ip"] is False
        assert "aws_subnet.private" in network["subnets"]


def test_database_is_encrypted_private_and_protected(terraform: dict[str, list[Any]]) -> None:
    database = _resources(terraform, "aws_db_instance")["main"]
    assert database["engine"] == "postgres"
    assert str(database["engine_version"]).startswith("15")
    assert _is_true(database["storage_encrypted"])
    assert _is_true(database["multi_az"])
    assert _is_true(database["deletion_protection"])
    assert database["publicly_accessible"] is False
    assert database["skip_final_snapshot"] is False
    assert database["backup_retention_period"] == "${var.db_backup_retention_days}"
    parameters = _resources(terraform, "aws_db_parameter_group")["postgres"]["parameter"]
    assert {"name": "rds.force_ssl", "value": "1"} in [
        {"name": p["name"], "value": p["value"]} for p in parameters
    ]


def test_redis_is_encrypted_in_transit_and_at_rest(terraform: dict[str, list[Any]]) -> None:
    redis = _resources(terraform, "aws_elasticache_replication_group")["main"]
    assert _is_true(redis["transit_encryption_enabled"])
    assert _is_true(redis["at_rest_encryption_enabled"])
    assert redis["auth_token"]
    redis_url = _resources(terraform, "aws_secretsmanager_secret_version")["redis_url"]
    assert redis_url["secret_string"].startswith("rediss://")


def test_every_bucket_blocks_public_access(terraform: dict[str, list[Any]]) -> None:
    buckets = _resources(terraform, "aws_s3_bucket")
    blocks = _resources(terraform, "aws_s3_bucket_public_access_block")
    assert "media" in buckets
    for name in buckets:
        block = blocks[name]
        assert block["bucket"] == f"${{aws_s3_bucket.{name}.id}}"
        for flag in (
            "block_public_acls",
            "block_public_policy",
            "ignore_public_acls",
            "restrict_public_buckets",
        ):
            assert _is_true(block[flag]), (name, flag)
    versioning = _resources(terraform, "aws_s3_bucket_versioning")["media"]
    assert versioning["versioning_configuration"][0]["status"] == "Enabled"
    encryption = _resources(terraform, "aws_s3_bucket_server_side_encryption_configuration")
    media_rule = encryption["media"]["rule"][0]["apply_server_side_encryption_by_default"][0]
    assert media_rule["sse_algorithm"] == "aws:kms"


def test_media_is_served_through_cloudfront_oac(terraform: dict[str, list[Any]]) -> None:
    distribution = _resources(terraform, "aws_cloudfront_distribution")["media"]
    origin = distribution["origin"][0]
    assert "aws_cloudfront_origin_access_control.media" in origin["origin_access_control_id"]
    behaviour = distribution["default_cache_behavior"][0]
    assert behaviour["viewer_protocol_policy"] == "redirect-to-https"


def test_cloudfront_never_reads_photo_originals(terraform: dict[str, list[Any]]) -> None:
    policy = next(
        block["aws_iam_policy_document"]["media_bucket"]
        for block in terraform["data"]
        if "media_bucket" in block.get("aws_iam_policy_document", {})
    )
    denies = [s for s in policy["statement"] if s.get("effect") == "Deny"]
    private = [s for s in denies if s["resources"] == ["${aws_s3_bucket.media.arn}/private/*"]]
    assert private
    assert private[0]["actions"] == ["s3:GetObject"]
    assert private[0]["principals"][0]["identifiers"] == ["cloudfront.amazonaws.com"]


def test_photos_have_their_own_worker_with_a_fixed_cap(terraform: dict[str, list[Any]]) -> None:
    containers = _locals(terraform)["containers"]
    assert containers["images"]["command"] == ["python", "manage.py", "photo_worker"]
    assert "PHOTO_PROCESSING_CONCURRENCY" in containers["images"]["env"]
    assert "photo_worker" not in str(containers["worker"]["command"])
    images = _resources(terraform, "aws_ecs_service")["images"]
    assert images["desired_count"] == "${var.images_count}"
    assert "images" not in _locals(terraform)["autoscaled"]
    compose = yaml.safe_load((ROOT / "docker" / "compose.yaml").read_text())
    assert compose["services"]["photo-worker"]["command"] == ["python", "manage.py", "photo_worker"]
    procfile = (ROOT / "Procfile.dev").read_text()
    assert "manage.py photo_worker" in procfile


def test_http_redirects_to_https(terraform: dict[str, list[Any]]) -> None:
    listeners = _resources(terraform, "aws_lb_listener")
    redirect = listeners["http"]["default_action"][0]
    assert redirect["type"] == "redirect"
    assert redirect["redirect"][0]["protocol"] == "HTTPS"
    assert listeners["https"]["protocol"] == "HTTPS"
    certificate = _resources(terraform, "aws_acm_certificate")["main"]
    assert certificate["domain_name"] == "${var.base_domain}"
    assert certificate["subject_alternative_names"] == ["*.${var.base_domain}"]


def test_task_env_vars_are_settings(terraform: dict[str, list[Any]]) -> None:
    settings_names = settings_env_names()
    local_values = _locals(terraform)
    task_env = set(local_values["app_env"])
    for container in local_values["containers"].values():
        env = container["env"]
        if isinstance(env, dict):
            task_env |= set(env)
        else:  # merge(local.app_env, {NAME = "value", ...})
            task_env |= set(re.findall(r"([A-Z][A-Z0-9_]+)\s*=", env))
    secrets = set(re.findall(r'"([A-Z][A-Z0-9_]+)"', local_values["secret_names"]))
    # The container definitions take their variables from exactly these two places.
    definition = _resources(terraform, "aws_ecs_task_definition")["app"]["container_definitions"]
    assert "environment = [for name in sort(keys(each.value.env))" in definition
    assert "secrets = local.secret_env" in definition
    assert secrets == {
        "SECRET_KEY",
        "DATABASE_URL",
        "REDIS_URL",
        "HOLIDESK_ENCRYPTION_KEY",
        "STRIPE_SECRET_KEY",
        "STRIPE_WEBHOOK_SECRET",
        "STRIPE_PLATFORM_WEBHOOK_SECRET",
        "METRICS_TOKEN",
    }
    assert "PORT" in task_env
    assert not task_env & secrets, "a secret is also set in plain text"
    # FORWARDED_ALLOW_IPS is read by gunicorn (docker/gunicorn.conf.py), not by Django.
    assert {"HOLIDESK_TRUSTED_PROXY_COUNT", "FORWARDED_ALLOW_IPS"} <= task_env
    unknown = (task_env | secrets) - settings_names - {"FORWARDED_ALLOW_IPS"}
    assert not unknown, f"set by the task definitions but never read by settings: {unknown}"


def test_compose_env_vars_are_settings() -> None:
    compose = yaml.safe_load((ROOT / "docker" / "compose.yaml").read_text())
    settings_names = settings_env_names()
    app_services = ("migrate", "web", "worker", "photo-worker", "beat")
    for name in app_services:
        service = compose["services"][name]
        unknown = set(service["environment"]) - settings_names
        assert not unknown, (name, unknown)
        assert service["environment"]["DEBUG"] == "false"
    for name in ("web", "worker", "photo-worker", "beat"):
        depends = compose["services"][name]["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully"


def test_dockerfile_keeps_build_secrets_out_of_the_image() -> None:
    dockerfile = (ROOT / "docker" / "Dockerfile").read_text()
    runtime = dockerfile.split("AS runtime", 1)[1]
    env_lines = re.findall(r"^ENV (.+?)(?<!\\)$", runtime, flags=re.MULTILINE | re.DOTALL)
    env_text = " ".join(env_lines)
    assert "DEBUG=false" in env_text
    assert "PYTHONUNBUFFERED=1" in env_text
    for secret in ("SECRET_KEY", "HOLIDESK_ENCRYPTION_KEY", "STRIPE_"):
        assert secret not in env_text
    user = re.findall(r"^USER (\S+)", runtime, flags=re.MULTILINE)
    assert user
    assert not user[-1].startswith(("root", "0"))
    assert "HEALTHCHECK" in runtime
    assert "/healthz" in runtime


def _gunicorn_settings(**env: str) -> dict[str, Any]:
    import runpy

    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("FORWARDED_ALLOW_IPS", raising=False)
        for name, value in env.items():
            patch.setenv(name, value)
        return runpy.run_path(str(ROOT / "docker" / "gunicorn.conf.py"))


def test_gunicorn_trusts_forwarded_headers_only_from_the_load_balancer() -> None:
    assert _gunicorn_settings()["forwarded_allow_ips"] == "127.0.0.1,::1"
    configured = _gunicorn_settings(FORWARDED_ALLOW_IPS="10.0.0.0/16")
    assert configured["forwarded_allow_ips"] == "10.0.0.0/16"
    readme = (ROOT / "README.md").read_text()
    assert "| `FORWARDED_ALLOW_IPS` |" in readme


# --- Metrics and alarms (terraform/monitoring.tf) ------------------------------------------

APP_NAMESPACE = "${local.app_metrics_namespace}"


def _app_metric_reads(node: Any, found: list[tuple[str, frozenset[str]]]) -> None:
    """Every (metric name, dimension names) read from the app's namespace, anywhere."""
    if isinstance(node, dict):
        if node.get("namespace") == APP_NAMESPACE:
            found.append((node["metric_name"], _dimension_names(node.get("dimensions"))))
        for value in node.values():
            _app_metric_reads(value, found)
    elif isinstance(node, list):
        for value in node:
            _app_metric_reads(value, found)


def _dimension_names(dimensions: Any) -> frozenset[str]:
    if isinstance(dimensions, dict):
        return frozenset(dimensions)
    if isinstance(dimensions, list):  # dimensions { name = ..., value = ... } blocks
        return frozenset(block["name"] for block in dimensions)
    assert isinstance(dimensions, str), dimensions
    # local.app_dimensions, or merge(local.app_dimensions, { label = ... })
    assert "local.app_dimensions" in dimensions, dimensions
    extra = re.findall(r"\{\s*(\w+)\s*=", dimensions)
    return frozenset({"Environment", *extra})


def _app_labels() -> dict[str, frozenset[str]]:
    """Every sample name /metrics reports, with its labels."""
    from config import metrics

    labels = {gauge.name: frozenset(gauge.labels) for gauge in metrics.GAUGES}
    for name in metrics.sample_names() - set(labels):
        labels[name] = frozenset({"group"} if name.startswith("holidesk_http_") else ())
    return labels


def test_every_app_metric_an_alarm_or_policy_reads_is_one_the_app_reports(
    terraform: dict[str, list[Any]],
) -> None:
    reads: list[tuple[str, frozenset[str]]] = []
    for kind in ("aws_cloudwatch_metric_alarm", "aws_appautoscaling_policy"):
        _app_metric_reads(_resources(terraform, kind), reads)
    read_names = {name for name, _ in reads}
    assert {
        "holidesk_push_dead_letters",
        "holidesk_outbox_dispatch_lag_seconds",
        "holidesk_scheduled_messages_waiting",
        "holidesk_payments_failed_last_hour",
        "holidesk_celery_queue_length",
    } <= read_names
    app = _app_labels()
    declared = _locals(terraform)["app_metrics"]
    for name, dimensions in reads:
        assert name in app, f"{name} is read by an alarm but the app reports no such metric"
        assert name in declared, f"{name} is not sent to CloudWatch (local.app_metrics)"
        assert dimensions == {"Environment", *app[name]}, (name, dimensions)
    # The agent's scrape labels every sample with the Environment dimension.
    assert _locals(terraform)["app_dimensions"] == {"Environment": "${var.environment}"}


def test_metrics_sent_to_cloudwatch_are_reported_with_those_labels(
    terraform: dict[str, list[Any]],
) -> None:
    app = _app_labels()
    for name, labels in _locals(terraform)["app_metrics"].items():
        assert name in app, f"local.app_metrics names {name}, which the app does not report"
        assert frozenset(labels) == app[name], name
    # Alarms per channel platform cover every platform the app labels.
    from integrations.models import Platform

    assert set(_locals(terraform)["channel_platforms"]) == set(Platform.values)


def test_every_alarm_notifies_the_alarm_topic(terraform: dict[str, list[Any]]) -> None:
    alarms = _resources(terraform, "aws_cloudwatch_metric_alarm")
    assert len(alarms) >= 12
    for name, alarm in alarms.items():
        assert alarm["alarm_actions"] == "${local.alarm_actions}", name
        assert "docs/runbook.md#" in alarm["alarm_description"], name
    topic = _resources(terraform, "aws_sns_topic")["alarms"]
    assert topic["kms_master_key_id"] == "${aws_kms_key.main.arn}"
    subscription = _resources(terraform, "aws_sns_topic_subscription")["alarm_email"]
    assert subscription["protocol"] == "email"
    assert subscription["endpoint"] == "${var.alarm_email}"


def test_web_tasks_run_the_metrics_agent_with_the_token(terraform: dict[str, list[Any]]) -> None:
    definition = _resources(terraform, "aws_ecs_task_definition")["app"]["container_definitions"]
    assert "[local.metrics_agent_container] : []" in definition
    assert 'each.key == "web"' in definition
    web_env = _locals(terraform)["containers"]["web"]["env"]
    assert "PROMETHEUS_MULTIPROC_DIR" in web_env
    scrape = _resources(terraform, "aws_secretsmanager_secret_version")["metrics_scrape_config"]
    assert "random_password.metrics_token.result" in scrape["secret_string"]
    assert "localhost:8000" in scrape["secret_string"]
    token = _resources(terraform, "aws_secretsmanager_secret_version")["metrics_token"]
    assert token["secret_string"] == "${random_password.metrics_token.result}"


def test_workers_scale_on_the_queue_backlog(terraform: dict[str, list[Any]]) -> None:
    policy = _resources(terraform, "aws_appautoscaling_policy")["worker_queue"]
    assert policy["policy_type"] == "TargetTrackingScaling"
    assert "worker" in policy["resource_id"]
    config = policy["target_tracking_scaling_policy_configuration"][0]
    metrics = config["customized_metric_specification"][0]["metrics"]
    [returned] = [metric for metric in metrics if metric.get("return_data") is True]
    assert returned["expression"] == "depth / tasks"


def test_every_alarm_has_a_runbook_entry(terraform: dict[str, list[Any]]) -> None:
    runbook = (ROOT / "docs" / "runbook.md").read_text()
    headings = set(re.findall(r"^### (\S+)$", runbook, flags=re.MULTILINE))
    for name, alarm in _resources(terraform, "aws_cloudwatch_metric_alarm").items():
        anchor = re.search(r"docs/runbook\.md#([\w-]+)", alarm["alarm_description"])
        assert anchor, name
        assert anchor.group(1) in headings, f"{name}: no '### {anchor.group(1)}' in the runbook"


def test_the_runbook_rotates_every_secret(terraform: dict[str, list[Any]]) -> None:
    runbook = (ROOT / "docs" / "runbook.md").read_text()
    secrets = set(re.findall(r'"([A-Z][A-Z0-9_]+)"', _locals(terraform)["secret_names"]))
    for secret in secrets:
        assert f"| `{secret}`" in runbook, f"docs/runbook.md does not say how to rotate {secret}"
