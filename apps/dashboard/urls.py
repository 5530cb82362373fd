"""Dashboard routes, mounted at the site root."""

from django.urls import path

from apps.dashboard import views

app_name = "dashboard"

urlpatterns = [
    path("", views.index, name="index"),
    path("teams/<slug:slug>/", views.team_detail, name="team"),
    path("teams/<slug:slug>/prs/", views.pr_list, name="pr_list"),
    path("sync/", views.sync_status, name="sync_status"),
]
