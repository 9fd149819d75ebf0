"""Routes of the orchestration pages, mounted at the site root by config/urls.py before the admin,
so that the dashboard's route under /admin/ is found first (operations/dashboard.py says why)."""

from django.urls import path

from operations import dashboard, participation

app_name = "operations"

urlpatterns = [
    path(
        "admin/voting/election/<uuid:election_id>/dashboard/",
        dashboard.election_dashboard,
        name="dashboard",
    ),
    path(
        "admin/participation/process/<uuid:process_id>/elections/",
        participation.process_elections_page,
        name="process-elections",
    ),
]
