# One Secrets Manager secret per secret setting, named after the environment variable
# it becomes in the tasks (ECS injects them at start; see locals.secret_env in ecs.tf).
#
# - DATABASE_URL, REDIS_URL: written here from the generated passwords.
# - SECRET_KEY, HOLIDESK_ENCRYPTION_KEY: generated once here; later rotations are made
#   with `aws secretsmanager put-secret-value` and kept (ignore_changes).
# - STRIPE_SECRET_KEY, STRIPE_WEBHOOK_SECRET, STRIPE_PLATFORM_WEBHOOK_SECRET: put by the
#   operator before the first deploy (docs/deployment.md, docs/payments.md); Terraform
#   never sees them.
# - METRICS_TOKEN: generated here; the metrics agent's scrape configuration
#   (monitoring.tf) carries the same value. Rotate with -replace (docs/runbook.md).

locals {
  secret_names = toset([
    "SECRET_KEY",
    "DATABASE_URL",
    "REDIS_URL",
    "HOLIDESK_ENCRYPTION_KEY",
    "STRIPE_SECRET_KEY",
    "STRIPE_WEBHOOK_SECRET",
    "STRIPE_PLATFORM_WEBHOOK_SECRET",
    "METRICS_TOKEN",
  ])
}

resource "aws_secretsmanager_secret" "app" {
  #checkov:skip=CKV2_AWS_57:Application secrets are rotated by the documented procedure (docs/deployment.md); SECRET_KEY and the Fernet key need a staged, app-aware rotation that a Lambda rotator cannot do.
  for_each                = local.secret_names
  name                    = "${local.name}/${each.value}"
  description             = "Holidesk ${each.value} (${var.environment})"
  kms_key_id              = aws_kms_key.main.arn
  recovery_window_in_days = 7
}

resource "aws_secretsmanager_secret_version" "database_url" {
  secret_id     = aws_secretsmanager_secret.app["DATABASE_URL"].id
  secret_string = "postgres://${aws_db_instance.main.username}:${random_password.db.result}@${aws_db_instance.main.address}:${aws_db_instance.main.port}/${aws_db_instance.main.db_name}?sslmode=require"
}

resource "aws_secretsmanager_secret_version" "redis_url" {
  secret_id     = aws_secretsmanager_secret.app["REDIS_URL"].id
  secret_string = "rediss://:${random_password.redis.result}@${aws_elasticache_replication_group.main.primary_endpoint_address}:6379/0?ssl_cert_reqs=required"
}

resource "random_password" "secret_key" {
  length           = 64
  special          = true
  override_special = "!#%*+-=^_~"
}

resource "aws_secretsmanager_secret_version" "secret_key" {
  secret_id     = aws_secretsmanager_secret.app["SECRET_KEY"].id
  secret_string = random_password.secret_key.result

  lifecycle {
    ignore_changes = [secret_string]
  }
}

# A Fernet key: 32 random bytes, URL-safe base64.
resource "random_bytes" "encryption_key" {
  length = 32
}

resource "aws_secretsmanager_secret_version" "encryption_key" {
  secret_id     = aws_secretsmanager_secret.app["HOLIDESK_ENCRYPTION_KEY"].id
  secret_string = replace(replace(random_bytes.encryption_key.base64, "+", "-"), "/", "_")

  lifecycle {
    ignore_changes = [secret_string]
  }
}

resource "random_password" "metrics_token" {
  length  = 48
  special = false
}

resource "aws_secretsmanager_secret_version" "metrics_token" {
  secret_id     = aws_secretsmanager_secret.app["METRICS_TOKEN"].id
  secret_string = random_password.metrics_token.result
}
