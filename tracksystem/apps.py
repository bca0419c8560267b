from django.apps import AppConfig


class TracksystemConfig(AppConfig):
    name = "tracksystem"
    verbose_name = "Track Management System"
