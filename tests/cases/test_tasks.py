"""Case tasks: services (timeline, audit, completion stamps, due times), the 409 on resolving
with required tasks open, the API and its access rules, the case page panel, the queue's
progress column (constant queries) and the "My tasks" page."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from cases import services, task_selectors
from cases import tasks as task_services
from cases.models import AuditLog, Case, CaseEvent, CaseTask
from cases.services_bulk import bulk_update_cases
from tests.factories import build_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def w():
    return build_world()


def api_patch(client, url, body):
    return client.patch(url, body, content_type="application/json")


# --- services -----------------------------------------------------------------------------------

def test_add_and_complete_a_task_writes_timeline_audit_and_stamps(w):
    before = timezone.now()
    task = task_services.add_task(w.blue_case, title="Collect headers", group="Triage", sla_minutes=30,
                                  assignee=w.mate, actor=w.analyst)
    assert task.position == 0 and task.status == "todo" and task.assignee == w.mate
    assert before + timedelta(minutes=30) <= task.due_at <= timezone.now() + timedelta(minutes=30)
    second = task_services.add_task(w.blue_case, title="Block sender", actor=w.analyst)
    assert second.position == 1 and second.due_at is None
    task = task_services.update_task(task, status="done", notes="all headers saved", actor=w.analyst)
    assert task.completed_by == w.analyst and task.completed_at is not None and task.notes == "all headers saved"
    event = CaseEvent.objects.filter(case=w.blue_case, kind="task").latest("id")
    assert "To do → Done" in event.message and event.data["task_id"] == task.pk
    audit = AuditLog.objects.filter(action="case.task.update", object_id=str(task.pk)).get()
    assert audit.before["status"] == "todo" and audit.after["status"] == "done" and audit.actor == w.analyst
    assert AuditLog.objects.filter(action="case.task.create").count() == 2
    task = task_services.update_task(task, status="in_progress", actor=w.analyst)
    assert task.completed_at is None and task.completed_by is None
    # No change, no entry.
    events = CaseEvent.objects.filter(case=w.blue_case).count()
    task_services.update_task(task, status="in_progress", actor=w.analyst)
    assert CaseEvent.objects.filter(case=w.blue_case).count() == events


def test_task_input_is_checked(w):
    with pytest.raises(services.InvalidInput, match="title"):
        task_services.add_task(w.blue_case, title="  ", actor=w.analyst)
    with pytest.raises(services.InvalidInput, match="SLA"):
        task_services.add_task(w.blue_case, title="x", sla_minutes="soon", actor=w.analyst)
    with pytest.raises(services.InvalidInput, match="not a member"):
        task_services.add_task(w.blue_case, title="x", assignee=w.red_analyst, actor=w.analyst)
    task = task_services.add_task(w.blue_case, title="x", actor=w.analyst)
    with pytest.raises(services.InvalidInput, match="Unknown status"):
        task_services.update_task(task, status="finished", actor=w.analyst)
    with pytest.raises(services.InvalidInput, match="Not editable"):
        task_services.update_task(task, case=w.red_case, actor=w.analyst)


def test_only_those_who_may_change_the_case_change_its_tasks(w):
    task = task_services.add_task(w.blue_case, title="x", actor=w.analyst)
    for outsider in (w.red_analyst, w.auditor):
        with pytest.raises(services.NotAllowed):
            task_services.add_task(w.blue_case, title="y", actor=outsider)
        with pytest.raises(services.NotAllowed):
            task_services.update_task(task, status="done", actor=outsider)
    assert CaseTask.objects.filter(case=w.blue_case).count() == 1


def test_resolving_with_required_tasks_open_is_refused_with_the_list(w, client):
    required = task_services.add_task(w.blue_case, title="Reset the password", required=True, actor=w.analyst)
    task_services.add_task(w.blue_case, title="Optional extra", actor=w.analyst)
    with pytest.raises(services.InvalidTransition, match="Reset the password") as refused:
        services.resolve_case(w.blue_case, resolution="true-positive", summary="done", actor=w.analyst)
    assert refused.value.errors["missing_tasks"] == [
        {"id": required.pk, "title": "Reset the password", "status": "todo"}]
    client.force_login(w.analyst)
    response = client.post(f"/api/v1/cases/{w.blue_case.pk}/resolve",
                           {"resolution": "true-positive", "summary": "done"}, content_type="application/json")
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "required_tasks_open" and body["missing_tasks"][0]["id"] == required.pk
    # The bulk resolve skips the case with the same reason; the page flashes it.
    results = bulk_update_cases(w.analyst, [w.blue_case.pk], "resolve", resolution="true-positive", summary="x")
    assert "Reset the password" in results[w.blue_case.pk]
    page = client.post(f"/cases/{w.blue_case.pk}/resolve", {"resolution": "true-positive", "summary": "x"},
                       HTTP_REFERER=f"/cases/{w.blue_case.pk}/", follow=True)
    assert "required task" in page.content.decode()
    assert Case.objects.get(pk=w.blue_case.pk).status == "NEW"
    # A cancelled required task still blocks; done (or no longer required) lets it through.
    task_services.update_task(required, status="cancelled", actor=w.analyst)
    with pytest.raises(services.InvalidTransition):
        services.resolve_case(w.blue_case, resolution="true-positive", summary="done", actor=w.analyst)
    task_services.update_task(required, status="done", actor=w.analyst)
    case = services.resolve_case(w.blue_case, resolution="true-positive", summary="done", actor=w.analyst)
    assert case.status == "RESOLVED"


def test_a_sender_resolving_every_alert_stops_short_of_resolved_while_required_tasks_are_open(w):
    task_services.add_task(w.blue_case, title="Image the laptop", required=True, actor=w.analyst)
    case = services.record_alerts_resolved(w.blue_case.pk, alert_count=1, resolve=True)
    assert case.status == "IN_PROGRESS"


# --- API ----------------------------------------------------------------------------------------

def test_api_list_create_patch_and_access_rules(client, w):
    url = f"/api/v1/cases/{w.blue_case.pk}/tasks"
    client.force_login(w.analyst)
    created = client.post(url, {"title": "Pull EDR timeline", "required": True, "sla_minutes": 60,
                                "assignee": "mate", "group": "Scoping"}, content_type="application/json")
    assert created.status_code == 201, created.content
    task = created.json()
    assert task["assignee"] == "mate" and task["required"] and task["due_at"] and task["status"] == "todo"
    assert client.post(url, {"title": ""}, content_type="application/json").status_code == 400
    bad_user = client.post(url, {"title": "x", "assignee": "nobody"}, content_type="application/json")
    assert bad_user.status_code == 400 and "assignee" in bad_user.json()
    assert [t["id"] for t in client.get(url).json()] == [task["id"]]
    patched = api_patch(client, f"/api/v1/tasks/{task['id']}", {"status": "done", "notes": "timeline saved"})
    assert patched.status_code == 200 and patched.json()["completed_by"] == "analyst"
    assert api_patch(client, f"/api/v1/tasks/{task['id']}", {"status": "nope"}).status_code == 400
    # Auditors read, never write.
    client.force_login(w.auditor)
    assert client.get(url).status_code == 200 and client.get(f"/api/v1/tasks/{task['id']}").status_code == 200
    assert client.post(url, {"title": "x"}, content_type="application/json").status_code == 403
    assert api_patch(client, f"/api/v1/tasks/{task['id']}", {"status": "todo"}).status_code == 403
    # Another team: 404 everywhere, and not listed.
    client.force_login(w.red_analyst)
    assert client.get(url).status_code == 404
    assert client.post(url, {"title": "x"}, content_type="application/json").status_code == 404
    assert client.get(f"/api/v1/tasks/{task['id']}").status_code == 404
    assert api_patch(client, f"/api/v1/tasks/{task['id']}", {"status": "todo"}).status_code == 404
    assert client.get("/api/v1/tasks").json()["count"] == 0
    assert CaseTask.objects.get(pk=task["id"]).status == "done"


def test_api_mine_lists_my_open_tasks(client, w):
    mine = task_services.add_task(w.blue_case, title="mine", assignee=w.mate, actor=w.lead)
    task_services.add_task(w.blue_case, title="someone else's", assignee=w.analyst, actor=w.lead)
    done = task_services.add_task(w.blue_case, title="finished", assignee=w.mate, actor=w.lead)
    task_services.update_task(done, status="done", actor=w.mate)
    client.force_login(w.mate)
    assert [t["id"] for t in client.get("/api/v1/tasks?mine=1").json()["results"]] == [mine.pk]


# --- pages --------------------------------------------------------------------------------------

def test_case_page_panel_add_tick_assign_and_require(client, w):
    client.force_login(w.analyst)
    detail = f"/cases/{w.blue_case.pk}/"
    response = client.post(f"/cases/{w.blue_case.pk}/tasks", {"title": "Quarantine mail", "sla_minutes": "15",
                                                               "assignee": "me"})
    assert response.status_code == 302 and response.url.endswith("#tasks")
    task = CaseTask.objects.get(case=w.blue_case)
    assert task.assignee == w.analyst and task.due_at is not None
    page = client.get(detail).content.decode()
    assert 'id="tasks"' in page and "Quarantine mail" in page and "0/1" in page and 'class="age"' in page
    client.post(f"/cases/{w.blue_case.pk}/tasks/{task.pk}", {"status": "done"})
    client.post(f"/cases/{w.blue_case.pk}/tasks/{task.pk}", {"required": "1"})
    client.post(f"/cases/{w.blue_case.pk}/tasks/{task.pk}", {"assignee": str(w.mate.pk)})
    task.refresh_from_db()
    assert task.status == "done" and task.required and task.assignee == w.mate
    assert "1/1" in client.get(detail).content.decode()
    # Another team's analyst: 404; an auditor: no forms, and a POST is refused.
    client.force_login(w.red_analyst)
    assert client.post(f"/cases/{w.blue_case.pk}/tasks/{task.pk}", {"status": "todo"}).status_code == 404
    client.force_login(w.auditor)
    page = client.get(detail).content.decode()
    assert "Quarantine mail" in page and "data-task-step" not in page
    assert client.post(f"/cases/{w.blue_case.pk}/tasks/{task.pk}", {"status": "todo"}).status_code == 403
    task.refresh_from_db()
    assert task.status == "done"


def test_my_tasks_page_lists_my_open_tasks_on_visible_cases(client, w):
    overdue = task_services.add_task(w.blue_case, title="Overdue one", sla_minutes=5, assignee=w.mate, actor=w.lead)
    CaseTask.objects.filter(pk=overdue.pk).update(due_at=timezone.now() - timedelta(minutes=1))
    task_services.add_task(w.blue_case, title="Later one", assignee=w.mate, actor=w.lead)
    task_services.add_task(w.blue_case, title="Not mine", assignee=w.analyst, actor=w.lead)
    client.force_login(w.mate)
    page = client.get("/tasks/").content.decode()
    assert "Overdue one" in page and "Later one" in page and "Not mine" not in page and "overdue" in page
    assert page.index("Overdue one") < page.index("Later one")
    # Moved to a team the user is not in: the task is no longer listed.
    Case.objects.filter(pk=w.blue_case.pk).update(team=w.red)
    assert "Overdue one" not in client.get("/tasks/").content.decode()
    assert list(task_selectors.my_open_tasks(w.mate)) == []


def count_queries(client, url):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
        assert response.status_code == 200
    # Leave out the embedded connector scheduler's look-up: at most once a minute, whichever request.
    counted = [q for q in ctx.captured_queries if "connectors_pullconnector" not in q["sql"]]
    return len(counted), response.content.decode()


def test_queue_shows_task_progress_in_a_constant_number_of_queries(client, w):
    client.force_login(w.analyst)
    for n in range(3):
        task_services.add_task(w.blue_case, title=f"t{n}", actor=w.analyst)
    first = CaseTask.objects.filter(case=w.blue_case).first()
    task_services.update_task(first, status="done", actor=w.analyst)
    few, page = count_queries(client, "/")
    assert "1/3" in page
    for n in range(30):
        case = services.open_case(title=f"Case {n}", severity="low", team=w.blue)
        CaseTask.objects.bulk_create([CaseTask(case=case, title=f"x{i}", position=i) for i in range(4)])
    many, page = count_queries(client, "/")
    assert many == few and "0/4" in page
    response = client.get("/", HTTP_X_SOAR_LIVE="queue-rows")
    page = response.content.decode()
    assert "0/4" in page
