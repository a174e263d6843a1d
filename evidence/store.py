"""The evidence store: content-addressed bytes put into and read from the ``evidence`` storage,
whatever backend the settings name (a directory, or an S3-compatible bucket through
django-storages). Nothing here assumes a local path. A store that fails or does not answer is a
``StoreUnavailable`` (503) for the caller, never a backend's own exception (a 500); a download
streams the object in chunks (an S3 ``GetObject`` body), never the whole file into memory, which
is what django-storages' ``S3File`` would do."""

from __future__ import annotations

import logging
from typing import IO

from botocore.exceptions import BotoCoreError, ClientError
from django.core.files import File
from storages.backends.s3 import S3Storage
from storages.utils import clean_name

from evidence.models import evidence_storage
from soar import errors

logger = logging.getLogger(__name__)

# S3 answers for an object that is not there (GetObject says NoSuchKey, HeadObject a bare 404).
_MISSING_CODES = frozenset({"NoSuchKey", "404", "NotFound"})


class StoreUnavailable(errors.Unavailable):
    """The evidence store refused the request or did not answer."""


def _unavailable(exc: Exception, doing: str) -> StoreUnavailable:
    # The exception's class and the object's name only: a backend's message can carry the
    # endpoint and request details, and the credentials never belong in a log line.
    logger.warning("evidence store failed while %s: %s", doing, type(exc).__name__)
    return StoreUnavailable("The evidence store is unavailable; nothing was changed. Try again later "
                            "or tell an administrator.", retry_after=30)


def put(name: str, content: File) -> None:
    """Store ``content`` under its content-addressed ``name`` unless those bytes are there already."""
    storage = evidence_storage()
    try:
        if storage.exists(name):
            return
        content.seek(0)
        saved = storage.save(name, content)
        if saved != name:  # a directory store renames when another upload of the same bytes won the race
            storage.delete(saved)
    except (OSError, BotoCoreError, ClientError) as exc:
        raise _unavailable(exc, "storing a file") from exc


def open_stream(name: str) -> IO[bytes]:
    """A readable, closable stream of the stored bytes; FileNotFoundError when the object is gone."""
    storage = evidence_storage()
    try:
        if isinstance(storage, S3Storage):
            return _s3_body(storage, name)
        return storage.open(name, "rb")
    except FileNotFoundError:
        raise
    except ClientError as exc:
        if str(exc.response.get("Error", {}).get("Code")) in _MISSING_CODES:
            raise FileNotFoundError(name) from exc
        raise _unavailable(exc, "reading a file") from exc
    except (OSError, BotoCoreError) as exc:
        raise _unavailable(exc, "reading a file") from exc


def _s3_body(storage: S3Storage, name: str) -> IO[bytes]:
    # The key as the storage itself forms it (its ``location`` prefix, cleaned separators).
    key = storage._normalize_name(clean_name(name))  # noqa: SLF001 - the backend's own key rule
    answer = storage.connection.meta.client.get_object(Bucket=storage.bucket_name, Key=key)
    body: IO[bytes] = answer["Body"]  # botocore's StreamingBody: read(n), close(); not seekable
    return body
