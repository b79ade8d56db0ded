"""The text of an uploaded material, for the pre-check's NAME_IN_MATERIAL rules: images (JPEG,
PNG) read by the Tesseract OCR engine (`tesseract`, Chinese and English: Debian's tesseract-ocr
and tesseract-ocr-chi-sim), PDFs by poppler's `pdftotext` (poppler-utils; a scanned PDF without
a text layer reads as empty). Slow (seconds): called from a Celery task, never in a request.

Nothing here raises: a missing tool, a tool that fails or times out, a file that cannot be read
all give None ("unreadable"; the rule then says nothing), logged once per cause and process.
The text is personal data: it is returned, never stored or logged."""

from __future__ import annotations

import logging
import shutil
import subprocess
import tempfile

from django.conf import settings

from kuaiban.cases.models import StoredFile
from kuaiban.cases.uploads import open_stored

logger = logging.getLogger(__name__)

OCR_LANGUAGES = "chi_sim+eng"
IMAGE_TYPES = {"image/jpeg": ".jpg", "image/png": ".png"}
PDF_TYPE = "application/pdf"

_logged: set[str] = set()


def _warn_once(key: str, message: str, *args) -> None:
    if key not in _logged:
        _logged.add(key)
        logger.warning(message, *args)


def tesseract_binary() -> str | None:
    """The tesseract executable's path (setting KUAIBAN_TESSERACT), None when not installed."""
    return shutil.which(getattr(settings, "KUAIBAN_TESSERACT", "tesseract"))


def pdftotext_binary() -> str | None:
    """The pdftotext executable's path (setting KUAIBAN_PDFTOTEXT), None when not installed."""
    return shutil.which(getattr(settings, "KUAIBAN_PDFTOTEXT", "pdftotext"))


def tesseract_languages() -> set[str]:
    """The languages tesseract has data for (empty when it is missing or fails)."""
    binary = tesseract_binary()
    if binary is None:
        return set()
    try:
        listed = subprocess.run(  # noqa: S603 - the configured binary, no shell
            [binary, "--list-langs"], capture_output=True, text=True, timeout=10, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return set()
    # The first line is a header ("List of available languages in ...").
    return {line.strip() for line in listed.stdout.splitlines()[1:] if line.strip()}


def _timeout() -> float:
    return float(getattr(settings, "KUAIBAN_OCR_TIMEOUT_SECONDS", 60))


def _run(tool: str, command: list[str]) -> str | None:
    try:
        # A list of arguments, no shell: the file is a temporary path the program chose.
        done = subprocess.run(  # noqa: S603
            command, capture_output=True, timeout=_timeout(), check=False
        )
    except (OSError, subprocess.SubprocessError) as error:
        _warn_once(f"{tool}:{type(error).__name__}", "%s could not run: %s", tool, error)
        return None
    if done.returncode != 0:
        # Only the tool's exit code: its error output may quote the document.
        _warn_once(f"{tool}:exit", "%s failed with exit code %s", tool, done.returncode)
        return None
    return done.stdout.decode("utf-8", errors="replace")


def stored_text(stored: StoredFile) -> str | None:
    """The text of an uploaded document, or None when it cannot be read (no tool, a failure,
    a type neither image nor PDF)."""
    content_type = stored.content_type
    if content_type in IMAGE_TYPES:
        binary, tool, suffix = tesseract_binary(), "tesseract", IMAGE_TYPES[content_type]
    elif content_type == PDF_TYPE:
        binary, tool, suffix = pdftotext_binary(), "pdftotext", ".pdf"
    else:
        return None
    if binary is None:
        _warn_once(f"{tool}:missing", "%s is not installed: uploads are not read", tool)
        return None
    # The clear document in a private temporary file (mode 0600), removed at once: the tools
    # read a path (tesseract's stdin and pdftotext's "-" need the whole file either way).
    with tempfile.NamedTemporaryFile(suffix=suffix) as clear:
        try:
            with open_stored(stored) as source:
                shutil.copyfileobj(source, clear)
        except Exception as error:  # a missing or damaged file, a key that no longer opens it
            _warn_once("open", "an upload could not be opened for reading: %s", type(error))
            return None
        clear.flush()
        if tool == "tesseract":
            return _run(tool, [binary, clear.name, "stdout", "-l", OCR_LANGUAGES])
        return _run(tool, [binary, "-q", "-enc", "UTF-8", clear.name, "-"])
