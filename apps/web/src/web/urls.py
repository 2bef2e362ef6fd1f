from django.urls import path

from web import account, security, views

urlpatterns = [
    path("", views.home, name="home"),
    path("logout", views.logout, name="logout"),
    path("healthz", views.healthz, name="healthz"),
    path("metrics", views.metrics, name="metrics"),
    path("robots.txt", views.robots, name="robots"),
    path("favicon.ico", views.static_file, name="favicon"),
    path("static/<path:name>", views.static_file, name="static"),
    path("account", account.account, name="account"),
    path("account/password", account.change_password, name="change-password"),
    path("account/email", account.email_add, name="email-add"),
    path("account/email/remove", account.email_remove, name="email-remove"),
    path("account/delete", account.delete_account, name="delete-account"),
    path("account/activity", account.activity, name="activity"),
    path("account/security", security.security, name="security"),
    path("account/security/totp", security.totp_start, name="totp-start"),
    path("account/security/totp/confirm", security.totp_confirm, name="totp-confirm"),
    path("account/security/totp/cancel", security.totp_cancel, name="totp-cancel"),
    path("account/security/totp/disable", security.totp_disable, name="totp-disable"),
    path("account/security/recovery-codes", security.recovery_regenerate,
         name="recovery-regenerate"),
    path("account/security/recovery-codes.txt", security.recovery_download,
         name="recovery-download"),
    path("account/security/trusted/forget", security.trusted_forget, name="trusted-forget-all"),
    path("account/security/trusted/<str:browser_id>/forget", security.trusted_forget,
         name="trusted-forget"),
    path("account/confirm", security.confirm_identity, name="confirm-identity"),
    path("account/identities/<str:identity_id>/unlink", security.identity_unlink,
         name="identity-unlink"),
    path("account/confirm/passkey/options", security.confirm_with_passkey_options,
         name="confirm-passkey-options"),
    path("account/confirm/passkey", security.confirm_with_passkey, name="confirm-passkey"),
    path("account/passkeys/options", security.passkey_options, name="passkey-options"),
    path("account/passkeys", security.passkey_add, name="passkey-add"),
    path("account/passkeys/<str:credential_id>/rename", security.passkey_rename,
         name="passkey-rename"),
    path("account/passkeys/<str:credential_id>/remove", security.passkey_remove,
         name="passkey-remove"),
    path("account/apps/<str:client_id>/revoke", account.revoke_app, name="revoke-app"),
    path("account/sessions/revoke-others", account.revoke_others, name="revoke-others"),
    path("account/sessions/<str:session_id>/revoke", account.revoke_session,
         name="revoke-session"),
]

handler400 = "web.errors.bad_request"
handler403 = "web.errors.permission_denied"
handler404 = "web.errors.not_found"
handler500 = "web.errors.server_error"
