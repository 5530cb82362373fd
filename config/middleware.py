"""Request guards that apply to every page."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest


class RejectNulMiddleware:
    """400 for a URL holding a NUL character (raw or as %00).

    No page has a use for one, and PostgreSQL refuses NUL in any text parameter: a view that
    filters by a query parameter (`/sync/?team=%00`) would otherwise fail with a 500.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        query = request.META.get("QUERY_STRING", "")
        if "\x00" in request.path or "\x00" in query or "%00" in query:
            return HttpResponseBadRequest("NUL characters are not allowed in a URL.")
        return self.get_response(request)
