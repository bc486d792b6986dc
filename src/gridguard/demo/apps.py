from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "gridguard.demo"
    label = "demo"
    verbose_name = "Demo city"
