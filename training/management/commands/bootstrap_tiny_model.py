"""`python manage.py bootstrap_tiny_model`: build the tiny base model under DATA_DIR/models/tiny."""

from django.core.management.base import BaseCommand

from training.services import storage


class Command(BaseCommand):
    help = "Build the tiny offline base model (a few seconds on CPU) unless it already exists."

    def handle(self, *args, **opts):
        path = storage.tiny_model_ensure()
        self.stdout.write(f"Tiny base model: {path}")
