"""Dashboard routes, mounted at the site root."""

from django.urls import path

from apps.dashboard import views, views_lead

app_name = "dashboard"

urlpatterns = [
    path("", views.index, name="index"),
    path("teams/<slug:slug>/", views.team_detail, name="team"),
    path("teams/<slug:slug>/prs/", views.pr_list, name="pr_list"),
    path("sync/", views.sync_status, name="sync_status"),
    path("teams/<slug:slug>/stages/", views_lead.stages, name="stages"),
    path("teams/<slug:slug>/attention/", views_lead.attention, name="attention"),
    path("teams/<slug:slug>/people/", views_lead.people, name="people"),
    path("teams/<slug:slug>/people/<str:login>/", views_lead.person, name="person"),
    path("teams/<slug:slug>/repos/", views_lead.repositories, name="repos"),
    path("teams/<slug:slug>/labels/", views_lead.labels, name="labels"),
    path("teams/<slug:slug>/ci/", views_lead.ci, name="ci"),
]
