from django.urls import path

from web import views

urlpatterns = [
    path("", views.home, name="home"),
    path("logout", views.logout, name="logout"),
    path("healthz", views.healthz, name="healthz"),
]

handler400 = "web.errors.bad_request"
handler403 = "web.errors.permission_denied"
handler404 = "web.errors.not_found"
handler500 = "web.errors.server_error"
