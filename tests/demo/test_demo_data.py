"""`manage.py load_demo_data` builds a usable demo and is safe to run twice."""

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from alerts.models import Alert, AlertSource
from cases.models import Case

pytestmark = pytest.mark.django_db(transaction=True)


def test_demo_data_covers_every_status_and_is_idempotent():
    out = io.StringIO()
    call_command("load_demo_data", stdout=out)
    text = out.getvalue()
    assert "analyst1 / soar-demo-123" in text and "demo-suricata" in text
    assert set(Case.objects.values_list("status", flat=True)) == {s for s, _ in Case.Status.choices}
    assert set(AlertSource.objects.values_list("kind", flat=True)) >= {
        "generic", "elastic", "splunk", "wazuh", "suricata", "alertmanager", "email"}
    assert Alert.objects.count() >= 200 and Alert.objects.filter(processing="done").count() == Alert.objects.count()
    assert set(Case.objects.values_list("team__name", flat=True)) == {"Blue Team", "Red Team"}
    User = get_user_model()
    assert User.objects.get(username="admin").is_superuser
    assert User.objects.get(username="analyst1").check_password("soar-demo-123")
    counts = (Case.objects.count(), Alert.objects.count(), User.objects.count())

    again = io.StringIO()
    call_command("load_demo_data", stdout=again)
    assert "already loaded" in again.getvalue()
    assert (Case.objects.count(), Alert.objects.count(), User.objects.count()) == counts
