"""Holidesk settings, all from environment variables (see the README's table).

Development defaults are safe to run on a laptop; `DEBUG=false` turns on production
hardening and makes secrets mandatory.
"""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from urllib.parse import urlsplit

import django_stubs_ext
from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from config.env import (
    billing_plans,
    database_from_url,
    email_from_url,
    env_bool,
    env_choice,
    env_float,
    env_int,
    env_str,
)
from config.jsonlog import logging_config
from config.reserved_slugs import RESERVED_SLUGS

# Lets admin and form classes be written with type parameters (ModelAdmin[Property]).
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", default=True)
TESTING = env_bool("HOLIDESK_TESTING", default=False)

if DEBUG:
    SECRET_KEY = env_str("SECRET_KEY", "dev-only-insecure-key-change-me-0123456789abcdefghijklmnop")
else:
    SECRET_KEY = env_str("SECRET_KEY")
    if len(SECRET_KEY) < 50 or SECRET_KEY.startswith("dev-only"):
        raise ImproperlyConfigured("SECRET_KEY must be a random string of at least 50 characters.")

# --- Hosts and tenancy -------------------------------------------------------------
# Business sites live on <slug>.<HOLIDESK_BASE_DOMAIN> or on a custom domain; the app
# host (owners, admin, API, webhooks, iCal) has no business. Host validation is done
# by properties.middleware.BusinessHostMiddleware, which answers 404 for any host it
# does not know. Django's ALLOWED_HOSTS cannot list custom domains added at run time.
HOLIDESK_BASE_DOMAIN = env_str("HOLIDESK_BASE_DOMAIN", "localhost").lower().strip(".")
HOLIDESK_APP_HOST = env_str("HOLIDESK_APP_HOST", HOLIDESK_BASE_DOMAIN).lower()
PORT = env_int("PORT", 8000, minimum=1)
# Public URLs we print or email: http with the dev port in development, https in production.
HOLIDESK_URL_SCHEME = env_choice(
    "HOLIDESK_URL_SCHEME", ("http", "https"), "http" if DEBUG else "https"
)
HOLIDESK_URL_PORT = env_int("HOLIDESK_URL_PORT", PORT if DEBUG else 0, minimum=0)
ALLOWED_HOSTS = ["*"]
HOLIDESK_RESERVED_SLUGS = RESERVED_SLUGS
# A slug given up (business renamed or deleted) stays unavailable to others this long.
HOLIDESK_SLUG_QUARANTINE_DAYS = 90

# --- Applications ------------------------------------------------------------------
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.sites",
    "django.contrib.postgres",
    "allauth",
    "allauth.account",
    "allauth.headless",
    "allauth.mfa",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "csp",
    "auditlog",
    "config",
    "properties",
    "bookings",
    "bookings.payments",
    "messaging",
    "integrations",
]

MIDDLEWARE = [
    # First: times, counts and logs every answer (config.telemetry).
    "config.telemetry.RequestMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Before host routing: /metrics answers on the app host and on loopback.
    "config.telemetry.MetricsEndpointMiddleware",
    # Before the host middleware, whose unknown-host page needs the nonce and the header.
    "csp.middleware.CSPMiddleware",
    "properties.middleware.BusinessHostMiddleware",
    # Right after it: the business site's language from the URL prefix (/de/...), among
    # the business's languages only; English on the app host (docs/languages.md).
    "properties.languages.SiteLanguageMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # A session works only on the kind of host that signed it in.
    "properties.middleware.SessionHostMiddleware",
    # Who made a change, for the audit log (properties.audit).
    "properties.audit.AuditMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "config.middleware.BusyMiddleware",
]

ROOT_URLCONF = "config.urls"
HOLIDESK_SITE_URLCONF = "config.site_urls"
WSGI_APPLICATION = "config.wsgi.application"
AUTH_USER_MODEL = "properties.User"
SITE_ID = 1

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "properties.context_processors.business",
                "bookings.payments.context_processors.bookings_paused",
            ],
            # `ldate`: dates in the visitor's language (properties.dates).
            "builtins": ["properties.templatetags.dates"],
        },
    },
]

