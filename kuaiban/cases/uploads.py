"""Uploaded materials: type by content, size limits, generated names outside the static root."""

import hashlib
import uuid
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.storage import FileSystemStorage
from django.utils import timezone
from django.utils.text import get_valid_filename
from django.utils.translation import gettext as _

from .models import StoredFile

# Accepted documents, recognised by their first bytes (never by the name the browser sends).
SIGNATURES = (
    (b"%PDF-", "application/pdf", ".pdf"),
    (b"\xff\xd8\xff", "image/jpeg", ".jpg"),
    (b"\x89PNG\r\n\x1a\n", "image/png", ".png"),
)


def storage() -> FileSystemStorage:
    # No base_url: these files are never served by the web server, only by the download view.
    return FileSystemStorage(location=Path(settings.MEDIA_ROOT) / "materials", base_url=None)


def max_files_per_applicant() -> int:
    return settings.KUAIBAN_UPLOADS_PER_APPLICATION * 10


def sniff(head: bytes) -> tuple[str, str] | None:
    for signature, content_type, extension in SIGNATURES:
        if head.startswith(signature):
            return content_type, extension
    return None


def store(*, owner, material, upload) -> StoredFile:
    """Check and keep one uploaded file; raises ValidationError with a message for the user."""
    if upload.size > settings.KUAIBAN_UPLOAD_MAX_BYTES:
        raise ValidationError(
            _("The file is larger than %(mb)d MB.")
            % {"mb": settings.KUAIBAN_UPLOAD_MAX_BYTES // (1024 * 1024)}
        )
    if upload.size == 0:
        raise ValidationError(_("The file is empty."))
    upload.seek(0)
    kind = sniff(upload.read(16))
    if kind is None:
        raise ValidationError(_("Only PDF, JPEG or PNG documents can be uploaded."))
    content_type, extension = kind
    digest = hashlib.sha256()
    upload.seek(0)
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    now = timezone.now()
    name = f"{now:%Y/%m}/{uuid.uuid4().hex}{extension}"
    saved_as = storage().save(name, upload)
    original = get_valid_filename(Path(upload.name or "file").name)[:200] or "file"
    return StoredFile.objects.create(
        owner=owner,
        material=material,
        storage_name=saved_as,
        original_name=original,
        content_type=content_type,
        size=upload.size,
        sha256=digest.hexdigest(),
        uploaded_at=now,
    )


def open_stored(stored: StoredFile):
    return storage().open(stored.storage_name, "rb")
