"""Request bodies that cannot be read are the client's error: a 400, never a 500.

Werkzeug turns what its own streams raise into ClientDisconnected (already a 400), but
gunicorn's body reader raises its own errors (InvalidChunkSize, ChunkMissingTerminator,
InvalidChunkExtension, NoMoreData, …) from the application's first read of a malformed
chunked body: those would otherwise be unexpected errors with a traceback. Both apps (the
site and the webhook app) answer all of them with this one sentence.
"""

from werkzeug.exceptions import ClientDisconnected

UNREADABLE_BODY_MESSAGE = ("The request body could not be read: it was malformed or cut short "
                           "(for example a broken chunked encoding).")

try:  # gunicorn is the production server, but not importable everywhere (it needs fcntl)
    from gunicorn.http.errors import NoMoreData, ParseException  # type: ignore[import-untyped]
except ImportError:  # pragma: no cover
    UNREADABLE_BODY: tuple[type[Exception], ...] = (ClientDisconnected,)
else:
    UNREADABLE_BODY = (ClientDisconnected, ParseException, NoMoreData)
