"""Uploaded materials: type by content, size limits enforced while they stream in, generated
names outside the static root, encrypted at rest (kuaiban/accounts/crypto.py: sealed files)."""

import hashlib
import logging
import os
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import File
from django.core.files.storage import FileSystemStorage
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.db import transaction
from django.utils import timezone
from django.utils.text import get_valid_filename
from django.utils.translation import gettext as _

from kuaiban.accounts import crypto

from .models import ApplicationMaterial, StoredFile

logger = logging.getLogger(__name__)

# Accepted documents, recognised by their first bytes (never by the name the browser sends).
SIGNATURES = (
    (b"%PDF-", "application/pdf", ".pdf"),
    (b"\xff\xd8\xff", "image/jpeg", ".jpg"),
    (b"\x89PNG\r\n\x1a\n", "image/png", ".png"),
)


def accepted_types() -> list[str]:
    """The accepted documents' names for people ("PDF", "JPEG", "PNG")."""
    return [content_type.split("/")[1].upper() for _sig, content_type, _ext in SIGNATURES]


def accept_attribute() -> str:
    """A file input's `accept`: the accepted types, so the picker offers only them."""
    return ",".join(dict.fromkeys(content_type for _sig, content_type, _ext in SIGNATURES))


def storage() -> FileSystemStorage:
    # No base_url: these files are never served by the web server, only by the download view.
    return FileSystemStorage(location=Path(settings.MEDIA_ROOT) / "materials", base_url=None)


def megabytes(size: int) -> int:
    return size // (1024 * 1024)


# Where the upload handler leaves its refusal on the request, for the view to show.
REFUSAL = "kuaiban_upload_refused"


class LimitedUploadHandler(FileUploadHandler):
    """Enforces the upload limits while the body streams in, before anything is kept.

    Installed first in FILE_UPLOAD_HANDLERS, so it sees every chunk before the memory and
    temporary-file handlers. A file growing past KUAIBAN_UPLOAD_MAX_BYTES stops the parser at
    that chunk (StopUpload with connection_reset: the rest of the body is never read), and a
    request whose Content-Length already exceeds KUAIBAN_UPLOAD_MAX_REQUEST_BYTES is stopped at
    its first file, before any file byte is read. The fields before the stop (the CSRF token,
    what was typed above the file inputs) are kept; the view asks `refusal(request)` and shows
    the message on the same page instead of acting on a partial request.
    """

    def __init__(self, request=None):
        super().__init__(request)
        self.over_total = False
        self.file_bytes = 0  # of the file being received
        self.total_bytes = 0  # of every file of the request

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        self.over_total = content_length > settings.KUAIBAN_UPLOAD_MAX_REQUEST_BYTES
        return None  # the ordinary parser reads the body

    def new_file(self, field_name, file_name, *args, **kwargs):
        super().new_file(field_name, file_name, *args, **kwargs)
        self.file_bytes = 0
        if self.over_total:
            self._refuse(
                _(
                    "The files sent together are larger than %(mb)d MB; please send fewer or "
                    "smaller files at a time."
                )
                % {"mb": megabytes(settings.KUAIBAN_UPLOAD_MAX_REQUEST_BYTES)}
            )

    def receive_data_chunk(self, raw_data, start):
        self.file_bytes += len(raw_data)
        self.total_bytes += len(raw_data)
        if self.file_bytes > settings.KUAIBAN_UPLOAD_MAX_BYTES:
            self._refuse(too_large_message(self.file_name))
        return raw_data

    def file_complete(self, file_size):
        return None  # the next handler keeps the file

    def _refuse(self, message: str):
        if self.request is not None:
            setattr(self.request, REFUSAL, message)
        raise StopUpload(connection_reset=True)


def too_large_message(file_name: str | None) -> str:
    return _(
        "The file “%(name)s” is larger than %(mb)d MB; please upload a smaller scan "
        "(PDF, JPEG or PNG)."
    ) % {
        "name": Path(file_name or "file").name,
        "mb": megabytes(settings.KUAIBAN_UPLOAD_MAX_BYTES),
    }


def refusal(request) -> str | None:
    """Why the upload handler stopped this request's body (None when it did not)."""
    request.POST  # noqa: B018 - the body is parsed (once) on first access
    return getattr(request, REFUSAL, None)


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
        # The upload handler stops such a file while it streams; this guards other callers.
        raise ValidationError(too_large_message(upload.name))
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
    saved_as = storage().save(name, SealingFile(upload))
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


