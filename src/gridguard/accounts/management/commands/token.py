"""`gridguard token issue|list|revoke`: device and integration tokens from the command line.

`issue` prints the raw token once; only its hash is stored. `list` never prints secrets. Every
write goes through `gridguard.accounts.services` as the system actor, so it is audited.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from gridguard.accounts import selectors, services
from gridguard.accounts.models import ApiToken, TokenPurpose
from gridguard.core import clock
from gridguard.core.errors import InvalidInput
from gridguard.core.scoping import SYSTEM
from gridguard.territory.commands import area_option, invalid_to_command_error

# Service field names as the operator typed them.
_OPTION = {"name": "--name", "purpose": "--purpose", "area": "--area", "expires_at": "--days"}


def _status(token: ApiToken, now: dt.datetime) -> str:
    if token.revoked_at is not None:
        return _("revoked")
    if token.expires_at is not None and token.expires_at <= now:
        return _("expired")
    return _("active")


def _when(value: dt.datetime | None) -> str:
    return f"{clock.local(value):%Y-%m-%d %H:%M}" if value else "-"


class Command(BaseCommand):
    help = "Issue, list and revoke API tokens for devices and integrations."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="subcommand", required=True, metavar="{issue,list,revoke}")
        issue = sub.add_parser("issue", help="issue a token; the secret is printed once")
        issue.add_argument("--area", required=True, metavar="CODE", help="area code it serves")
        issue.add_argument(
            "--purpose",
            required=True,
            help="one of: " + ", ".join(TokenPurpose.values),
        )
        issue.add_argument("--name", required=True, help="which device, e.g. “A1 north gate #1”")
        issue.add_argument("--days", type=str, default=None, help="expires after N days")
        lst = sub.add_parser("list", help="list tokens (never their secrets)")
        lst.add_argument("--area", default=None, metavar="CODE", help="only this area's subtree")
        revoke = sub.add_parser("revoke", help="revoke a token at once")
        revoke.add_argument("key_id", metavar="KEY_ID")

    def handle(self, *args: Any, **opts: Any) -> None:
        action = opts["subcommand"]
        if action == "issue":
            self._issue(opts)
        elif action == "list":
            self._list(opts["area"])
        else:
            self._revoke(opts["key_id"])

    def _issue(self, opts: dict[str, Any]) -> None:
        # Check everything before the service writes anything.
        expires_at = None
        if opts["days"] is not None:
            try:
                days = int(opts["days"])
            except ValueError as exc:
                raise CommandError(
                    _("--days: a whole number, not “%(v)s”") % {"v": opts["days"]}
                ) from exc
            if days <= 0:
                raise CommandError(_("--days: at least 1, not %(n)d") % {"n": days})
            expires_at = clock.now() + dt.timedelta(days=days)
        area = area_option(opts["area"])
        try:
            token, raw = services.issue_token(
                SYSTEM,
                name=opts["name"],
                purpose=opts["purpose"],
                area=area,
                expires_at=expires_at,
            )
        except InvalidInput as exc:
            raise invalid_to_command_error(exc, _OPTION) from exc
        self.stdout.write(
            _("Issued token %(key)s “%(name)s” (%(purpose)s) for %(area)s, expires %(exp)s.")
            % {
                "key": token.key_id,
                "name": token.name,
                "purpose": token.purpose,
                "area": f"{area.name} ({area.code})",
                "exp": _when(token.expires_at) if token.expires_at else _("never"),
            }
        )
        self.stdout.write(raw)
        self.stdout.write(
            _(
                "Copy it into the device now: this is the only time it is shown. GridGuard "
                "keeps only a hash of it; a lost token cannot be recovered, only revoked and "
                "issued again."
            )
        )

    def _list(self, area_code: str | None) -> None:
        qs = selectors.tokens_visible_to(SYSTEM)
        if area_code is not None:
            qs = qs.filter(area__path__startswith=area_option(area_code).path)
        tokens = list(qs)
        if not tokens:
            self.stdout.write(_("no tokens"))
            return
        now = clock.now()
        self.stdout.write(
            "key_id        status   purpose            area             created           "
            "expires           last used         name"
        )
        for t in tokens:
            self.stdout.write(
                f"{t.key_id:<12}  {_status(t, now):<7}  {t.purpose:<17}  {t.area.code:<15}  "
                f"{_when(t.created_at):<16}  {_when(t.expires_at):<16}  "
                f"{_when(t.last_used_at):<16}  {t.name}"
            )

    def _revoke(self, key_id: str) -> None:
        token = ApiToken.objects.select_related("area").filter(key_id=key_id).first()
        if token is None:
            raise CommandError(_("KEY_ID: no token with key id “%(k)s”") % {"k": key_id})
        if token.revoked_at is not None:
            # Nothing to do, and nothing to audit.
            self.stdout.write(
                _("token %(k)s was already revoked (%(at)s)")
                % {"k": key_id, "at": _when(token.revoked_at)}
            )
            return
        services.revoke_token(SYSTEM, token)
        self.stdout.write(_("revoked token %(k)s “%(n)s”") % {"k": key_id, "n": token.name})
