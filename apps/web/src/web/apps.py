from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "web"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from auth_utils.ops.event_log import log_events_to_stderr

        # After Django has applied LOGGING: a handler given to `auth.events` (or the root
        # logger) there is kept; otherwise the JSON lines go to stderr.
        log_events_to_stderr()
