"""Admin changes of any model reach the audit log; view-only staff never see secrets."""

import pytest
from django.contrib.auth.models import Permission

from alerts.models import AlertSource, CorrelationRule
from cases.models import AuditLog

pytestmark = pytest.mark.django_db


def test_admin_change_of_any_model_is_audited(admin_client):
    response = admin_client.post("/admin/alerts/correlationrule/add/", {
        "name": "Audited rule", "enabled": "on", "priority": 5, "key": "entity", "window_minutes": 10,
        "min_severity": "high", "min_confidence": 60, "threshold_mode": "all",
    })
    assert response.status_code == 302, response.content[:500]
    rule = CorrelationRule.objects.get(name="Audited rule")
    entry = AuditLog.objects.get(action="admin.add", object_type="alerts.correlationrule", object_id=str(rule.pk))
    assert entry.actor.username == "admin" and entry.request_id
    admin_client.post(f"/admin/alerts/correlationrule/{rule.pk}/delete/", {"post": "yes"})
    assert AuditLog.objects.filter(action="admin.delete", object_id=str(rule.pk)).exists()


def test_view_only_staff_never_see_the_hmac_secret(client, django_user_model, make_source):
    source, _ = make_source(name="signed", hmac_secret="top-secret-hmac-value")
    auditor = django_user_model.objects.create_user("staffaud", password="x" * 12, is_staff=True)
    auditor.user_permissions.add(Permission.objects.get(codename="view_alertsource"))
    client.force_login(auditor)
    page = client.get(f"/admin/alerts/alertsource/{source.pk}/change/")
    assert page.status_code == 200
    assert b"top-secret-hmac-value" not in page.content


def test_editing_a_source_keeps_the_secret_unless_cleared(admin_client, make_source):
    source, _ = make_source(name="signed2", hmac_secret="keep-me")
    page = admin_client.get(f"/admin/alerts/alertsource/{source.pk}/change/")
    assert b"keep-me" not in page.content
    form = {"name": "signed2", "kind": "generic", "description": "", "enabled": "on", "default_team": "",
            "hmac_secret": ""}
    assert admin_client.post(f"/admin/alerts/alertsource/{source.pk}/change/", form).status_code == 302
    assert AlertSource.objects.get(pk=source.pk).hmac_secret == "keep-me"
    admin_client.post(f"/admin/alerts/alertsource/{source.pk}/change/", {**form, "clear_hmac_secret": "on"})
    assert AlertSource.objects.get(pk=source.pk).hmac_secret == ""


@pytest.mark.parametrize("form_path, secret_field, base", [
    ("enrichment.admin.ProviderConfigForm", "api_key",
     {"provider": "abuseipdb", "enabled": "on", "timeout_seconds": 10, "rate_limit_per_minute": 60,
      "cache_ttl_seconds": 3600, "max_retries": 2, "options": "{}", "base_url": "https://api.example.test"}),
    ("playbooks.admin.ConnectorForm", "secret",
     {"name": "edr", "kind": "edr", "enabled": "on", "base_url": "https://edr.example.test", "username": "",
      "timeout_seconds": 10, "options": "{}"}),
])
def test_write_only_secrets_keep_or_clear(form_path, secret_field, base):
    import importlib

    module, name = form_path.rsplit(".", 1)
    form_class = getattr(importlib.import_module(module), name)
    created = form_class(data={**base, secret_field: "s3cret-value"})
    assert created.is_valid(), created.errors
    instance = created.save()
    assert "s3cret-value" not in str(form_class(instance=instance)[secret_field])  # never rendered back
    kept = form_class(data={**base, secret_field: ""}, instance=instance)
    assert kept.is_valid(), kept.errors
    assert getattr(kept.save(), secret_field) == "s3cret-value"
    replaced = form_class(data={**base, secret_field: "new-value"}, instance=instance)
    assert replaced.is_valid() and getattr(replaced.save(), secret_field) == "new-value"
    cleared = form_class(data={**base, secret_field: "", f"clear_{secret_field}": "on"}, instance=instance)
    assert cleared.is_valid() and getattr(cleared.save(), secret_field) == ""
