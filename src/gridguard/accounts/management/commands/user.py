"""`gridguard user create|bind|list|unlock|deactivate`: accounts from the command line.

The password of a new user is never an argument (it would land in the shell history and the
process list): it comes from GRIDGUARD_NEW_PASSWORD or is typed twice at a prompt. Every write
goes through `gridguard.accounts.services` as the system actor, so it is audited.
"""

from __future__ import annotations

import getpass
import os
import sys
from typing import Any

from axes.utils import reset as axes_reset
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils.translation import gettext as _

from gridguard.accounts import services
from gridguard.accounts.models import RoleBinding, User
from gridguard.accounts.roles import Role
from gridguard.core import audit
from gridguard.core.errors import InvalidInput
from gridguard.core.scoping import SYSTEM
from gridguard.territory.commands import area_option, invalid_to_command_error

PASSWORD_ENV = "GRIDGUARD_NEW_PASSWORD"  # noqa: S105 - the name of a variable, not a secret
_OPTION = {"username": "USERNAME", "password": PASSWORD_ENV, "role": "--role", "area": "--area"}


def _check_role(role: str) -> None:
    if role not in Role.values:
        raise CommandError(
            _("--role: unknown role “%(r)s”; roles are %(known)s")
            % {"r": role, "known": ", ".join(Role.values)}
        )


def _user(username: str) -> User:
    user = User.objects.filter(username=username).first()
    if user is None:
        raise CommandError(_("USERNAME: no user “%(u)s”") % {"u": username})
    return user


class Command(BaseCommand):
    help = "Create users, bind roles to areas, list, unlock and deactivate users."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(
            dest="subcommand", required=True, metavar="{create,bind,list,unlock,deactivate}"
        )
        roles_help = "one of: " + ", ".join(Role.values)
        create = sub.add_parser(
            "create", help=f"create a user (password from {PASSWORD_ENV} or a prompt)"
        )
        create.add_argument("username", metavar="USERNAME")
        create.add_argument("--role", required=True, help=roles_help)
        create.add_argument("--area", required=True, metavar="CODE", help="area code of the role")
        create.add_argument("--display-name", default="", help="the person's name")
        create.add_argument("--phone", default="", help="the person's phone")
        bind = sub.add_parser("bind", help="give a user a role over an area")
        bind.add_argument("username", metavar="USERNAME")
        bind.add_argument("--role", required=True, help=roles_help)
        bind.add_argument("--area", required=True, metavar="CODE", help="area code of the role")
        lst = sub.add_parser("list", help="list users and their roles")
        lst.add_argument("--area", default=None, metavar="CODE", help="only roles in this subtree")
        unlock = sub.add_parser("unlock", help="end a lockout after failed logins")
        unlock.add_argument("username", metavar="USERNAME")
        off = sub.add_parser("deactivate", help="switch a user off (history stays)")
        off.add_argument("username", metavar="USERNAME")

    def handle(self, *args: Any, **opts: Any) -> None:
        getattr(self, f"_{opts['subcommand']}")(opts)

    def _read_password(self) -> str:
        env = os.environ.get(PASSWORD_ENV)
        if env:
            return env
        if not sys.stdin.isatty():
            raise CommandError(
                _("password: set %(env)s or run in a terminal to be prompted")
                % {"env": PASSWORD_ENV}
            )
        first = getpass.getpass(_("Password: "))
        second = getpass.getpass(_("Password (again): "))
        if first != second:
            raise CommandError(_("password: the two passwords differ; nothing was created"))
        return first

    def _create(self, opts: dict[str, Any]) -> None:
        username = opts["username"]
        # Check what we can before asking for a password.
        _check_role(opts["role"])
        area = area_option(opts["area"])
        if User.objects.filter(username=username).exists():
            raise CommandError(_("USERNAME: the user name “%(u)s” is taken") % {"u": username})
        password = self._read_password()
        try:
            user = services.create_user(
                SYSTEM,
                username=username,
                password=password,
                display_name=opts["display_name"],
                phone=opts["phone"],
                bindings=[(opts["role"], area)],
            )
        except InvalidInput as exc:
            raise invalid_to_command_error(exc, _OPTION) from exc
        self.stdout.write(
            _("created user %(u)s as %(role)s over %(area)s")
            % {"u": user.username, "role": opts["role"], "area": f"{area.name} ({area.code})"}
        )

    def _bind(self, opts: dict[str, Any]) -> None:
        user = _user(opts["username"])
        _check_role(opts["role"])
        area = area_option(opts["area"])
        try:
            services.bind_role(SYSTEM, user=user, role=opts["role"], area=area)
        except InvalidInput as exc:
            raise invalid_to_command_error(exc, _OPTION) from exc
        self.stdout.write(
            _("%(u)s is now %(role)s over %(area)s")
            % {"u": user.username, "role": opts["role"], "area": f"{area.name} ({area.code})"}
        )

    def _list(self, opts: dict[str, Any]) -> None:
        bindings = RoleBinding.objects.filter(active=True).select_related("area")
        users = User.objects.order_by("username")
        if opts["area"] is not None:
            area = area_option(opts["area"])
            bindings = bindings.within(area)
            users = users.filter(pk__in=bindings.values("user_id"))
        roles: dict[int, list[str]] = {}
        for b in bindings.order_by("area__path", "role"):
            roles.setdefault(b.user_id, []).append(f"{b.role}@{b.area.code}")
        rows = list(users)
        if not rows:
            self.stdout.write(_("no users"))
            return
        # No phone here: it is personal data and the list is for finding accounts.
        for u in rows:
            state = _("active") if u.is_active else _("inactive")
            self.stdout.write(
                f"{u.username:<20}  {state:<8}  {u.display_name or '-':<12}  "
                f"{', '.join(roles.get(u.pk, [])) or '-'}"
            )

    def _unlock(self, opts: dict[str, Any]) -> None:
        user = _user(opts["username"])
        with transaction.atomic():
            cleared = axes_reset(username=user.username)
            audit.record(SYSTEM, "accounts.user.unlock", user, detail={"attempts": cleared})
        self.stdout.write(
            _("unlocked %(u)s (%(n)d lockout record(s) cleared)")
            % {"u": user.username, "n": cleared}
        )

    def _deactivate(self, opts: dict[str, Any]) -> None:
        user = _user(opts["username"])
        was_active = user.is_active
        services.deactivate_user(SYSTEM, user)
        if was_active:
            self.stdout.write(_("deactivated %(u)s") % {"u": user.username})
        else:
            self.stdout.write(_("%(u)s was already inactive") % {"u": user.username})
