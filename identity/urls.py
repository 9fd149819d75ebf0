"""API routes of this app, mounted under /api/ by config/urls.py."""

app_name = "identity"

urlpatterns: list = []
