"""Server-rendered pages of the voting app."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """Home page. Elections will be listed here once the voting models exist."""
    return render(request, "voting/home.html", {"elections": []})
