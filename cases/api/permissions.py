from rest_framework import exceptions
from rest_framework.permissions import SAFE_METHODS, BasePermission

from cases import roles
from cases.services import InvalidInput, InvalidTransition, NotAllowed


class ReadOnlyForAuditors(BasePermission):
    message = "Auditors have read-only access."

    def has_permission(self, request, view):
        return request.method in SAFE_METHODS or not roles.is_auditor(request.user)


class CanReadAuditLog(BasePermission):
    message = "Only SOC leads, auditors and admins can read the audit log."

    def has_permission(self, request, view):
        return roles.can_read_audit_log(request.user)


class Conflict(exceptions.APIException):
    status_code = 409
    default_detail = "This change conflicts with the current state."
    default_code = "conflict"


class CaseErrorsMixin:
    """Maps the cases services' refusals to HTTP: lifecycle 409, role 403, input 400."""

    def handle_exception(self, exc):
        if isinstance(exc, InvalidTransition):
            exc = Conflict(str(exc))
        elif isinstance(exc, NotAllowed):
            exc = exceptions.PermissionDenied(str(exc))
        elif isinstance(exc, InvalidInput):
            exc = exceptions.ValidationError({exc.field: [str(exc)]})
        return super().handle_exception(exc)