# --- Data stores -------------------------------------------------------------------
DATABASES = {
    "default": {
        **database_from_url(env_str("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/holidesk")),
        # runserver (`make run`) opens a thread per request and each would keep its own
        # connection: none are kept in development. Production's gunicorn workers reuse
        # theirs, checked before each request.
        "CONN_MAX_AGE": env_int("DATABASE_CONN_MAX_AGE", 0 if DEBUG else 60, minimum=0),
        "CONN_HEALTH_CHECKS": env_bool("DATABASE_CONN_HEALTH_CHECKS", default=True),
        # Services own their transactions (bookings.services); requests do not.
        "ATOMIC_REQUESTS": False,
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_str("REDIS_URL", "redis://127.0.0.1:6379/0")
HOLIDESK_REDIS_PREFIX = env_str("HOLIDESK_REDIS_PREFIX", "holidesk")
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": HOLIDESK_REDIS_PREFIX,
        "TIMEOUT": 300,
    }
}

# --- Celery ------------------------------------------------------------------------
CELERY_BROKER_URL = REDIS_URL
CELERY_BROKER_TRANSPORT_OPTIONS = {"global_keyprefix": f"{HOLIDESK_REDIS_PREFIX}:celery:"}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_TIME_LIMIT = 120
CELERY_TASK_SOFT_TIME_LIMIT = 100
# Tasks are safe to run twice (they re-read state from PostgreSQL), so prefer a
# redelivery over a loss when a worker dies mid-task.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = "UTC"
CELERY_TASK_ALWAYS_EAGER = False

# --- Auth and accounts -------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
ACCOUNT_ADAPTER = "properties.adapters.AccountAdapter"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_EMAIL_VERIFICATION = env_choice(
    "ACCOUNT_EMAIL_VERIFICATION",
    ("mandatory", "optional", "none"),
    "optional" if DEBUG else "mandatory",
)
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
# Two-factor sign-in for every dashboard user (authenticator app codes, and recovery
# codes for a lost phone); a business may require it of its owners.
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "Holidesk"
# Links in account emails are built by properties.adapters from these, never from the
# request's host.
ACCOUNT_DEFAULT_HTTP_PROTOCOL = HOLIDESK_URL_SCHEME
ACCOUNT_SESSION_REMEMBER = None
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "/"

# Cookies stay per host: no SESSION_COOKIE_DOMAIN, so a session on one business site
# is never sent to another business's site or to the app host; one carried there by
# hand is signed out (properties.middleware.SessionHostMiddleware).
SESSION_COOKIE_DOMAIN = None
CSRF_COOKIE_DOMAIN = None
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

# The client IP (sign-in throttles, security log) is the X-Forwarded-For entry this many
# places from the right: the number of proxies in front of the app that append to it
# (1 behind the AWS load balancer). 0 believes no header: REMOTE_ADDR.
HOLIDESK_TRUSTED_PROXY_COUNT = env_int("HOLIDESK_TRUSTED_PROXY_COUNT", 0, minimum=0)
ALLAUTH_TRUSTED_PROXY_COUNT = HOLIDESK_TRUSTED_PROXY_COUNT

# Custom domains are proven by a DNS TXT record (properties.services.domains); tests
# name a resolver with canned answers here.
HOLIDESK_TXT_RESOLVER = "properties.dnstxt.DnsPythonResolver"
# How often the custom domains are looked up again (a batch at a time, Celery beat).
HOLIDESK_DOMAIN_RECHECK_SECONDS = env_int("HOLIDESK_DOMAIN_RECHECK_SECONDS", 300, minimum=10)

# --- API ---------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "properties.auth.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["properties.auth.IsBusinessMember"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "properties.api_errors.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    # The visitor API's limits per signed-in visitor, else per client IP
    # (bookings.visitor_api.VisitorThrottle): reads, and writes that hold or charge.
    "DEFAULT_THROTTLE_RATES": {
        "visitor_read": env_str("HOLIDESK_VISITOR_API_READ_RATE", "300/min"),
        "visitor_write": env_str("HOLIDESK_VISITOR_API_WRITE_RATE", "30/min"),
    },
    "NUM_PROXIES": HOLIDESK_TRUSTED_PROXY_COUNT,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Holidesk API",
    "DESCRIPTION": "Owner REST API and partner channel webhooks of Holidesk.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
}

