"""Residents' pages of participatory processes, mounted at the site root by config/urls.py."""

from django.urls import path

from participation import views

app_name = "participation"

urlpatterns = [
    path("p/", views.process_list, name="list"),
    path("p/<slug:slug>/", views.process_page, name="process"),
    path("p/<slug:slug>/login", views.login_page, name="login"),
    path("p/<slug:slug>/login/code", views.login_code_page, name="login-code"),
    path("p/<slug:slug>/logout", views.logout_view, name="logout"),
    path("p/<slug:slug>/proposals/", views.proposal_list, name="proposals"),
    path("p/<slug:slug>/proposals/new", views.proposal_new, name="proposal-new"),
    path("p/<slug:slug>/proposals/<int:number>/", views.proposal_page, name="proposal"),
    path("p/<slug:slug>/proposals/<int:number>/edit", views.proposal_edit, name="proposal-edit"),
    path("p/<slug:slug>/proposals/<int:number>/support", views.support_view, name="support"),
    path(
        "p/<slug:slug>/proposals/<int:number>/support/withdraw",
        views.support_withdraw_view,
        name="support-withdraw",
    ),
    path("p/<slug:slug>/proposals/<int:number>/comments", views.comment_view, name="comment"),
    path(
        "p/<slug:slug>/proposals/<int:number>/comments/<int:comment_id>/flag",
        views.comment_flag_view,
        name="comment-flag",
    ),
    path("p/<slug:slug>/proposals/<int:number>/images", views.image_add_view, name="image-add"),
    path(
        "p/<slug:slug>/proposals/<int:number>/images/<int:image_id>/remove",
        views.image_remove_view,
        name="image-remove",
    ),
    path("p/<slug:slug>/images/<str:digest>", views.image_view, name="image"),
    path("p/<slug:slug>/record", views.record_page, name="record"),
    path("p/<slug:slug>/record.jsonl", views.record_export, name="record-export"),
]
