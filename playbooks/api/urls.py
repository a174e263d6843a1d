from django.urls import path

from playbooks.api import views

urlpatterns = [
    path("playbooks", views.PlaybookListView.as_view(), name="api-playbooks"),
    path("playbooks/validate", views.ValidateView.as_view(), name="api-playbooks-validate"),
    path("playbooks/<int:pk>", views.PlaybookDetailView.as_view(), name="api-playbook-detail"),
    path("playbooks/<int:pk>/versions", views.PlaybookVersionsView.as_view(), name="api-playbook-versions"),
    path("playbooks/<int:pk>/run", views.RunPlaybookView.as_view(), name="api-playbook-run"),
    path("cases/<int:case_id>/playbooks/run", views.RunOnCaseView.as_view(), name="api-case-playbook-run"),
    path("playbook-runs", views.RunListView.as_view(), name="api-playbook-runs"),
    path("playbook-runs/<int:pk>", views.RunDetailView.as_view(), name="api-playbook-run-detail"),
    path("approvals", views.ApprovalListView.as_view(), name="api-approvals"),
    path("approvals/<int:pk>", views.ApprovalDetailView.as_view(), name="api-approval-detail"),
    path("approvals/<int:pk>/approve", views.ApprovalDecisionView.as_view(approve=True), name="api-approval-approve"),
    path("approvals/<int:pk>/deny", views.ApprovalDecisionView.as_view(approve=False), name="api-approval-deny"),
]
