# Metrics and alarms. Each alarm has an entry in docs/runbook.md.
#
# The app's own metrics reach CloudWatch through the CloudWatch agent running beside
# each web container: it scrapes http://localhost:8000/metrics (Prometheus text, behind
# METRICS_TOKEN) every minute and writes the metrics listed in local.app_metrics as
# CloudWatch embedded metric format (EMF) to the metrics log group, which turns them
# into metrics in local.app_metrics_namespace. The gauges are global (computed from
# PostgreSQL and Redis), so every web task reports the same value: alarms read their
# Maximum. Load balancer, RDS and ElastiCache metrics come from AWS itself.
#
# tests/test_infra.py checks that every app metric an alarm or a scaling policy reads
# is one the app reports, with the labels it reports.

locals {
  app_metrics_namespace = "Holidesk"
  # App metric -> its labels (CloudWatch dimensions besides Environment).
  app_metrics = {
    holidesk_outbox_due_messages         = []
    holidesk_outbox_dispatch_lag_seconds = []
    holidesk_scheduled_messages_waiting  = []
    holidesk_email_send_rate_per_second  = []
    holidesk_email_failures_last_hour    = []
    holidesk_pushes_waiting              = ["platform"]
    holidesk_push_dead_letters           = ["platform"]
    holidesk_ical_feeds_failing          = ["platform"]
    holidesk_payments_failed_last_hour   = []
    holidesk_refunds_refused_last_day    = []
    holidesk_holds_active                = []
    holidesk_celery_queue_length         = ["queue"]
    holidesk_http_server_errors_total    = ["group"]
    holidesk_metrics_state_ok            = []
  }
  channel_platforms = ["airbnb", "booking", "vrbo", "other"]

  metrics_agent_config = jsonencode({
    agent = { debug = false }
    logs = {
      force_flush_interval = 5
      metrics_collected = {
        prometheus = {
          prometheus_config_path = "env:PROMETHEUS_CONFIG_CONTENT"
          log_group_name         = aws_cloudwatch_log_group.metrics.name
          emf_processor = {
            metric_declaration_dedup = true
            metric_namespace         = local.app_metrics_namespace
            metric_declaration = [
              for name, labels in local.app_metrics : {
                source_labels    = ["job"]
                label_matcher    = "^holidesk$"
                dimensions       = [concat(["Environment"], labels)]
                metric_selectors = ["^${name}$"]
              }
            ]
          }
        }
      }
    }
  })

  metrics_agent_container = {
    name                   = "metrics-agent"
    image                  = var.metrics_agent_image
    essential              = false
    readonlyRootFilesystem = false
    privileged             = false
    memoryReservation      = 64
    environment            = [{ name = "CW_CONFIG_CONTENT", value = local.metrics_agent_config }]
    secrets = [{
      name      = "PROMETHEUS_CONFIG_CONTENT"
      valueFrom = aws_secretsmanager_secret.metrics_scrape_config.arn
    }]
    dependsOn = [{ containerName = "web", condition = "START" }]
    logConfiguration = {
      logDriver = "awslogs"
      options = {
        awslogs-group         = aws_cloudwatch_log_group.app["metrics-agent"].name
        awslogs-region        = var.aws_region
        awslogs-stream-prefix = "metrics-agent"
      }
    }
  }

  app_dimensions = { Environment = var.environment }
  alarm_actions  = [aws_sns_topic.alarms.arn]
  redis_nodes    = [for i in range(1, 3) : format("%s-%03d", aws_elasticache_replication_group.main.replication_group_id, i)]
}

resource "aws_cloudwatch_log_group" "metrics" {
  name              = "/${var.name}/${var.environment}/metrics"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.main.arn
}

# The agent's scrape configuration holds the bearer token, so it is a secret too.
resource "aws_secretsmanager_secret" "metrics_scrape_config" {
  #checkov:skip=CKV2_AWS_57:Derived from METRICS_TOKEN; rotated with it (docs/runbook.md).
  name                    = "${local.name}/metrics-agent/PROMETHEUS_CONFIG_CONTENT"
  description             = "Prometheus scrape configuration of the metrics agent (${var.environment})"
  kms_key_id              = aws_kms_key.main.arn
  recovery_window_in_days = 7
}

resource "aws_secretsmanager_secret_version" "metrics_scrape_config" {
  secret_id = aws_secretsmanager_secret.metrics_scrape_config.id
  secret_string = yamlencode({
    global = { scrape_interval = "60s", scrape_timeout = "10s" }
    scrape_configs = [{
      job_name     = "holidesk"
      metrics_path = "/metrics"
      bearer_token = random_password.metrics_token.result
      static_configs = [{
        targets = ["localhost:8000"]
        labels  = local.app_dimensions
      }]
    }]
  })
}

# --- Where alarms go -------------------------------------------------------------------

