from django.apps import AppConfig


class ProjectConfig(AppConfig):
    """Project-wide operations (the `demo` command); no models."""

    name = "config"
    label = "project"
    verbose_name = "Project"
