"""Static files storage for production (settings.STORAGES with DEBUG off)."""

from whitenoise.storage import CompressedManifestStaticFilesStorage as WhiteNoiseManifestStorage


class CompressedManifestStaticFilesStorage(WhiteNoiseManifestStorage):
    """WhiteNoise's storage: `collectstatic` writes each file under a content-hashed name with a
    gzip copy and records the names in a manifest; WhiteNoise serves the hashed names with a
    year-long immutable cache.

    Until a manifest exists (a test run, which has DEBUG off too, or a checkout where
    `collectstatic` never ran) each file keeps its own name, as with Django's plain storage,
    instead of every page failing on "Missing staticfiles manifest entry". Once it exists, a name
    it lacks is an error, as in Django's own manifest storage."""

    def stored_name(self, name: str) -> str:
        if not self.hashed_files:
            return name
        return super().stored_name(name)
