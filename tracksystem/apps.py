from django.apps import AppConfig


class TracksystemConfig(AppConfig):
    name = "tracksystem"
    verbose_name = "Track Management System"

    def ready(self):
        from tracksystem import request_timing  # noqa: F401 connects the receivers