class SealingFile(File):
    """An upload as the storage writes it: its encrypted form, streamed a chunk at a time."""

    def __init__(self, upload):
        super().__init__(upload, name=upload.name)
        self.upload = upload

    def chunks(self, chunk_size=None):
        self.upload.seek(0)
        return crypto.seal_chunks(self.upload.chunks())


def open_stored(stored: StoredFile):
    """The document's clear text as a file to stream (the download view calls this, after it
    decided the user may see the file; the pre-check's reading of uploads, in a task). A file
    written before encryption was introduced and not yet converted by `encrypt_uploads` is read
    as it is."""
    raw = storage().open(stored.storage_name, "rb")
    head = raw.read(len(crypto.SEALED_MAGIC))
    raw.seek(0)
    if not crypto.is_sealed(head):
        return raw
    return crypto.SealedReader(raw)  # type: ignore[arg-type]


def seal_in_place(path: Path, *, rotate: bool = False) -> bool:
    """Encrypt one stored document where it lies (written beside it, then renamed over it, so
    an interruption leaves either the old or the new file). False when it is already sealed
    (with `rotate`: sealed under the current key); a file sealed under an older key is then
    opened and sealed again under the first KUAIBAN_DATA_KEY's file key."""
    with path.open("rb") as stored:
        head = stored.read(len(crypto.SEALED_MAGIC) + 4)
        stored.seek(0)
        if crypto.is_sealed(head):
            if not rotate or crypto.sealed_key_id(head) == crypto.current_file_key_id():
                return False
            source: BinaryIO = crypto.SealedReader(stored)  # type: ignore[assignment]
        else:
            source = stored
        partial = path.with_name(f".{path.name}.sealing")
        with partial.open("wb") as sealed:
            for piece in crypto.seal_chunks(iter(lambda: source.read(crypto.SEALED_CHUNK), b"")):
                sealed.write(piece)
            sealed.flush()
            os.fsync(sealed.fileno())
    os.replace(partial, path)
    return True


def discard_unused(file_ids: Iterable[int | None]) -> int:
    """Forget stored files that no application uses any more (a replaced upload, a dropped
    material, a withdrawn draft's documents): the rows at once, in the caller's transaction,
    the bytes on disk only once it commits, so a rollback keeps both. A file another application
    still uses (材料复用) is kept. Returns how many files were discarded."""
    ids = {pk for pk in file_ids if pk}
    if not ids:
        return 0
    # Locked, so a concurrent reuse of the same file waits and then finds it gone.
    unused = list(
        StoredFile.objects.select_for_update()
        .filter(pk__in=ids)
        .exclude(pk__in=ApplicationMaterial.objects.filter(file_id__in=ids).values("file_id"))
        .values_list("pk", "storage_name")
    )
    if not unused:
        return 0
    StoredFile.objects.filter(pk__in=[pk for pk, _name in unused]).delete()
    names = [name for _pk, name in unused]
    transaction.on_commit(lambda: _remove(names), robust=True)
    return len(unused)


def _remove(names: list[str]) -> None:
    files = storage()
    for name in names:
        try:
            files.delete(name)
        except OSError:
            logger.exception("could not delete the discarded upload %s", name)


def prune_orphans(*, older_than: float) -> list[str]:
    """Delete stored files no row names that are older than `older_than` seconds: an upload
    whose transaction rolled back after the file was written (a failed request, a material of
    the window's sitting refused in its savepoint). The age keeps files of transactions still
    running. Returns the storage names deleted."""
    root = Path(storage().location)
    if not root.exists():
        return []
    cutoff = timezone.now().timestamp() - older_than
    candidates = {
        path.relative_to(root).as_posix(): path
        for path in root.rglob("*")
        if path.is_file() and path.stat().st_mtime < cutoff
    }
    known = set(
        StoredFile.objects.filter(storage_name__in=list(candidates)).values_list(
            "storage_name", flat=True
        )
    )
    deleted = []
    for name, path in sorted(candidates.items()):
        if name not in known:
            path.unlink(missing_ok=True)
            deleted.append(name)
    return deleted
