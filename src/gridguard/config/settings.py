"""GridGuard settings: one module, driven by environment variables.

DATABASE_URL       sqlite:///path or postgres://user@host:port/name
                   (default: SQLite file under var/)
GRIDGUARD_SECRET_KEY  secret for sessions and signing (default: generated once into var/secret_key)
GRIDGUARD_DEBUG    "1" for debug pages
GRIDGUARD_ALLOWED_HOSTS  comma-separated host names (default: localhost names)
GRIDGUARD_VAR_DIR  where the embedded database, secret key and collected static files live
REDIS_URL          shared cache for rate limits and lockouts across processes (optional)
"""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

PACKAGE_DIR = Path(__file__).resolve().parent.parent
REPO_DIR = PACKAGE_DIR.parent.parent
VAR_DIR = Path(os.environ.get("GRIDGUARD_VAR_DIR", REPO_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def _secret_key() -> str:
    """Read the secret from the environment, else from var/secret_key (created on first run)."""
    if key := os.environ.get("GRIDGUARD_SECRET_KEY"):
        return key
    path = VAR_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = os.environ.get("GRIDGUARD_DEBUG") == "1"
ALLOWED_HOSTS = os.environ.get("GRIDGUARD_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(
    ","
)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "gridguard.core",
    "gridguard.territory",
    "gridguard.accounts",
    "gridguard.people",
    "gridguard.health",
    "gridguard.access",
    "gridguard.tickets",
    "gridguard.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "gridguard.core.middleware.RequestContextMiddleware",
    "gridguard.core.middleware.RefuseNulBytesMiddleware",
    "gridguard.accounts.middleware.SecondFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
    # Turns django-ratelimit's Ratelimited into RATELIMIT_VIEW (a 429 page).
    "django_ratelimit.middleware.RatelimitMiddleware",
]

ROOT_URLCONF = "gridguard.config.urls"
WSGI_APPLICATION = "gridguard.config.wsgi.application"
ASGI_APPLICATION = "gridguard.config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [PACKAGE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "gridguard.accounts.context_processors.roles",
            ],
        },
    }
]

DATABASE_URL = os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'gridguard.sqlite3'}"
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # The hot device statements of core/leansql.py are prepared once per connection (the ORM's
    # client-side binding never prepares). A transaction-pooling PgBouncer cannot keep
    # prepared statements: GRIDGUARD_DB_PREPARE=0 turns them off.
    prepare = os.environ.get("GRIDGUARD_DB_PREPARE", "1") != "0"
    DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = 5 if prepare else None
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        # WAL lets readers go on while one writer writes; IMMEDIATE takes the write lock at
        # BEGIN so two writers never deadlock half-way through a transaction.
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=10000;"
        ),
        "transaction_mode": "IMMEDIATE",
    }
    # One file per test process: two suites running at once (developers, CI) must not share.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-{os.getpid()}.sqlite3")}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "accounts:home"
LOGOUT_REDIRECT_URL = "accounts:login"
SESSION_COOKIE_AGE = int(os.environ.get("GRIDGUARD_SESSION_SECONDS", 8 * 3600))
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = os.environ.get("GRIDGUARD_HTTPS") == "1"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

# Lockout: five wrong passwords lock the user name for 15 minutes.
AXES_FAILURE_LIMIT = int(os.environ.get("GRIDGUARD_LOGIN_FAILURES", 5))
AXES_COOLOFF_TIME = timedelta(minutes=15)
AXES_LOCKOUT_PARAMETERS = ["username"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.html"
AXES_VERBOSE = False
# Rate limit on the login form, per client address.
LOGIN_RATE = os.environ.get("GRIDGUARD_LOGIN_RATE", "30/m")
# The public traveller form and receipt lookup, per address (a checkpoint may share one).
TRAVELLER_FORM_RATE = os.environ.get("GRIDGUARD_TRAVELLER_FORM_RATE", "60/m")
# How long a server process trusts a device token it has checked before reading it again: a
# token revoked or expired in another process stops working within this many seconds (at once
# in the process that revoked it). Each read is a database round trip on every scan.
TOKEN_CACHE_SECONDS = float(os.environ.get("GRIDGUARD_TOKEN_CACHE_SECONDS", 5))
# A pass let in at one gate and then at another gate less than this many seconds later is
# flagged (a lent pass or a copied QR). Decision 0008.
TWO_GATES_SECONDS = float(os.environ.get("GRIDGUARD_TWO_GATES_SECONDS", 120))
RATELIMIT_VIEW = "gridguard.accounts.views.rate_limited"
# Citizen tickets (C1): a new report joins an open case of the same clue reported at most this
# many days before; below this confidence the classifier's subclass waits for an operator.
TICKET_MERGE_WINDOW_DAYS = float(os.environ.get("GRIDGUARD_TICKET_MERGE_WINDOW_DAYS", 7))
TICKET_TRIAGE_BELOW = float(os.environ.get("GRIDGUARD_TICKET_TRIAGE_BELOW", 0.45))
# Hours a department has to answer, by urgency; a reminder goes out when this share is used.
TICKET_DEADLINE_HOURS = {"urgent": 4.0, "high": 24.0, "normal": 72.0}
TICKET_REMIND_AT = 0.75
# The public ticket form, per address.
TICKET_FORM_RATE = os.environ.get("GRIDGUARD_TICKET_FORM_RATE", "20/m")
# A hotline connector's largest batch (1,000 tickets of 2,000 characters) is about 13 MB of
# JSON with its Chinese written as \uXXXX escapes; Django's default (2.5 MB) would refuse
# it. Larger bodies get a 413 naming the limit (core.middleware).
DATA_UPLOAD_MAX_MEMORY_SIZE = 16 * 1024 * 1024
# The daily ticket report of each district for yesterday is stored after this Shanghai hour.
TICKET_REPORT_HOUR = int(os.environ.get("GRIDGUARD_TICKET_REPORT_HOUR", 7))
# Where messages to citizens and handlers go: a dotted path to a class with send(); the
# default writes them to the log (a real SMS or app-push gateway is configured per city).
NOTIFY_BACKEND = os.environ.get("GRIDGUARD_NOTIFY_BACKEND", "gridguard.core.notify.LogBackend")

if os.environ.get("REDIS_URL"):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": os.environ["REDIS_URL"],
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    # One process (the embedded default) keeps its counters in memory; set REDIS_URL
    # when several processes serve, so rate limits are shared.
    SILENCED_SYSTEM_CHECKS = ["django_ratelimit.E003", "django_ratelimit.W001"]
# Lockout is per user name on purpose (a phone on a shared street network must not lock out
# everyone behind the same address); addresses are throttled by the login rate limit instead.
SILENCED_SYSTEM_CHECKS = [*globals().get("SILENCED_SYSTEM_CHECKS", []), "axes.W006"]

OTP_TOTP_ISSUER = "GridGuard"

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = "Asia/Shanghai"
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [PACKAGE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {
        "gridguard": {"handlers": ["console"], "level": os.environ.get("GRIDGUARD_LOG", "INFO")},
        "axes": {"handlers": ["console"], "level": "WARNING"},
    },
}

# Retention periods (days) for kinds of personal records; each app registers its own kind
# with gridguard.core.retention and may be overridden here by name.
RETENTION_DAYS: dict[str, int] = {}
