from rest_framework.permissions import SAFE_METHODS, BasePermission

from cases import roles


class ReadOnlyForAuditors(BasePermission):
    message = "Auditors have read-only access."

    def has_permission(self, request, view):
        return request.method in SAFE_METHODS or not roles.is_auditor(request.user)


class CanReadAuditLog(BasePermission):
    message = "Only SOC leads, auditors and admins can read the audit log."

    def has_permission(self, request, view):
        return roles.can_read_audit_log(request.user)
