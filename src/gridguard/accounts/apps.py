from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "gridguard.accounts"
    label = "accounts"
    verbose_name = _("Accounts")

    def ready(self) -> None:
        from axes.models import AccessAttempt, AccessFailureLog, AccessLog

        from gridguard.accounts import signals  # noqa: F401
        from gridguard.core import retention

        # Login records hold user names and addresses: personal data with a short life.
        retention.register(
            "login_log", AccessLog, "attempt_time", 90, "Successful logins (address, browser)."
        )
        retention.register(
            "login_failures",
            AccessFailureLog,
            "attempt_time",
            90,
            "Failed logins (user name tried, address).",
        )
        retention.register(
            "login_lockouts",
            AccessAttempt,
            "attempt_time",
            30,
            "Lockout counters per user name (a purge also ends old lockouts).",
        )
