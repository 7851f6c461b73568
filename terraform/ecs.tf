# ECS Fargate: one image, four services (web behind the ALB, Celery worker, the photo
# worker of the `images` queue, Celery beat as a singleton) and a one-off migration task
# definition.

resource "aws_ecs_cluster" "main" {
  name = local.name

  setting {
    name  = "containerInsights"
    value = "enabled"
  }
}

resource "aws_cloudwatch_log_group" "app" {
  for_each          = toset(["web", "worker", "images", "beat", "migrate", "metrics-agent"])
  name              = "/${var.name}/${var.environment}/${each.value}"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.main.arn
}

locals {
  # Plain settings; every name here is one config/settings.py reads (tests/test_infra.py).
  app_env = {
    DEBUG                 = "false"
    HOLIDESK_BASE_DOMAIN  = var.base_domain
    HOLIDESK_APP_HOST     = local.app_host
    HOLIDESK_URL_SCHEME   = "https"
    EMAIL_URL             = "ses://?region=${var.aws_region}"
    DEFAULT_FROM_EMAIL    = local.from_address
    EMAIL_RATE_PER_SECOND = tostring(var.email_rate_per_second)
    PAYMENTS_BACKEND      = "stripe"
    # Holidesk's own plans (docs/payments.md): price ids of the platform account.
    BILLING_PLANS               = jsonencode(var.billing_plans)
    BILLING_TRIAL_DAYS          = tostring(var.billing_trial_days)
    BILLING_GRACE_DAYS          = tostring(var.billing_grace_days)
    STRIPE_CONNECT_ACCOUNT_TYPE = var.stripe_connect_account_type
    STORAGE                     = "s3"
    AWS_STORAGE_BUCKET_NAME     = aws_s3_bucket.media.id
    AWS_S3_REGION_NAME          = var.aws_region
    AWS_S3_CUSTOM_DOMAIN        = local.media_host
    LOG_LEVEL                   = var.log_level
    # Behind the ALB: one proxy in front of every request (client IPs for sign-in
    # throttling), and gunicorn believes X-Forwarded-* only from the VPC's addresses.
    HOLIDESK_TRUSTED_PROXY_COUNT = "1"
    FORWARDED_ALLOW_IPS          = var.vpc_cidr
  }

  # Secrets, injected by ECS from Secrets Manager (secrets.tf).
  secret_env = [
    for name in sort(tolist(local.secret_names)) : {
      name      = name
      valueFrom = aws_secretsmanager_secret.app[name].arn
    }
  ]

  containers = {
    web = {
      command = ["gunicorn", "--config", "docker/gunicorn.conf.py", "--workers", tostring(var.web_concurrency), "config.wsgi:application"]
      env     = merge(local.app_env, { PORT = "8000", PROMETHEUS_MULTIPROC_DIR = "/tmp/prometheus" })
      ports   = [{ containerPort = 8000, protocol = "tcp" }]
      health = {
        command     = ["CMD", "python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]
        interval    = 30
        timeout     = 5
        retries     = 3
        startPeriod = 30
      }
      stop_timeout = 30
    }
    worker = {
      command      = ["celery", "-A", "config", "worker", "--loglevel=INFO", "--concurrency=${var.worker_concurrency}"]
      env          = local.app_env
      ports        = []
      health       = null
      stop_timeout = 120
    }
    # Photo processing only (the `images` queue): at most PHOTO_PROCESSING_CONCURRENCY
    # photos decoded at once per task, and the worker above never waits for them.
    images = {
      command      = ["python", "manage.py", "photo_worker"]
      env          = merge(local.app_env, { PHOTO_PROCESSING_CONCURRENCY = tostring(var.photo_processing_concurrency) })
      ports        = []
      health       = null
      stop_timeout = 120
    }
    beat = {
      command      = ["celery", "-A", "config", "beat", "--loglevel=INFO", "--schedule=/tmp/celerybeat-schedule"]
      env          = local.app_env
      ports        = []
      health       = null
      stop_timeout = 30
    }
    migrate = {
      command      = ["python", "manage.py", "migrate", "--noinput"]
      env          = local.app_env
      ports        = []
      health       = null
      stop_timeout = 30
    }
  }

  task_sizes = {
    web     = { cpu = var.web_cpu, memory = var.web_memory }
    worker  = { cpu = var.worker_cpu, memory = var.worker_memory }
    images  = { cpu = var.images_cpu, memory = var.images_memory }
    beat    = { cpu = var.beat_cpu, memory = var.beat_memory }
    migrate = { cpu = 512, memory = 1024 }
  }
}

resource "aws_ecs_task_definition" "app" {
  for_each                 = local.containers
  family                   = "${local.name}-${each.key}"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = local.task_sizes[each.key].cpu
  memory                   = local.task_sizes[each.key].memory
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = aws_iam_role.task.arn

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = "X86_64"
  }

  # The root filesystem is read-only; /tmp (beat schedule, gunicorn heartbeats,
  # temporary upload files) is a task-local volume.
  volume {
    name = "tmp"
  }

  # Web tasks also run the metrics agent (monitoring.tf), which scrapes /metrics.
  container_definitions = jsonencode(concat([
    merge(
      {
        name                   = each.key
        image                  = local.image
        essential              = true
        command                = each.value.command
        readonlyRootFilesystem = true
        privileged             = false
        user                   = "10001:10001"
        stopTimeout            = each.value.stop_timeout
        portMappings           = each.value.ports
        environment            = [for name in sort(keys(each.value.env)) : { name = name, value = each.value.env[name] }]
        secrets                = local.secret_env
        mountPoints            = [{ sourceVolume = "tmp", containerPath = "/tmp", readOnly = false }]
        logConfiguration = {
          logDriver = "awslogs"
          options = {
            awslogs-group         = aws_cloudwatch_log_group.app[each.key].name
            awslogs-region        = var.aws_region
            awslogs-stream-prefix = each.key
          }
        }
      },
      # Only the web container has a health check (merge of zero or one object).
      [for check in [each.value.health] : { healthCheck = check } if check != null]...
    )
  ], each.key == "web" ? [local.metrics_agent_container] : []))
}

