variable "aws_region" {
  description = "Region of everything but the CloudFront certificate (us-east-1)."
  type        = string
  default     = "eu-west-1"
}

variable "name" {
  description = "Prefix of every resource name."
  type        = string
  default     = "holidesk"
}

variable "environment" {
  description = "Environment name (prod, staging); part of every resource name."
  type        = string
  default     = "prod"
}

variable "base_domain" {
  description = "Business sites live on <slug>.<base_domain> (HOLIDESK_BASE_DOMAIN), e.g. holidesk.app."
  type        = string
}

variable "route53_zone_name" {
  description = "Existing public Route 53 hosted zone holding base_domain (defaults to base_domain)."
  type        = string
  default     = null
}

variable "app_host" {
  description = "Host of the owners' app, admin, API and webhooks (HOLIDESK_APP_HOST); defaults to the base domain itself. Must be the apex or under *.<base_domain>, and not a business slug."
  type        = string
  default     = null
}

variable "media_subdomain" {
  description = "CloudFront host serving uploaded media: <media_subdomain>.<base_domain> (AWS_S3_CUSTOM_DOMAIN). A reserved slug."
  type        = string
  default     = "media"
}

variable "default_from_email" {
  description = "DEFAULT_FROM_EMAIL; defaults to Holidesk <no-reply@base_domain> (an SES-verified domain)."
  type        = string
  default     = null
}

variable "image_tag" {
  description = "Tag of the image in the ECR repository to run (immutable tags: use the git sha)."
  type        = string
}

variable "availability_zones" {
  description = "The two availability zones to use (defaults to <region>a and <region>b)."
  type        = list(string)
  default     = []
}

variable "vpc_cidr" {
  description = "CIDR of the VPC; split into two public and two private subnets."
  type        = string
  default     = "10.40.0.0/16"
}

variable "single_nat_gateway" {
  description = "One NAT gateway instead of one per AZ (cheaper, loses egress if that AZ fails)."
  type        = bool
  default     = false
}

variable "web_cpu" {
  description = "Fargate CPU units of a web task."
  type        = number
  default     = 1024
}

variable "web_memory" {
  description = "Fargate memory (MiB) of a web task."
  type        = number
  default     = 2048
}

variable "web_concurrency" {
  description = "gunicorn worker processes per web task."
  type        = number
  default     = 3
}

variable "web_min_count" {
  description = "Fewest web tasks (also the initial count)."
  type        = number
  default     = 2
}

variable "web_max_count" {
  description = "Most web tasks the CPU autoscaler may run."
  type        = number
  default     = 8
}

variable "worker_cpu" {
  description = "Fargate CPU units of a worker task."
  type        = number
  default     = 1024
}

variable "worker_memory" {
  description = "Fargate memory (MiB) of a worker task."
  type        = number
  default     = 2048
}

variable "worker_concurrency" {
  description = "Celery worker processes per worker task."
  type        = number
  default     = 4
}

variable "worker_min_count" {
  description = "Fewest worker tasks (also the initial count)."
  type        = number
  default     = 2
}

variable "worker_max_count" {
  description = "Most worker tasks the CPU autoscaler may run."
  type        = number
  default     = 6
}

variable "images_cpu" {
  description = "Fargate CPU units of a photo worker task."
  type        = number
  default     = 2048
}

variable "images_memory" {
  description = "Fargate memory (MiB) of a photo worker task: about 250 MiB per process for the largest accepted photo."
  type        = number
  default     = 4096
}

variable "images_count" {
  description = "Photo worker tasks (fixed; not autoscaled)."
  type        = number
  default     = 1
}

variable "photo_processing_concurrency" {
  description = "Photos one photo worker task processes at once (PHOTO_PROCESSING_CONCURRENCY)."
  type        = number
  default     = 10
}

variable "beat_cpu" {
  description = "Fargate CPU units of the beat task (always exactly one)."
  type        = number
  default     = 256
}

variable "beat_memory" {
  description = "Fargate memory (MiB) of the beat task."
  type        = number
  default     = 512
}

variable "db_instance_class" {
  description = "RDS instance class."
  type        = string
  default     = "db.t4g.medium"
}

variable "db_allocated_storage" {
  description = "Initial RDS storage (GiB)."
  type        = number
  default     = 50
}

variable "db_max_allocated_storage" {
  description = "RDS storage autoscaling ceiling (GiB)."
  type        = number
  default     = 500
}

variable "db_backup_retention_days" {
  description = "Days of RDS automated backups (point-in-time recovery window)."
  type        = number
  default     = 14
}

