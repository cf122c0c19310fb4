from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import transaction

from nowistay.crypto import EncryptedTextField


class Command(BaseCommand):
    help = "Re-encrypt every encrypted value with the newest key in FIELD_ENCRYPTION_KEYS."

    def handle(self, *args, **options):
        for model in apps.get_models():
            fields = [f.name for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)]
            if fields:
                self.stdout.write(f"{model._meta.label}: {self._rotate(model, fields)} rows re-encrypted")

    @staticmethod
    def _rotate(model, fields: list[str]) -> int:
        count = 0
        for obj in model._default_manager.only("pk", *fields).iterator(chunk_size=500):
            # Loading decrypts with any key; saving encrypts with the newest.
            with transaction.atomic():
                model._default_manager.filter(pk=obj.pk).update(**{f: getattr(obj, f) for f in fields})
            count += 1
        return count
