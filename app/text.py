"""Text from outside (forms, query strings, command lines) that is refused before use.

Control characters (NUL, CR, LF, DEL, …) have no place in an email, a username or a path:
PostgreSQL refuses NUL in text outright, and CR/LF in a header value ends the response.
"""

import unicodedata


def control_character(text: str, allowed: str = "") -> str | None:
    """The first control character in `text` that is not in `allowed`, or None."""
    for char in text:
        if unicodedata.category(char) == "Cc" and char not in allowed:
            return char
    return None