# --- Email -------------------------------------------------------------------------
_email = email_from_url(env_str("EMAIL_URL", "console:"))
EMAIL_BACKEND = _email.pop("EMAIL_BACKEND")
ANYMAIL = _email.get("ANYMAIL", {})
EMAIL_FILE_PATH = _email.get("EMAIL_FILE_PATH")
EMAIL_HOST = _email.get("EMAIL_HOST", "localhost")
EMAIL_PORT = _email.get("EMAIL_PORT", 25)
EMAIL_HOST_USER = _email.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = _email.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = _email.get("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = _email.get("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = _email.get("EMAIL_TIMEOUT", 20)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", f"Holidesk <no-reply@{HOLIDESK_BASE_DOMAIN}>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
EMAIL_RATE_PER_SECOND = env_float("EMAIL_RATE_PER_SECOND", 10.0, minimum=0.1)

# --- Payments ----------------------------------------------------------------------
PAYMENTS_BACKEND = env_choice("PAYMENTS_BACKEND", ("fake", "stripe"), "fake" if DEBUG else "stripe")
STRIPE_SECRET_KEY = env_str("STRIPE_SECRET_KEY", "")
STRIPE_WEBHOOK_SECRET = env_str("STRIPE_WEBHOOK_SECRET", "")
STRIPE_API_BASE = env_str("STRIPE_API_BASE", "https://api.stripe.com")
if PAYMENTS_BACKEND == "stripe" and not (STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET):
    raise ImproperlyConfigured(
        "PAYMENTS_BACKEND=stripe needs STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET."
    )

# Connect onboarding from the dashboard creates this kind of connected account:
# `standard` (the business keeps its own full Stripe dashboard) or `express`.
STRIPE_CONNECT_ACCOUNT_TYPE = env_choice(
    "STRIPE_CONNECT_ACCOUNT_TYPE", ("standard", "express"), "standard"
)
# Signing secret of the platform-events endpoint (the business's Holidesk subscription:
# customer.subscription.*, invoice.*), next to the Connect endpoint's secret above.
# Both endpoints may point at the same URL; an event verifies against either secret.
STRIPE_PLATFORM_WEBHOOK_SECRET = env_str("STRIPE_PLATFORM_WEBHOOK_SECRET", "")

# --- Holidesk subscription (Stripe Billing on the platform account) ------------------
# The plans owners may choose, as JSON: a list of {"key", "name", "price" (the Stripe
# Price id, per property per interval), "amount", "currency", "interval"}. Empty: billing
# is off (no plan page, nothing enforced).
BILLING_PLANS = billing_plans(env_str("BILLING_PLANS", "[]"), name="BILLING_PLANS")
BILLING_TRIAL_DAYS = env_int("BILLING_TRIAL_DAYS", 14, minimum=0)
# A business whose subscription payment failed keeps taking bookings this many days.
BILLING_GRACE_DAYS = env_int("BILLING_GRACE_DAYS", 7, minimum=0)
if BILLING_PLANS and not STRIPE_PLATFORM_WEBHOOK_SECRET and PAYMENTS_BACKEND == "stripe":
    raise ImproperlyConfigured("BILLING_PLANS needs STRIPE_PLATFORM_WEBHOOK_SECRET.")

# --- Secrets at rest ---------------------------------------------------------------
# Fernet key for channel secrets (which we must read back to sign). In development it
# is derived from SECRET_KEY so a fresh checkout works; production sets its own.
if DEBUG:
    _derived = base64.urlsafe_b64encode(hashlib.sha256(SECRET_KEY.encode()).digest()).decode()
    HOLIDESK_ENCRYPTION_KEY = env_str("HOLIDESK_ENCRYPTION_KEY", _derived)
else:
    HOLIDESK_ENCRYPTION_KEY = env_str("HOLIDESK_ENCRYPTION_KEY")

# --- Bookings ----------------------------------------------------------------------
HOLIDESK_HOLD_MINUTES = env_int("HOLIDESK_HOLD_MINUTES", 30, minimum=1)
# What one visitor may hold at one business at once (unpaid checkouts): so many stays,
# and so many nights together (a single longer stay may still be held on its own).
HOLIDESK_HOLDS_PER_VISITOR = env_int("HOLIDESK_HOLDS_PER_VISITOR", 3, minimum=1)
HOLIDESK_HELD_NIGHTS_PER_VISITOR = env_int("HOLIDESK_HELD_NIGHTS_PER_VISITOR", 60, minimum=1)

# --- Static and media files --------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
# Test runs (the demo seed makes photos) write under .dev/, never into the media/ that
# `make run` serves.
_MEDIA_DEFAULT = BASE_DIR / ".dev" / "test-media" if TESTING else BASE_DIR / "media"
_PRIVATE_MEDIA_DEFAULT = (
    BASE_DIR / ".dev" / "test-private-media" if TESTING else BASE_DIR / "private-media"
)
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(_MEDIA_DEFAULT)))
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

