"""URL routes: admin, login, and the apps' pages."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("", include("apps.integrations.urls")),
    path("", include("apps.dashboard.urls")),
]
