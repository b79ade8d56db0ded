from django.apps import AppConfig


class DevtoolsConfig(AppConfig):
    """Tools for development, the demo and the benchmarks (the history generator); installed by
    the dev and test settings only, never in production."""

    name = "devtools"
    verbose_name = "Development tools"