STORAGE = env_choice("STORAGE", ("local", "s3"), "local")
if STORAGE == "s3":
    _s3_options: dict[str, str | bool | None] = {
        "bucket_name": env_str("AWS_STORAGE_BUCKET_NAME"),
        "region_name": env_str("AWS_S3_REGION_NAME", "eu-west-1"),
        "endpoint_url": env_str("AWS_S3_ENDPOINT_URL", "") or None,
        "custom_domain": env_str("AWS_S3_CUSTOM_DOMAIN", "") or None,
        "file_overwrite": False,
        "default_acl": None,
        "querystring_auth": False,
    }
    _media_storage = {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": _s3_options}
    # Photo originals: the same bucket under a prefix CloudFront may not read
    # (terraform/s3.tf); only renditions are public.
    _originals_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            **_s3_options,
            "location": "private",
            "custom_domain": None,
            "querystring_auth": True,
            "signature_version": "s3v4",
        },
    }
else:
    _media_storage = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
    _originals_storage = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        # Outside MEDIA_ROOT, so never served at MEDIA_URL.
        "OPTIONS": {
            "location": env_str("PRIVATE_MEDIA_ROOT", str(_PRIVATE_MEDIA_DEFAULT)),
            "base_url": "/private-media-is-not-served/",
        },
    }
STORAGES = {
    "default": _media_storage,
    "photo_originals": _originals_storage,
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# --- Property photos (docs/photos.md) ------------------------------------------------
# Refused before anything is decoded: files over PHOTO_MAX_BYTES, images over
# PHOTO_MAX_PIXELS (width x height from the header), formats other than these.
PHOTO_MAX_BYTES = env_int("PHOTO_MAX_BYTES", 20 * 1024 * 1024, minimum=1024)
PHOTO_MAX_PIXELS = env_int("PHOTO_MAX_PIXELS", 50_000_000, minimum=10_000)
# Rendition widths in pixels (never wider than the original), each in WebP and JPEG.
PHOTO_RENDITION_WIDTHS = (320, 640, 1024, 1600)
# A signed upload (S3 presigned POST, or the local upload view) is valid this long.
PHOTO_UPLOAD_EXPIRY_SECONDS = env_int("PHOTO_UPLOAD_EXPIRY_SECONDS", 900, minimum=60)
# Processes of the dedicated `images` Celery worker (`manage.py photo_worker`): the
# most photos processed at once per worker, whatever the burst; other queues never
# wait for them.
PHOTO_PROCESSING_CONCURRENCY = env_int("PHOTO_PROCESSING_CONCURRENCY", 10, minimum=1)
# Attempts at processing one photo before it is failed for good.
PHOTO_PROCESSING_MAX_ATTEMPTS = env_int("PHOTO_PROCESSING_MAX_ATTEMPTS", 3, minimum=1)
# A photo still `uploaded` (its task lost) or `processing` (its worker lost) this long
# is enqueued again by the periodic sweep.
PHOTO_PROCESSING_STALE_SECONDS = env_int("PHOTO_PROCESSING_STALE_SECONDS", 300, minimum=30)
# Enqueue processing right after an upload commits (off in tests: no worker listens).
PHOTO_KICK_PROCESSING = env_bool("PHOTO_KICK_PROCESSING", default=not TESTING)

# --- Internationalisation ----------------------------------------------------------
LANGUAGE_CODE = "en"
# The languages a business site and its guest emails may use; each business picks its
# own among these (Business.languages, the first its default). Visitor pages and guest
# emails are translated; owner, staff and dashboard pages stay English (docs/languages.md).
LANGUAGES = [("en", "English"), ("de", "Deutsch")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Production hardening ----------------------------------------------------------
# Content-Security-Policy: scripts and style elements only from our origin or carrying
# the response's nonce (`nonce="{{ request.csp_nonce }}"`); no inline event handlers,
# no style attributes, no plugins, no framing, no <base> rewriting.
_media_origins: list[str] = []
# The dashboard's upload page posts photos straight to the bucket (a presigned POST).
_upload_origins: list[str] = []
if STORAGE == "s3":
    _s3_domain = env_str("AWS_S3_CUSTOM_DOMAIN", "")
    _media_origins = [f"https://{_s3_domain}" if _s3_domain else "https://*.amazonaws.com"]
    _s3_endpoint = urlsplit(str(_s3_options["endpoint_url"] or ""))
    _bucket, _region = _s3_options["bucket_name"], _s3_options["region_name"]
    _upload_origins = (
        [f"{_s3_endpoint.scheme}://{_s3_endpoint.netloc}"]
        if _s3_endpoint.netloc
        else [
            f"https://{_bucket}.s3.{_region}.amazonaws.com",
            f"https://{_bucket}.s3.amazonaws.com",
        ]
    )
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, NONCE],
        "img-src": [SELF, "data:", *_media_origins],
        "font-src": [SELF],
        "connect-src": [SELF, *_upload_origins],
        "object-src": [NONE],
        "base-uri": [NONE],
        "frame-ancestors": [NONE],
    }
}
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if not DEBUG:
    # TLS ends at the load balancer, which sets X-Forwarded-Proto.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=True)
    # Load balancer health checks speak plain HTTP to the task.
    # So does the metrics agent beside each web container (http://localhost/metrics).
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    CSRF_TRUSTED_ORIGINS = [
        f"https://{HOLIDESK_APP_HOST}",
        f"https://*.{HOLIDESK_BASE_DOMAIN}",
    ]

