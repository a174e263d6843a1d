"""Admin helpers shared by the apps."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import Model
from django.http import HttpRequest


class HideSecretsMixin(admin.ModelAdmin):
    """Staff with view-only access (auditors, leads) see that a secret is set, never its value:
    Django renders read-only fields from the model, bypassing the masked form widgets."""

    secret_fields: tuple[str, ...] = ()

    def get_fields(self, request: HttpRequest, obj: Model | None = None) -> Any:
        fields = list(super().get_fields(request, obj))
        if self.has_change_permission(request, obj):
            return fields
        return [name for name in fields if name not in self.secret_fields]

    def get_fieldsets(self, request: HttpRequest, obj: Model | None = None) -> Any:
        fieldsets = super().get_fieldsets(request, obj)
        if self.has_change_permission(request, obj):
            return fieldsets
        return [(title, {**options, "fields": [f for f in options["fields"] if f not in self.secret_fields]})
                for title, options in fieldsets]


class WriteOnlySecretFormMixin(forms.ModelForm):
    """A secret the admin never renders back: its form field (a PasswordInput without the value)
    left blank keeps the stored secret, and the ``clear_<field>`` checkbox removes it."""

    secret_field = ""

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        name = self.secret_field
        if cleaned.get(f"clear_{name}"):
            cleaned[name] = ""
        elif not cleaned.get(name) and self.instance.pk:
            # clean() runs before the form's values are copied onto the instance.
            cleaned[name] = getattr(self.instance, name)
        return cleaned