variable "redis_node_type" {
  description = "ElastiCache node type (two nodes, automatic failover)."
  type        = string
  default     = "cache.t4g.small"
}

variable "log_retention_days" {
  description = "CloudWatch Logs retention of every log group."
  type        = number
  default     = 365
}

variable "email_rate_per_second" {
  description = "EMAIL_RATE_PER_SECOND: global send rate, at most the SES account's sending rate."
  type        = number
  default     = 10
}

variable "waf_rate_limit" {
  description = "Requests per 5 minutes from one IP before the WAF blocks it."
  type        = number
  default     = 5000
}

variable "custom_domain_certificate_arns" {
  description = "Issued ACM certificates (this region) for businesses' custom domains, added to the HTTPS listener."
  type        = list(string)
  default     = []
}

variable "log_level" {
  description = "LOG_LEVEL of every task."
  type        = string
  default     = "INFO"
}

# --- Metrics, alarms and queue scaling (monitoring.tf) ------------------------------------

variable "alarm_email" {
  description = "Address subscribed to the alarm topic (confirm the email AWS sends); null: no subscription."
  type        = string
  default     = null
}

variable "metrics_agent_image" {
  description = "CloudWatch agent image beside each web container (scrapes /metrics). Pin a version."
  type        = string
  default     = "public.ecr.aws/cloudwatch-agent/cloudwatch-agent:1.300064.1b1344"
}

variable "celery_queues" {
  description = "Celery queues watched by the queue-depth alarm (the app reports every queue it routes to)."
  type        = list(string)
  default     = ["celery"]
}

variable "worker_scaling_queue" {
  description = "Celery queue whose backlog scales the worker service."
  type        = string
  default     = "celery"
}

variable "worker_backlog_per_task" {
  description = "Tasks waiting per worker task that the queue-depth scaling policy aims for."
  type        = number
  default     = 2000
}

variable "alarm_5xx_percent" {
  description = "Share of web answers that are 5xx (%, per minute, 3 of 5 minutes) that raises an alarm."
  type        = number
  default     = 2
}

variable "alarm_p95_latency_seconds" {
  description = "95th percentile web response time (s, per minute, 3 of 5 minutes) that raises an alarm."
  type        = number
  default     = 1.5
}

variable "alarm_dispatch_lag_seconds" {
  description = "Age of the oldest due message (s, p99 over 5 minutes, twice) that raises an alarm."
  type        = number
  default     = 60
}

variable "alarm_scheduled_messages" {
  description = "Scheduled messages waiting that raise an alarm (the design expects about 300,000)."
  type        = number
  default     = 750000
}

variable "alarm_failed_payments_per_hour" {
  description = "Payments declined in the last hour that raise an alarm (some declines are normal)."
  type        = number
  default     = 10
}

variable "alarm_queue_depth" {
  description = "Tasks waiting in one Celery queue for 15 minutes that raise an alarm."
  type        = number
  default     = 20000
}

variable "alarm_db_cpu_percent" {
  description = "RDS CPU (%, 15 minutes) that raises an alarm."
  type        = number
  default     = 80
}

variable "alarm_db_free_storage_gib" {
  description = "RDS free storage (GiB) below which an alarm is raised (storage autoscaling should act first)."
  type        = number
  default     = 10
}

variable "alarm_db_connections" {
  description = "Database connections that raise an alarm (db.t4g.medium allows about 400; see docs/deployment.md)."
  type        = number
  default     = 300
}

variable "alarm_redis_memory_percent" {
  description = "Memory use of a Redis node (%) that raises an alarm."
  type        = number
  default     = 80
}

variable "billing_plans" {
  description = "BILLING_PLANS: Holidesk's plans, as in docs/payments.md (key, name, Stripe price id, amount, currency, interval). Empty: no plans are offered."
  type        = list(any)
  default     = []
}

variable "billing_trial_days" {
  description = "BILLING_TRIAL_DAYS: trial of a business's first subscription."
  type        = number
  default     = 14
}

variable "billing_grace_days" {
  description = "BILLING_GRACE_DAYS: days a business keeps taking bookings after a failed or ended subscription."
  type        = number
  default     = 7
}

variable "stripe_connect_account_type" {
  description = "STRIPE_CONNECT_ACCOUNT_TYPE: the connected accounts owners create from the dashboard (standard or express)."
  type        = string
  default     = "standard"

  validation {
    condition     = contains(["standard", "express"], var.stripe_connect_account_type)
    error_message = "stripe_connect_account_type is standard or express."
  }
}
