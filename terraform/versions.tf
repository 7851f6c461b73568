# Holidesk on AWS: ECS Fargate (web, worker, beat), RDS PostgreSQL, ElastiCache Redis,
# S3 + CloudFront, SES, ALB with a wildcard certificate, Route 53. See docs/deployment.md.

terraform {
  required_version = ">= 1.6.0, < 2.0.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.90"
    }
    random = {
      source  = "hashicorp/random"
      version = "~> 3.6"
    }
  }

  # State holds generated passwords (database, Redis): keep it in an encrypted,
  # access-restricted bucket. Partial configuration, completed at init:
  #   terraform init -backend-config=bucket=... -backend-config=key=holidesk/prod.tfstate \
  #     -backend-config=region=eu-west-1 -backend-config=use_lockfile=true -backend-config=encrypt=true
  backend "s3" {}
}

provider "aws" {
  region = var.aws_region

  default_tags {
    tags = {
      Project     = "holidesk"
      Environment = var.environment
      ManagedBy   = "terraform"
    }
  }
}

# CloudFront only accepts certificates from us-east-1.
provider "aws" {
  alias  = "us_east_1"
  region = "us-east-1"

  default_tags {
    tags = {
      Project     = "holidesk"
      Environment = var.environment
      ManagedBy   = "terraform"
    }
  }
}

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

# The two AZs are named explicitly, so the subnets never move when AWS adds a zone.
data "aws_availability_zones" "available" {
  state = "available"
  filter {
    name   = "zone-name"
    values = coalescelist(var.availability_zones, ["${var.aws_region}a", "${var.aws_region}b"])
  }
}

locals {
  name       = "${var.name}-${var.environment}"
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  azs        = slice(data.aws_availability_zones.available.names, 0, 2)

  app_host     = coalesce(var.app_host, var.base_domain)
  media_host   = "${var.media_subdomain}.${var.base_domain}"
  zone_name    = coalesce(var.route53_zone_name, var.base_domain)
  image        = "${aws_ecr_repository.app.repository_url}:${var.image_tag}"
  from_address = coalesce(var.default_from_email, "Holidesk <no-reply@${var.base_domain}>")
}
