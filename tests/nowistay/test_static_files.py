"""Static files in production: content-hashed names and gzip copies built by `collectstatic` (as the
image does at build time), served by WhiteNoise with a long immutable cache; plain names until a
manifest exists (this test run) and with DEBUG on (`make run`)."""

import gzip
import re

import pytest
from django.contrib.staticfiles.storage import staticfiles_storage
from django.core.management import call_command
from django.test import Client

from tests.helpers.settings_probe import settings_values

YEAR_AND_MORE = 365 * 24 * 3600
PRODUCTION_STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "nowistay.storage.CompressedManifestStaticFilesStorage"},
}


def test_production_uses_the_compressed_manifest_storage_and_development_the_plain_one():
    assert settings_values(["STORAGES"], {"DEBUG": "false"})["STORAGES"] == PRODUCTION_STORAGES
    development = settings_values(["STORAGES"], {"DEBUG": "true"})["STORAGES"]["staticfiles"]["BACKEND"]
    assert development == "django.contrib.staticfiles.storage.StaticFilesStorage"


@pytest.fixture
def production_storage(settings, tmp_path):
    settings.STORAGES = PRODUCTION_STORAGES
    settings.STATIC_ROOT = tmp_path / "staticfiles"
    return settings


def test_without_a_manifest_files_keep_their_own_names(production_storage):
    assert staticfiles_storage.url("accounts/local-time.js") == "/static/accounts/local-time.js"


@pytest.fixture
def collected(production_storage):
    """`collectstatic` into a folder of the test's own, as the image's build runs it."""
    call_command("collectstatic", "--noinput", verbosity=0)
    return production_storage.STATIC_ROOT


def test_collectstatic_writes_hashed_names_and_gzip_copies(collected):
    hashed = staticfiles_storage.url("accounts/local-time.js")
    assert re.fullmatch(r"/static/accounts/local-time\.[0-9a-f]{12}\.js", hashed)
    name = hashed.removeprefix("/static/")
    original = (collected / "accounts" / "local-time.js").read_bytes()
    assert (collected / name).read_bytes() == original
    assert gzip.decompress((collected / f"{name}.gz").read_bytes()) == original


def test_pages_link_hashed_files_served_compressed_with_a_long_cache(collected):
    client = Client()  # a new handler: WhiteNoise indexes STATIC_ROOT when it starts
    page = client.get("/api/v1/docs/").content.decode()
    (bundle,) = re.findall(r'<script src="(/static/ninja/swagger-ui-bundle\.[0-9a-f]{12}\.js)"', page)

    response = client.get(bundle, HTTP_ACCEPT_ENCODING="gzip")
    assert response.status_code == 200
    assert response["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in response["Vary"]
    cache_control = response["Cache-Control"]
    assert "immutable" in cache_control and "public" in cache_control
    assert int(re.search(r"max-age=(\d+)", cache_control).group(1)) >= YEAR_AND_MORE
    name = bundle.removeprefix("/static/")
    # Consumed to the end: the test client then closes the file WhiteNoise opened.
    assert gzip.decompress(b"".join(response.streaming_content)) == (collected / name).read_bytes()
