"""API routes of this app, mounted under /api/ by config/urls.py."""

from django.urls import path

from tally import api

app_name = "tally"

election = "elections/<uuid:election_id>"

urlpatterns = [
    path(
        f"{election}/trustees/<int:index>/messages/",
        api.TrusteeMessageApi.as_view(),
        name="trustee-messages",
    ),
    path(f"{election}/ceremony/", api.CeremonyStatusApi.as_view(), name="ceremony"),
    path(f"{election}/tally/", api.TallyStatusApi.as_view(), name="tally"),
]
