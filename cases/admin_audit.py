"""Every change made in the Django admin lands in the audit log, whatever the model: the admin
writes a LogEntry for each add/change/delete, and this receiver copies it (with request id and
client address) into the append-only AuditLog."""

from django.contrib.admin.models import ADDITION, CHANGE, DELETION, LogEntry
from django.db.models.signals import post_save

from cases.models import AuditLog
from soar.middleware import current_request_context

ACTIONS = {ADDITION: "admin.add", CHANGE: "admin.change", DELETION: "admin.delete"}


def copy_admin_log_entry(sender, instance: LogEntry, created: bool, **kwargs):
    if not created:
        return
    ctx = current_request_context()
    content_type = instance.content_type
    AuditLog.objects.create(
        actor_id=instance.user_id,
        actor_label=getattr(instance.user, "username", ""),
        action=ACTIONS.get(instance.action_flag, "admin.other"),
        object_type=f"{content_type.app_label}.{content_type.model}" if content_type else "",
        object_id=str(instance.object_id or "")[:64],
        object_repr=(instance.object_repr or "")[:255],
        after={"change": instance.get_change_message()},
        request_id=ctx.get("request_id", ""),
        client_ip=ctx.get("client_ip"),
    )


def connect():
    post_save.connect(copy_admin_log_entry, sender=LogEntry, dispatch_uid="cases.admin_audit")
