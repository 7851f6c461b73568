output "alb_dns_name" {
  description = "DNS name of the load balancer (custom domains CNAME to it)."
  value       = aws_lb.main.dns_name
}

output "app_url" {
  description = "The owners' app, admin and API."
  value       = "https://${local.app_host}/"
}

output "ecr_repository_url" {
  description = "Push images here, tagged with the git sha, then apply with image_tag."
  value       = aws_ecr_repository.app.repository_url
}

output "cluster_name" {
  description = "ECS cluster."
  value       = aws_ecs_cluster.main.name
}

output "migrate_task_definition" {
  description = "Task definition of the one-off migration task (aws ecs run-task)."
  value       = aws_ecs_task_definition.app["migrate"].arn
}

output "private_subnet_ids" {
  description = "Subnets for one-off tasks."
  value       = aws_subnet.private[*].id
}

output "jobs_security_group_id" {
  description = "Security group for one-off tasks (migrations)."
  value       = aws_security_group.jobs.id
}

output "run_migrations_command" {
  description = "Runs `manage.py migrate` once, with the current image and settings."
  value = join(" ", [
    "aws ecs run-task --region ${var.aws_region}",
    "--cluster ${aws_ecs_cluster.main.name}",
    "--task-definition ${aws_ecs_task_definition.app["migrate"].family}",
    "--launch-type FARGATE",
    "--network-configuration 'awsvpcConfiguration={subnets=[${join(",", aws_subnet.private[*].id)}],securityGroups=[${aws_security_group.jobs.id}],assignPublicIp=DISABLED}'",
  ])
}

output "secret_arns" {
  description = "Secrets Manager secret of each secret setting (put the Stripe ones by hand)."
  value       = { for name, secret in aws_secretsmanager_secret.app : name => secret.arn }
}

output "media_bucket" {
  description = "AWS_STORAGE_BUCKET_NAME."
  value       = aws_s3_bucket.media.id
}

output "media_domain" {
  description = "AWS_S3_CUSTOM_DOMAIN (CloudFront)."
  value       = local.media_host
}

output "database_endpoint" {
  description = "RDS endpoint (private)."
  value       = aws_db_instance.main.address
}

output "redis_endpoint" {
  description = "ElastiCache primary endpoint (private, TLS)."
  value       = aws_elasticache_replication_group.main.primary_endpoint_address
}

output "ses_domain_identity" {
  description = "SES identity (request production access for the account before launch)."
  value       = aws_ses_domain_identity.main.domain
}
