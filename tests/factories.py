"""Shared test factories: a small SOC with one user per role and a case per team. Used by the tests
of every app and by the integration tests."""

from __future__ import annotations

from functools import cache
from types import SimpleNamespace

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group

from cases import services
from cases.models import Team
from cases.roles_setup import ensure_roles

PASSWORD = "pw-for-tests-123"  # noqa: S105 - password of the test users only


@cache
def _password_hash() -> str:
    return make_password(PASSWORD)  # hashing is slow on purpose; do it once per test run


def make_user(username, *, roles=(), teams=(), superuser=False):
    User = get_user_model()
    user = User.objects.create(username=username, password=_password_hash(), is_superuser=superuser,
                               is_staff=superuser)
    user.groups.add(*Group.objects.filter(name__in=roles))
    for team in teams:
        team.members.add(user)
    return user


def build_world() -> SimpleNamespace:
    ensure_roles()
    blue = Team.objects.create(name="Blue", slug="blue")
    red = Team.objects.create(name="Red", slug="red")
    w = SimpleNamespace(blue=blue, red=red)
    w.admin = make_user("root", roles=["admin"], superuser=True)
    w.lead = make_user("lead", roles=["lead"], teams=[blue])
    w.analyst = make_user("analyst", roles=["analyst"], teams=[blue])
    w.mate = make_user("mate", roles=["analyst"], teams=[blue])
    w.red_analyst = make_user("redanalyst", roles=["analyst"], teams=[red])
    w.auditor = make_user("auditor", roles=["auditor"])
    w.blue_case = services.open_case(title="Blue phishing wave", severity="high", team=blue)
    w.red_case = services.open_case(title="Red lateral movement", severity="medium", team=red)
    return w
