import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.factories import UserFactory

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def citizen(db):
    return UserFactory(citizen=True, real_name="王小明")


@pytest.fixture
def other_citizen(db):
    return UserFactory(citizen=True)


@pytest.fixture
def enterprise(db):
    return UserFactory(enterprise=True)


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def upload(name="doc.pdf", content=PDF):
    return SimpleUploadedFile(name, content, content_type="application/pdf")
