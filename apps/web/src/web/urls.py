from django.urls import path

from web import account, views

urlpatterns = [
    path("", views.home, name="home"),
    path("logout", views.logout, name="logout"),
    path("healthz", views.healthz, name="healthz"),
    path("account", account.account, name="account"),
    path("account/password", account.change_password, name="change-password"),
    path("account/sessions/revoke-others", account.revoke_others, name="revoke-others"),
    path("account/sessions/<str:session_id>/revoke", account.revoke_session,
         name="revoke-session"),
]

handler400 = "web.errors.bad_request"
handler403 = "web.errors.permission_denied"
handler404 = "web.errors.not_found"
handler500 = "web.errors.server_error"
