from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import transaction

from nowistay.crypto import EncryptedTextField


class Command(BaseCommand):
    help = "Re-encrypt every encrypted value with the newest key in FIELD_ENCRYPTION_KEYS (safe while the product runs)."

    def handle(self, *args, **options):
        for model in apps.get_models():
            fields = [f.name for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)]
            if fields:
                self.stdout.write(f"{model._meta.label}: {self._rotate(model, fields)} rows re-encrypted")

    @staticmethod
    def _rotate(model, fields: list[str]) -> int:
        count = 0
        for pk in model._default_manager.values_list("pk", flat=True).iterator(chunk_size=500):
            with transaction.atomic():
                # Read under the row lock, then write: a token refresh or a PIN written by a worker
                # meanwhile is never overwritten with an older value.
                obj = model._default_manager.select_for_update().only("pk", *fields).filter(pk=pk).first()
                if obj is None:  # deleted meanwhile
                    continue
                # Loading decrypted with any key; saving encrypts with the newest.
                model._default_manager.filter(pk=pk).update(**{f: getattr(obj, f) for f in fields})
            count += 1
        return count