# --- Services ----------------------------------------------------------------------------

resource "aws_ecs_service" "web" {
  name                               = "web"
  cluster                            = aws_ecs_cluster.main.id
  task_definition                    = aws_ecs_task_definition.app["web"].arn
  desired_count                      = var.web_min_count
  launch_type                        = "FARGATE"
  platform_version                   = "LATEST"
  health_check_grace_period_seconds  = 60
  deployment_minimum_healthy_percent = 100
  deployment_maximum_percent         = 200
  enable_ecs_managed_tags            = true
  propagate_tags                     = "SERVICE"

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  network_configuration {
    subnets          = aws_subnet.private[*].id
    security_groups  = [aws_security_group.web.id]
    assign_public_ip = false
  }

  load_balancer {
    target_group_arn = aws_lb_target_group.web.arn
    container_name   = "web"
    container_port   = 8000
  }

  lifecycle {
    ignore_changes = [desired_count] # owned by the autoscaler
  }

  depends_on = [aws_lb_listener.https]
}

resource "aws_ecs_service" "worker" {
  name                               = "worker"
  cluster                            = aws_ecs_cluster.main.id
  task_definition                    = aws_ecs_task_definition.app["worker"].arn
  desired_count                      = var.worker_min_count
  launch_type                        = "FARGATE"
  platform_version                   = "LATEST"
  deployment_minimum_healthy_percent = 100
  deployment_maximum_percent         = 200
  enable_ecs_managed_tags            = true
  propagate_tags                     = "SERVICE"

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  network_configuration {
    subnets          = aws_subnet.private[*].id
    security_groups  = [aws_security_group.jobs.id]
    assign_public_ip = false
  }

  lifecycle {
    ignore_changes = [desired_count] # owned by the autoscaler
  }
}

# A fixed number of photo workers (not autoscaled): their count times
# PHOTO_PROCESSING_CONCURRENCY is the most photos processed at once.
resource "aws_ecs_service" "images" {
  name                               = "images"
  cluster                            = aws_ecs_cluster.main.id
  task_definition                    = aws_ecs_task_definition.app["images"].arn
  desired_count                      = var.images_count
  launch_type                        = "FARGATE"
  platform_version                   = "LATEST"
  deployment_minimum_healthy_percent = 100
  deployment_maximum_percent         = 200
  enable_ecs_managed_tags            = true
  propagate_tags                     = "SERVICE"

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  network_configuration {
    subnets          = aws_subnet.private[*].id
    security_groups  = [aws_security_group.jobs.id]
    assign_public_ip = false
  }
}

# Celery beat must never run twice (every periodic task would fire twice): exactly one
# task, and a deployment stops the old task before starting the new one.
resource "aws_ecs_service" "beat" {
  name                               = "beat"
  cluster                            = aws_ecs_cluster.main.id
  task_definition                    = aws_ecs_task_definition.app["beat"].arn
  desired_count                      = 1
  launch_type                        = "FARGATE"
  platform_version                   = "LATEST"
  deployment_minimum_healthy_percent = 0
  deployment_maximum_percent         = 100
  enable_ecs_managed_tags            = true
  propagate_tags                     = "SERVICE"

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  network_configuration {
    subnets          = aws_subnet.private[*].id
    security_groups  = [aws_security_group.jobs.id]
    assign_public_ip = false
  }
}

# --- Autoscaling (web and worker only; never beat) -----------------------------------------

locals {
  autoscaled = {
    web    = { service = aws_ecs_service.web.name, min = var.web_min_count, max = var.web_max_count }
    worker = { service = aws_ecs_service.worker.name, min = var.worker_min_count, max = var.worker_max_count }
  }
}

resource "aws_appautoscaling_target" "app" {
  for_each           = local.autoscaled
  service_namespace  = "ecs"
  resource_id        = "service/${aws_ecs_cluster.main.name}/${each.value.service}"
  scalable_dimension = "ecs:service:DesiredCount"
  min_capacity       = each.value.min
  max_capacity       = each.value.max
}

resource "aws_appautoscaling_policy" "cpu" {
  for_each           = local.autoscaled
  name               = "${local.name}-${each.key}-cpu"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.app[each.key].service_namespace
  resource_id        = aws_appautoscaling_target.app[each.key].resource_id
  scalable_dimension = aws_appautoscaling_target.app[each.key].scalable_dimension

  target_tracking_scaling_policy_configuration {
    target_value       = 60
    scale_in_cooldown  = 300
    scale_out_cooldown = 60
    predefined_metric_specification {
      predefined_metric_type = "ECSServiceAverageCPUUtilization"
    }
  }
}
