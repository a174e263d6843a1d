"""Admin helpers shared by the apps."""


class HideSecretsMixin:
    """Staff with view-only access (auditors, leads) see that a secret is set, never its value:
    Django renders read-only fields from the model, bypassing the masked form widgets."""

    secret_fields: tuple[str, ...] = ()

    def get_fields(self, request, obj=None):
        fields = list(super().get_fields(request, obj))
        if self.has_change_permission(request, obj):
            return fields
        return [name for name in fields if name not in self.secret_fields]

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if self.has_change_permission(request, obj):
            return fieldsets
        return [(title, {**options, "fields": [f for f in options["fields"] if f not in self.secret_fields]})
                for title, options in fieldsets]
