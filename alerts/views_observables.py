"""The observable page (every visible case and alert holding an observable) and the forms of
the case page that set what a case says about one of its observables and add one by hand. Reads start from
``alerts.observable_intel`` (404 beyond what the user may see); the write goes through
``alerts.observable_services``, whose refusals the middleware turns into a flash message."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from alerts import observable_intel, observable_services
from alerts.models import CaseObservable
from cases import selectors as case_selectors


@require_GET
@login_required
def observable_detail(request, observable_id: int):
    observable = observable_intel.get_visible_observable(request.user, observable_id)
    return render(request, "alerts/observable.html", {
        "observable": observable,
        "cases": observable_intel.observable_cases(request.user, observable),
        "alerts": list(observable_intel.observable_alerts(request.user, observable)),
    })


@require_POST
@login_required
def update_case_observable(request, observable_id: int, case_id: int):
    case = case_selectors.get_visible_case(request.user, case_id)
    data = request.POST
    observable_services.update_case_observable(
        case, observable_id, actor=request.user,
        ioc=data.get("ioc") == "on", sighted=data.get("sighted") == "on",
        tlp=data.get("tlp") or CaseObservable.Tlp.AMBER, tags=data.get("tags", ""),
        description=data.get("description", ""),
    )
    messages.success(request, "Observable updated.")
    return redirect(reverse("cases:detail", args=[case.pk]) + f"#observable-{observable_id}")


@require_POST
@login_required
def add_case_observable(request, case_id: int):
    """An observable added by hand: any active type (admin-defined ones too), checked by its regex."""
    case = case_selectors.get_visible_case(request.user, case_id)
    observable = observable_services.add_case_observable(case, request.POST.get("type", ""),
                                                         request.POST.get("value", ""), actor=request.user)
    messages.success(request, f"Observable {observable.type} {observable.value[:120]} added.")
    return redirect(reverse("cases:detail", args=[case.pk]) + f"#observable-{observable.pk}")
