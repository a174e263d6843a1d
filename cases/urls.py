from django.urls import path

from cases import views, views_audit, views_auth, views_queue, views_tasks, views_theme, views_tokens
from cases.views_custom_fields import update_custom_fields  # custom fields (issue 18)
from cases.views_techniques import add_technique, remove_technique  # issue 18: ATT&CK

app_name = "cases"
urlpatterns = [
    path("", views_queue.queue, name="queue"),
    path("views/save", views_queue.save_view, name="save_view"),
    path("views/<int:pk>/delete", views_queue.delete_view, name="delete_view"),
    path("me/", views_queue.preferences_page, name="preferences"),
    path("cases/bulk", views.bulk, name="bulk"),
    path("cases/<int:pk>/", views.detail, name="detail"),
    path("cases/<int:pk>/transition", views.transition, name="transition"),
    path("cases/<int:pk>/resolve", views.resolve, name="resolve"),
    path("cases/<int:pk>/notes/<int:note_id>/edit", views.edit_note, name="edit_note"),
    path("cases/<int:pk>/assign", views.assign, name="assign"),
    path("cases/<int:pk>/tags", views.tags, name="tags"),
    path("cases/<int:pk>/notes", views.note, name="note"),
    path("cases/<int:pk>/share", views.share, name="share"),
    path("cases/<int:pk>/update", views.update, name="update"),
    path("cases/<int:pk>/merge", views.merge, name="merge"),
    path("cases/new", views_tasks.new_case, name="new_case"),
    path("cases/<int:pk>/tasks", views_tasks.add_task, name="add_task"),
    path("cases/<int:pk>/tasks/<int:task_id>", views_tasks.change_task, name="change_task"),
    path("tasks/", views_tasks.my_tasks, name="my_tasks"),
    path("theme", views_theme.theme, name="theme"),
    path("audit/", views_audit.audit_log, name="audit"),
    path("me/tokens/", views_tokens.tokens, name="tokens"),
    path("me/tokens/<int:pk>/revoke", views_tokens.revoke_token, name="revoke-token"),
    path("me/totp/", views_auth.totp_setup, name="totp"),
    path("login/otp/", views_auth.otp_step, name="otp"),
    path("oidc/authenticate/", views_auth.oidc_authenticate, name="oidc-login"),
    path("oidc/callback/", views_auth.oidc_callback, name="oidc-callback"),
    # issue 18: MITRE ATT&CK techniques on a case
    path("cases/<int:pk>/techniques/add", add_technique, name="add_technique"),
    path("cases/<int:pk>/techniques/remove", remove_technique, name="remove_technique"),
    # --- custom fields (issue 18) ---
    path("cases/<int:pk>/fields", update_custom_fields, name="custom_fields"),
]
