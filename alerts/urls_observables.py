from django.urls import path

from alerts import views_observables

app_name = "observables"
urlpatterns = [
    path("<int:observable_id>/", views_observables.observable_detail, name="detail"),
    path("<int:observable_id>/cases/<int:case_id>/", views_observables.update_case_observable, name="update"),
    path("cases/<int:case_id>/add", views_observables.add_case_observable, name="add"),
]
