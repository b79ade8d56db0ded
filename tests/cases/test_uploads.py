"""Uploaded materials: the size limits hold while the body streams in (a 40 MB upload is cut
off at the limit, never received whole), and nothing of a refused file is kept."""

import http.client
import select
import uuid
from http.cookies import SimpleCookie
from io import StringIO
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client
from django.utils import translation

from bundles.selectors import required_materials
from bundles.services import applications, materials
from kuaiban.cases.models import StoredFile
from kuaiban.cases.uploads import LimitedUploadHandler, too_large_message
from tests.builders import draft, upload
from tests.factories import UserFactory

MB = 1024 * 1024
CHUNK = 64 * 1024  # the parser's chunk size
FORTY_MB = 40 * MB


class CountingHandler(LimitedUploadHandler):
    """The real handler, remembering each request it parsed so a test can ask how much of the
    body the application read (its LimitedStream's position)."""

    seen: list = []

    def __init__(self, request=None):
        super().__init__(request)
        CountingHandler.seen.append(self)


@pytest.fixture
def counted(settings, tmp_path):
    settings.FILE_UPLOAD_HANDLERS = [
        "tests.cases.test_uploads.CountingHandler",
        *settings.FILE_UPLOAD_HANDLERS[1:],
    ]
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path / "upload-tmp")
    (tmp_path / "upload-tmp").mkdir()
    CountingHandler.seen = []
    return CountingHandler.seen


def files_under(folder) -> list:
    return [p for p in folder.rglob("*") if p.is_file()] if folder.exists() else []


def nothing_kept(settings) -> bool:
    return (
        not StoredFile.objects.exists()
        and not files_under(settings.MEDIA_ROOT)
        and not files_under(Path(settings.FILE_UPLOAD_TEMP_DIR))
    )


def first_needed(application):
    return next(e for e in required_materials(application) if e.needs_action).material


def big_pdf(size: int = FORTY_MB) -> bytes:
    return b"%PDF-1.4\n" + b"0" * (size - 9)


@pytest.mark.django_db
def test_a_40_mb_upload_is_cut_off_at_the_limit_and_nothing_is_kept(client, counted, settings):
    citizen = UserFactory(citizen=True)
    application = draft(citizen)
    material = first_needed(application)
    client.force_login(citizen)
    url = f"/applications/{application.reference}/materials/"

    response = client.post(
        url,
        {
            "action": "upload",
            "material": material.code,
            "file": SimpleUploadedFile("huge.pdf", big_pdf(), "application/pdf"),
        },
    )

    assert response.status_code == 302
    (handler,) = counted
    read = response.wsgi_request._stream._pos
    limit = settings.KUAIBAN_UPLOAD_MAX_BYTES
    assert limit < read <= limit + 2 * CHUNK  # the limit, one chunk over it, the form's headers
    assert handler.file_bytes <= limit + CHUNK
    assert nothing_kept(settings)
    page = client.get(url).content.decode()
    with translation.override("zh-hans"):
        assert too_large_message("huge.pdf") in page and "10 MB" in too_large_message("x")
    assert not application.materials.exists()


@pytest.mark.django_db
def test_a_file_within_the_limit_still_streams_to_storage(client, counted, settings):
    citizen = UserFactory(citizen=True)
    application = draft(citizen)
    material = first_needed(application)
    client.force_login(citizen)
    content = big_pdf(settings.KUAIBAN_UPLOAD_MAX_BYTES)  # exactly the limit is allowed
    client.post(
        f"/applications/{application.reference}/materials/",
        {
            "action": "upload",
            "material": material.code,
            "file": SimpleUploadedFile("ok.pdf", content),
        },
    )
    stored = StoredFile.objects.get()
    assert stored.size == len(content)
    assert counted[0].file_bytes == len(content)


@pytest.mark.django_db
def test_a_request_over_the_total_limit_is_refused_before_its_files_are_read(
    client, counted, settings
):
    settings.KUAIBAN_UPLOAD_MAX_REQUEST_BYTES = 1 * MB
    citizen = UserFactory(citizen=True)
    application = draft(citizen)
    client.force_login(citizen)
    url = f"/applications/{application.reference}/materials/"
    response = client.post(
        url,
        {
            "action": "upload",
            "material": first_needed(application).code,
            "file": SimpleUploadedFile("two.pdf", big_pdf(2 * MB)),
        },
    )
    assert response.status_code == 302
    assert response.wsgi_request._stream._pos <= CHUNK  # the parser's first read, of 2 MB
    assert counted[0].total_bytes == 0
    assert nothing_kept(settings)
    page = client.get(url).content.decode()
    assert "1 MB" in page and "two.pdf" not in page