# --- Metrics -----------------------------------------------------------------------
# Bearer token of GET /metrics (Prometheus text format); unset, /metrics answers 404.
METRICS_TOKEN = env_str("METRICS_TOKEN", "")
if METRICS_TOKEN and len(METRICS_TOKEN) < 32:
    raise ImproperlyConfigured("METRICS_TOKEN must be at least 32 characters.")
# Where gunicorn's processes share their request metrics (prometheus_client reads it
# from the environment itself; read here so it is checked and documented).
PROMETHEUS_MULTIPROC_DIR = env_str("PROMETHEUS_MULTIPROC_DIR", "")

# --- Logs --------------------------------------------------------------------------
# json: one JSON object per line (config/jsonlog.py), with the request id; one line per
# request (holidesk.request) and per Celery task (holidesk.task). text: for a terminal.
LOG_FORMAT = env_choice("LOG_FORMAT", ("json", "text"), "text" if DEBUG else "json")
LOGGING = logging_config(LOG_FORMAT, env_str("LOG_LEVEL", "INFO"))
# The worker keeps the handlers above instead of installing Celery's own format.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# Errors to Sentry, when a DSN is set (its Django and Celery integrations turn on by
# themselves). No personal data is sent: no cookies, headers, user emails or IPs.
SENTRY_DSN = env_str("SENTRY_DSN", "")
if SENTRY_DSN:
    import sentry_sdk

    sentry_sdk.init(
        dsn=SENTRY_DSN,
        environment=env_str("SENTRY_ENVIRONMENT", "production"),
        send_default_pii=False,
        traces_sample_rate=env_float("SENTRY_TRACES_SAMPLE_RATE", 0.0, minimum=0.0),
    )

# --- Messaging ---------------------------------------------------------------------
# The outbox dispatcher runs every MESSAGING_DISPATCH_INTERVAL seconds (Celery beat).
MESSAGING_DISPATCH_INTERVAL = env_float("MESSAGING_DISPATCH_INTERVAL", 5.0, minimum=0.1)
# Most rows one dispatcher run hands to workers (the rest wait for the next run).
MESSAGING_DISPATCH_BATCH = env_int("MESSAGING_DISPATCH_BATCH", 5000, minimum=1)
# A claimed row not sent within this lease (Redis flushed, worker lost) is claimed again.
MESSAGING_CLAIM_LEASE_SECONDS = env_int("MESSAGING_CLAIM_LEASE_SECONDS", 300, minimum=10)
# A row stuck in `sending` this long was interrupted mid-send: marked for review.
MESSAGING_SENDING_STALE_SECONDS = env_int("MESSAGING_SENDING_STALE_SECONDS", 600, minimum=60)
MESSAGING_MAX_ATTEMPTS = env_int("MESSAGING_MAX_ATTEMPTS", 5, minimum=1)
# How long a send task waits for the rate limiter before handing the row back.
MESSAGING_RATE_WAIT_SECONDS = env_float("MESSAGING_RATE_WAIT_SECONDS", 30.0, minimum=0.1)
# Margin added to each rate-limit window, absorbing grant-to-provider jitter.
MESSAGING_RATE_GUARD_MS = env_int("MESSAGING_RATE_GUARD_MS", 10, minimum=0)
# Wake the dispatcher right after a booking commits (off in tests: no worker listens).
MESSAGING_KICK_DISPATCHER = env_bool("MESSAGING_KICK_DISPATCHER", default=not TESTING)
# Staff email links stay valid this many days after the job.
MESSAGING_STAFF_LINK_DAYS = env_int("MESSAGING_STAFF_LINK_DAYS", 3, minimum=1)

