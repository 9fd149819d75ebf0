"""API routes of this app, mounted under /api/ by config/urls.py."""

from django.urls import path

from identity.api import LoginRequestApi, LoginVerifyApi, LogoutApi, MeApi

app_name = "identity"

urlpatterns = [
    path("elections/<uuid:election_id>/login/", LoginRequestApi.as_view(), name="login"),
    path(
        "elections/<uuid:election_id>/login/verify/", LoginVerifyApi.as_view(), name="login-verify"
    ),
    path("elections/<uuid:election_id>/logout/", LogoutApi.as_view(), name="logout"),
    path("elections/<uuid:election_id>/me/", MeApi.as_view(), name="me"),
]