resource "aws_sns_topic" "alarms" {
  name              = "${local.name}-alarms"
  kms_master_key_id = aws_kms_key.main.arn
}

resource "aws_sns_topic_subscription" "alarm_email" {
  count     = var.alarm_email == null ? 0 : 1
  topic_arn = aws_sns_topic.alarms.arn
  protocol  = "email"
  endpoint  = var.alarm_email
}

# --- The load balancer (web) -----------------------------------------------------------

resource "aws_cloudwatch_metric_alarm" "web_5xx_rate" {
  alarm_name          = "${local.name}-web-5xx-rate"
  alarm_description   = "More than ${var.alarm_5xx_percent}% of requests answered 5xx by the web tasks. Runbook: docs/runbook.md#web-5xx-rate"
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.alarm_5xx_percent
  evaluation_periods  = 5
  datapoints_to_alarm = 3
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions

  metric_query {
    id          = "rate"
    expression  = "IF(requests >= 20, 100 * errors / requests, 0)"
    label       = "5xx answers (%)"
    return_data = true
  }
  metric_query {
    id = "errors"
    metric {
      namespace   = "AWS/ApplicationELB"
      metric_name = "HTTPCode_Target_5XX_Count"
      period      = 60
      stat        = "Sum"
      dimensions = {
        LoadBalancer = aws_lb.main.arn_suffix
        TargetGroup  = aws_lb_target_group.web.arn_suffix
      }
    }
  }
  metric_query {
    id = "requests"
    metric {
      namespace   = "AWS/ApplicationELB"
      metric_name = "RequestCount"
      period      = 60
      stat        = "Sum"
      dimensions = {
        LoadBalancer = aws_lb.main.arn_suffix
        TargetGroup  = aws_lb_target_group.web.arn_suffix
      }
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "web_p95_latency" {
  alarm_name          = "${local.name}-web-p95-latency"
  alarm_description   = "95th percentile response time of the web tasks above ${var.alarm_p95_latency_seconds} s. Runbook: docs/runbook.md#web-p95-latency"
  namespace           = "AWS/ApplicationELB"
  metric_name         = "TargetResponseTime"
  extended_statistic  = "p95"
  period              = 60
  evaluation_periods  = 5
  datapoints_to_alarm = 3
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.alarm_p95_latency_seconds
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
  dimensions = {
    LoadBalancer = aws_lb.main.arn_suffix
    TargetGroup  = aws_lb_target_group.web.arn_suffix
  }
}

# --- The app's queues and money ----------------------------------------------------------

resource "aws_cloudwatch_metric_alarm" "push_dead_letters" {
  for_each            = toset(local.channel_platforms)
  alarm_name          = "${local.name}-push-dead-letters-${each.value}"
  alarm_description   = "Partner pushes to ${each.value} gave up after every retry. Runbook: docs/runbook.md#push-dead-letters"
  namespace           = local.app_metrics_namespace
  metric_name         = "holidesk_push_dead_letters"
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
  dimensions          = merge(local.app_dimensions, { platform = each.value })
}

resource "aws_cloudwatch_metric_alarm" "dispatch_lag" {
  alarm_name          = "${local.name}-dispatch-lag"
  alarm_description   = "The oldest due message has waited more than ${var.alarm_dispatch_lag_seconds} s (p99 over 5 minutes). Runbook: docs/runbook.md#dispatch-lag"
  namespace           = local.app_metrics_namespace
  metric_name         = "holidesk_outbox_dispatch_lag_seconds"
  extended_statistic  = "p99"
  period              = 300
  evaluation_periods  = 2
  datapoints_to_alarm = 2
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.alarm_dispatch_lag_seconds
  treat_missing_data  = "breaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
  dimensions          = local.app_dimensions
}

resource "aws_cloudwatch_metric_alarm" "scheduled_messages" {
  alarm_name          = "${local.name}-scheduled-messages"
  alarm_description   = "More than ${var.alarm_scheduled_messages} scheduled messages waiting (designed for about 300,000). Runbook: docs/runbook.md#scheduled-messages"
  namespace           = local.app_metrics_namespace
  metric_name         = "holidesk_scheduled_messages_waiting"
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.alarm_scheduled_messages
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
  dimensions          = local.app_dimensions
}

resource "aws_cloudwatch_metric_alarm" "failed_payments" {
  alarm_name          = "${local.name}-failed-payments"
  alarm_description   = "More than ${var.alarm_failed_payments_per_hour} payments declined in the last hour. Runbook: docs/runbook.md#failed-payments"
  namespace           = local.app_metrics_namespace
  metric_name         = "holidesk_payments_failed_last_hour"
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.alarm_failed_payments_per_hour
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
  dimensions          = local.app_dimensions
}

resource "aws_cloudwatch_metric_alarm" "refunds_refused" {
  alarm_name          = "${local.name}-refunds-refused"
  alarm_description   = "The payment gateway refused a refund in the last 24 hours. Runbook: docs/runbook.md#refunds-refused"
  namespace           = local.app_metrics_namespace
  metric_name         = "holidesk_refunds_refused_last_day"
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
  dimensions          = local.app_dimensions
}

resource "aws_cloudwatch_metric_alarm" "queue_depth" {
  for_each            = toset(var.celery_queues)
  alarm_name          = "${local.name}-queue-depth-${each.value}"
  alarm_description   = "More than ${var.alarm_queue_depth} tasks waiting in Celery queue ${each.value} for 15 minutes. Runbook: docs/runbook.md#queue-depth"
  namespace           = local.app_metrics_namespace
  metric_name         = "holidesk_celery_queue_length"
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 3
  datapoints_to_alarm = 3
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.alarm_queue_depth
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
  dimensions          = merge(local.app_dimensions, { queue = each.value })
}

# --- RDS and ElastiCache ---------------------------------------------------------------

resource "aws_cloudwatch_metric_alarm" "db_cpu" {
  alarm_name          = "${local.name}-db-cpu"
  alarm_description   = "RDS CPU above ${var.alarm_db_cpu_percent}% for 15 minutes. Runbook: docs/runbook.md#database-cpu"
  namespace           = "AWS/RDS"
  metric_name         = "CPUUtilization"
  statistic           = "Average"
  period              = 300
  evaluation_periods  = 3
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.alarm_db_cpu_percent
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
  dimensions          = { DBInstanceIdentifier = aws_db_instance.main.identifier }
}

resource "aws_cloudwatch_metric_alarm" "db_free_storage" {
  alarm_name          = "${local.name}-db-free-storage"
  alarm_description   = "RDS free storage below ${var.alarm_db_free_storage_gib} GiB. Runbook: docs/runbook.md#database-free-storage"
  namespace           = "AWS/RDS"
  metric_name         = "FreeStorageSpace"
  statistic           = "Minimum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "LessThanThreshold"
  threshold           = var.alarm_db_free_storage_gib * 1024 * 1024 * 1024
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
  dimensions          = { DBInstanceIdentifier = aws_db_instance.main.identifier }
}

resource "aws_cloudwatch_metric_alarm" "db_connections" {
  alarm_name          = "${local.name}-db-connections"
  alarm_description   = "More than ${var.alarm_db_connections} database connections. Runbook: docs/runbook.md#database-connections"
  namespace           = "AWS/RDS"
  metric_name         = "DatabaseConnections"
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 2
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.alarm_db_connections
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
  dimensions          = { DBInstanceIdentifier = aws_db_instance.main.identifier }
}

resource "aws_cloudwatch_metric_alarm" "redis_memory" {
  for_each            = toset(local.redis_nodes)
  alarm_name          = "${local.name}-redis-memory-${each.value}"
  alarm_description   = "Redis node ${each.value} uses more than ${var.alarm_redis_memory_percent}% of its memory. Runbook: docs/runbook.md#redis-memory"
  namespace           = "AWS/ElastiCache"
  metric_name         = "DatabaseMemoryUsagePercentage"
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 2
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.alarm_redis_memory_percent
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
  dimensions          = { CacheClusterId = each.value }
}

# --- Worker scaling on the backlog --------------------------------------------------------
# Tasks waiting per worker task, held near var.worker_backlog_per_task; with the CPU
# policy in ecs.tf, the service scales out when either asks and in when both agree.

resource "aws_appautoscaling_policy" "worker_queue" {
  name               = "${local.name}-worker-queue"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.app["worker"].service_namespace
  resource_id        = aws_appautoscaling_target.app["worker"].resource_id
  scalable_dimension = aws_appautoscaling_target.app["worker"].scalable_dimension

  target_tracking_scaling_policy_configuration {
    target_value       = var.worker_backlog_per_task
    scale_in_cooldown  = 300
    scale_out_cooldown = 60

    customized_metric_specification {
      metrics {
        id          = "depth"
        return_data = false
        metric_stat {
          stat = "Maximum"
          metric {
            namespace   = local.app_metrics_namespace
            metric_name = "holidesk_celery_queue_length"
            dimensions {
              name  = "Environment"
              value = var.environment
            }
            dimensions {
              name  = "queue"
              value = var.worker_scaling_queue
            }
          }
        }
      }
      metrics {
        id          = "tasks"
        return_data = false
        metric_stat {
          stat = "Average"
          metric {
            namespace   = "ECS/ContainerInsights"
            metric_name = "RunningTaskCount"
            dimensions {
              name  = "ClusterName"
              value = aws_ecs_cluster.main.name
            }
            dimensions {
              name  = "ServiceName"
              value = aws_ecs_service.worker.name
            }
          }
        }
      }
      metrics {
        id          = "backlog"
        expression  = "depth / tasks"
        label       = "Celery tasks waiting per worker task"
        return_data = true
      }
    }
  }
}