# --- Direct booking ----------------------------------------------------------------
# Stripe calls: seconds before giving up, and automatic retries (idempotency keys make
# a retried checkout or refund safe).
STRIPE_TIMEOUT_SECONDS = env_float("STRIPE_TIMEOUT_SECONDS", 20.0, minimum=1.0)
STRIPE_MAX_NETWORK_RETRIES = env_int("STRIPE_MAX_NETWORK_RETRIES", 2, minimum=0)
# Visitor sign-in is rate-limited by allauth (per IP and per email); stated here so the
# limits are visible and reviewed rather than implied by a library default.
# Visitor sign-up and sign-in for apps and the site's scripts: allauth's headless API at
# /_allauth/{browser,app}/v1/ on business hosts. "browser" uses the site's session
# cookie (and CSRF token); "app" answers an X-Session-Token, which the visitor API
# accepts on the same host only.
HEADLESS_CLIENTS = ("browser", "app")
ACCOUNT_RATE_LIMITS = {
    "login": "30/m/ip",
    "login_failed": "10/m/ip,5/5m/key",
    "signup": "20/m/ip",
    "reset_password": "20/m/ip,5/m/key",
    "reset_password_from_key": "20/m/ip",
}

# --- Integrations ------------------------------------------------------------------
# Partner pushes: HTTP timeout, attempts before a dead letter, backoff (first retry
# after about INTEGRATIONS_PUSH_FIRST_RETRY_SECONDS, then x FACTOR each time), the
# pause that lets a burst of changes coalesce, the dispatcher's interval and how far
# ahead availability is pushed. Channel secrets use HOLIDESK_ENCRYPTION_KEY above.
INTEGRATIONS_PUSH_TIMEOUT_SECONDS = env_float(
    "INTEGRATIONS_PUSH_TIMEOUT_SECONDS", 10.0, minimum=0.1
)
INTEGRATIONS_PUSH_MAX_ATTEMPTS = env_int("INTEGRATIONS_PUSH_MAX_ATTEMPTS", 8, minimum=1)
INTEGRATIONS_PUSH_FIRST_RETRY_SECONDS = env_float(
    "INTEGRATIONS_PUSH_FIRST_RETRY_SECONDS", 20.0, minimum=0.1
)
INTEGRATIONS_PUSH_BACKOFF_FACTOR = env_float("INTEGRATIONS_PUSH_BACKOFF_FACTOR", 3.35, minimum=1.0)
INTEGRATIONS_PUSH_DEBOUNCE_SECONDS = env_float("INTEGRATIONS_PUSH_DEBOUNCE_SECONDS", 1.0, minimum=0)
INTEGRATIONS_PUSH_DISPATCH_INTERVAL = env_float(
    "INTEGRATIONS_PUSH_DISPATCH_INTERVAL", 10.0, minimum=0.1
)
INTEGRATIONS_PUSH_HORIZON_DAYS = env_int("INTEGRATIONS_PUSH_HORIZON_DAYS", 365, minimum=1)
# Enqueue a delivery task right after a change commits (off in tests: no worker listens).
INTEGRATIONS_KICK_PUSHES = env_bool("INTEGRATIONS_KICK_PUSHES", default=not TESTING)
# iCal import: poll interval per feed, and limits on each fetch.
INTEGRATIONS_ICAL_POLL_MINUTES = env_int("INTEGRATIONS_ICAL_POLL_MINUTES", 15, minimum=1)
INTEGRATIONS_ICAL_MAX_BYTES = env_int("INTEGRATIONS_ICAL_MAX_BYTES", 2 * 1024 * 1024, minimum=1024)
INTEGRATIONS_ICAL_TIMEOUT_SECONDS = env_float("INTEGRATIONS_ICAL_TIMEOUT_SECONDS", 15.0, minimum=1)
# Outbound URLs to loopback/private addresses: only in development and tests.
INTEGRATIONS_ALLOW_PRIVATE_URLS = env_bool(
    "INTEGRATIONS_ALLOW_PRIVATE_URLS", default=DEBUG or TESTING
)