# -- over a real socket ------------------------------------------------------------------------


def stream_upload(live_server, path, *, cookies: dict, fields: dict, file_size: int):
    """POST a multipart body over a socket in 64 KB chunks, stopping early when the server has
    already answered; (response status, headers, bytes sent)."""
    boundary = uuid.uuid4().hex
    head = b"".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    )
    head += (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="huge.pdf"\r\n'
        "Content-Type: application/pdf\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    host, port = live_server.url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    connection.putrequest("POST", path)
    connection.putheader("Content-Type", f"multipart/form-data; boundary={boundary}")
    connection.putheader("Content-Length", str(len(head) + file_size + len(tail)))
    connection.putheader("Cookie", "; ".join(f"{k}={v}" for k, v in cookies.items()))
    connection.endheaders()
    connection.send(head + b"%PDF-1.4\n")
    sent, chunk = 9, b"0" * CHUNK
    try:
        while sent < file_size:
            piece = chunk[: min(CHUNK, file_size - sent)]
            connection.sock.sendall(piece)
            sent += len(piece)
            if select.select([connection.sock], [], [], 0)[0]:
                break  # the answer is there: no point sending the rest
        else:
            connection.sock.sendall(tail)
    except (BrokenPipeError, ConnectionResetError):
        pass
    response = connection.getresponse()
    response.read()
    connection.close()
    return response.status, response.headers, sent


def http_get(live_server, path, cookies: dict) -> str:
    host, port = live_server.url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    connection.request(
        "GET", path, headers={"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())}
    )
    page = connection.getresponse().read().decode()
    connection.close()
    return page


def test_a_40_mb_upload_over_a_socket_is_cut_off_at_the_limit(
    live_server, committed_db, counted, settings
):
    citizen = UserFactory(citizen=True)
    application = draft(citizen)
    material = first_needed(application)
    browser = Client()
    browser.force_login(citizen)
    csrf = "k" * 32
    cookies = {"sessionid": browser.cookies["sessionid"].value, "csrftoken": csrf}
    path = f"/applications/{application.reference}/materials/"

    status, headers, _sent = stream_upload(
        live_server,
        path,
        cookies=cookies,
        fields={"csrfmiddlewaretoken": csrf, "action": "upload", "material": material.code},
        file_size=FORTY_MB,
    )

    assert status == 302 and headers["Location"] == path
    (handler,) = counted
    limit = settings.KUAIBAN_UPLOAD_MAX_BYTES
    assert limit < handler.request._stream._pos <= limit + 2 * CHUNK
    assert nothing_kept(settings)
    answered: SimpleCookie = SimpleCookie()
    for line in headers.get_all("Set-Cookie") or []:
        answered.load(line)
    page = http_get(live_server, path, cookies | {k: v.value for k, v in answered.items()})
    with translation.override("zh-hans"):
        assert too_large_message("huge.pdf") in page


# -- replaced uploads are deleted, after the commit --------------------------------------------


def on_disk(stored: StoredFile, settings) -> bool:
    return (Path(settings.MEDIA_ROOT) / "materials" / stored.storage_name).is_file()


def uploaded(application, material, name="doc.pdf") -> StoredFile:
    provided = materials.material_upload(
        application=application,
        actor=application.applicant,
        material=material,
        upload=upload(name),
    )
    return provided.file


@pytest.mark.django_db
def test_a_replaced_upload_is_deleted_from_storage_only_after_the_commit(
    settings, django_capture_on_commit_callbacks
):
    application = draft(UserFactory(citizen=True))
    material = first_needed(application)
    with django_capture_on_commit_callbacks(execute=True):
        old = uploaded(application, material, "old.pdf")
    assert on_disk(old, settings)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        new = uploaded(application, material, "new.pdf")
        assert on_disk(old, settings)  # not before the commit

    assert callbacks

    assert not on_disk(old, settings) and on_disk(new, settings)
    assert list(StoredFile.objects.all()) == [new]
    assert application.materials.get(material=material).file == new


@pytest.mark.django_db
def test_a_replacement_rolled_back_keeps_the_old_upload(
    settings, django_capture_on_commit_callbacks
):
    application = draft(UserFactory(citizen=True))
    material = first_needed(application)
    with django_capture_on_commit_callbacks(execute=True):
        old = uploaded(application, material, "old.pdf")

    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        uploaded(application, material, "new.pdf")
        raise RuntimeError("the request failed after the upload")

    assert callbacks == []
    assert on_disk(old, settings) and StoredFile.objects.filter(pk=old.pk).exists()
    assert application.materials.get(material=material).file == old


@pytest.mark.django_db
def test_a_replaced_upload_reused_by_another_application_is_kept(
    settings, django_capture_on_commit_callbacks
):
    citizen = UserFactory(citizen=True)
    first, second = draft(citizen), draft(citizen)
    material = first_needed(first)
    with django_capture_on_commit_callbacks(execute=True):
        shared = uploaded(first, material, "shared.pdf")
        materials.material_reuse(
            application=second, actor=citizen, material=material, stored_file=shared
        )
        uploaded(first, material, "other.pdf")
    assert on_disk(shared, settings)
    assert second.materials.get(material=material).file == shared


@pytest.mark.django_db
def test_a_commitment_instead_of_an_upload_deletes_the_upload(
    settings, django_capture_on_commit_callbacks
):
    citizen = UserFactory(citizen=True, real_name="王小明")
    application = draft(citizen, "B09", {"Q1": True})
    entry = next(
        e
        for e in required_materials(application)
        if e.material.commitment_allowed and e.needs_action
    )
    with django_capture_on_commit_callbacks(execute=True):
        old = uploaded(application, entry.material)
        materials.material_commit(
            application=application,
            actor=citizen,
            material=entry.material,
            signed_name="王小明",
            agreed=True,
        )
    assert not on_disk(old, settings) and not StoredFile.objects.exists()


@pytest.mark.django_db
def test_a_withdrawn_draft_leaves_no_uploads_behind(settings, django_capture_on_commit_callbacks):
    citizen = UserFactory(citizen=True)
    application = draft(citizen)
    with django_capture_on_commit_callbacks(execute=True):
        stored = uploaded(application, first_needed(application))
    with django_capture_on_commit_callbacks(execute=True):
        applications.application_withdraw(application=application, actor=citizen)
    assert not on_disk(stored, settings) and not StoredFile.objects.exists()
    assert files_under(Path(settings.MEDIA_ROOT)) == []


# -- encrypted at rest -------------------------------------------------------------------------

MARKER = b"KB-PLAINTEXT-MARKER-0123456789"


def marked_pdf(size: int = 200 * 1024) -> bytes:
    """A PDF over three encryption chunks long, the marker at its start, middle and end."""
    body = b"%PDF-1.4\n" + MARKER + b"x" * size + MARKER + b"y" * size + MARKER
    return body


def raw_bytes(stored: StoredFile, settings) -> bytes:
    return (Path(settings.MEDIA_ROOT) / "materials" / stored.storage_name).read_bytes()


@pytest.fixture
def data_keys(settings):
    """Set KUAIBAN_DATA_KEY (a list, the first encrypting) for the rest of the test."""
    from kuaiban.accounts import crypto

    def use(*keys):
        settings.KUAIBAN_DATA_KEYS = list(keys)
        crypto._fernet.cache_clear()
        crypto._file_keys.cache_clear()

    yield use
    crypto._fernet.cache_clear()
    crypto._file_keys.cache_clear()


@pytest.mark.django_db
def test_an_uploaded_document_is_encrypted_on_disk_and_decrypted_for_whom_may_see_it(
    client, settings
):
    citizen, stranger = UserFactory(citizen=True), UserFactory(citizen=True)
    application = draft(citizen)
    client.force_login(citizen)
    content = marked_pdf()
    client.post(
        f"/applications/{application.reference}/materials/",
        {
            "action": "upload",
            "material": first_needed(application).code,
            "file": SimpleUploadedFile("marked.pdf", content),
        },
    )
    stored = StoredFile.objects.get()
    on_disk_bytes = raw_bytes(stored, settings)
    assert MARKER not in on_disk_bytes and b"%PDF" not in on_disk_bytes
    assert on_disk_bytes.startswith(b"KBF1")
    assert stored.size == len(content)

    response = client.get(f"/files/{stored.pk}/")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == content
    assert response["Content-Length"] == str(len(content))
    client.force_login(stranger)
    assert client.get(f"/files/{stored.pk}/").status_code == 404


def test_a_sealed_document_altered_or_cut_short_is_refused(settings):
    import io

    from kuaiban.accounts import crypto

    sealed = b"".join(crypto.seal_chunks([marked_pdf()]))
    assert b"".join(iter(crypto.SealedReader(io.BytesIO(sealed)).read, b"")) == marked_pdf()
    head, chunk = 15, crypto.SEALED_CHUNK + 16  # magic, key id, nonce prefix; chunk and tag
    first, second, rest = (
        sealed[head : head + chunk],
        sealed[head + chunk : head + 2 * chunk],
        sealed[head + 2 * chunk :],
    )
    assert first and second and rest
    cut_short = sealed[: head + 2 * chunk]  # whole chunks, the last one dropped
    altered = bytearray(sealed)
    altered[100] ^= 1
    swapped = sealed[:head] + second + first + rest
    for bad in (cut_short, bytes(altered), swapped):
        with pytest.raises(ValueError):
            b"".join(iter(crypto.SealedReader(io.BytesIO(bad)).read, b""))


@pytest.mark.django_db
def test_encrypt_uploads_seals_clear_files_in_place_and_is_idempotent(settings):
    from django.core.management import call_command

    from kuaiban.cases.uploads import open_stored, storage

    application = draft(UserFactory(citizen=True))
    stored = uploaded(application, first_needed(application))
    path = Path(storage().path(stored.storage_name))
    path.write_bytes(marked_pdf())  # as written before encryption at rest
    with open_stored(stored) as legacy:
        assert legacy.read() == marked_pdf()  # still served until the command runs

    first, again = StringIO(), StringIO()
    call_command("encrypt_uploads", stdout=first)
    sealed = path.read_bytes()
    call_command("encrypt_uploads", stdout=again)

    assert first.getvalue().startswith("Encrypted 1 uploaded file(s); 0 already encrypted")
    assert again.getvalue().startswith("Encrypted 0 uploaded file(s); 1 already encrypted")
    assert MARKER not in sealed and path.read_bytes() == sealed
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no partial left behind
    with open_stored(stored) as opened:
        assert opened.read() == marked_pdf()


@pytest.mark.django_db
def test_encrypt_uploads_rotate_seals_again_under_the_first_data_key(settings, data_keys):
    from cryptography.fernet import Fernet
    from django.core.management import call_command

    from kuaiban.cases.uploads import open_stored, storage

    old_key, new_key = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    data_keys(old_key)
    application = draft(UserFactory(citizen=True))
    stored = uploaded(application, first_needed(application))
    path = Path(storage().path(stored.storage_name))
    before = path.read_bytes()

    data_keys(new_key, old_key)
    with open_stored(stored) as opened:
        assert opened.read() == upload().read()  # the old key still decrypts
    out = StringIO()
    call_command("encrypt_uploads", "--rotate", stdout=out)
    assert out.getvalue().startswith("Encrypted 1 uploaded file(s)")
    assert path.read_bytes()[4:8] != before[4:8]

    data_keys(new_key)
    with open_stored(stored) as opened:
        assert opened.read() == upload().read()
    data_keys(old_key)
    with pytest.raises(ValueError):
        open_stored(stored)


@pytest.mark.django_db
def test_the_upload_inputs_carry_the_limit_for_the_browser_to_refuse_a_large_file_first(
    client, settings
):
    settings.KUAIBAN_UPLOAD_MAX_BYTES = 5 * MB
    citizen = UserFactory(citizen=True)
    application = draft(citizen)
    client.force_login(citizen)
    page = client.get(f"/applications/{application.reference}/materials/").content.decode()
    assert f'required data-max-bytes="{5 * MB}"' in page
    assert 'data-too-large="' in page and "5 MB" in page
    assert 'src="/static/upload-limit.js"' in page


@pytest.mark.django_db
def test_prune_uploads_deletes_the_file_of_a_rolled_back_upload_and_nothing_else(settings):
    import os
    import time

    from django.core.management import call_command

    application = draft(UserFactory(citizen=True))
    material = first_needed(application)
    kept = uploaded(application, material, "kept.pdf")
    with pytest.raises(RuntimeError), transaction.atomic():
        uploaded(application, material, "lost.pdf")
        raise RuntimeError("the request failed after the upload")
    files = files_under(Path(settings.MEDIA_ROOT) / "materials")
    assert len(files) == 2  # the rolled-back upload's file is still there
    (lost,) = [p for p in files if p.name != Path(kept.storage_name).name]

    fresh = StringIO()
    call_command("prune_uploads", stdout=fresh)  # a day old at least: too young to judge
    assert fresh.getvalue().startswith("Deleted 0 file(s)")
    day_ago = time.time() - 25 * 3600
    for path in files:
        os.utime(path, (day_ago, day_ago))
    out = StringIO()
    call_command("prune_uploads", stdout=out)

    assert "Deleted 1 file(s)" in out.getvalue()
    assert not lost.exists() and on_disk(kept, settings)
