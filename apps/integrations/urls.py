"""Routes of the integrations app: GitHub's webhook deliveries."""

from django.urls import path

from apps.integrations.webhooks import github_webhook

app_name = "integrations"

urlpatterns = [
    path("webhooks/github/", github_webhook, name="github-webhook"),
]
