"""HTML pages: an election's public pages and booth (the officials' dashboard: operations/).

Mounted at the site root by config/urls.py.
"""

from django.urls import path

from voting import views

app_name = "pages"

urlpatterns = [
    path("e/<slug:slug>/", views.election_page, name="election"),
    path("e/<slug:slug>/vote", views.booth_page, name="booth"),
    path("e/<slug:slug>/check", views.check_page, name="check"),
    path("e/<slug:slug>/board", views.board_page, name="board"),
    path("e/<slug:slug>/board/<int:seq>", views.board_entry_page, name="board-entry"),
    path("e/<slug:slug>/results", views.results_page, name="results"),
    path("e/<slug:slug>/manifest.json", views.manifest_download, name="manifest"),
]
