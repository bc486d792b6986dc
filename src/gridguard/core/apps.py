from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "gridguard.core"
    label = "core"
    verbose_name = "GridGuard core"
