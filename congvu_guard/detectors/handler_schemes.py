"""URI schemes that hand a link to a Windows program instead of a web browser (one list for
the message text, :mod:`.handler_links`, and PDF link actions, :mod:`.pdf`)."""

from __future__ import annotations

# Never a web page, wherever they are written (an href, plain text, a relationship's Target).
SCHEMES = (b"search-ms:", b"ms-search:", b"ms-msdt:", b"ms-officecmd:", b"ms-appinstaller:",
           b"mhtml:", b"ms-its:", b"mk:@msitstore:", b"ms-cxh:", b"ms-cxh-full:",
           b"ms-word:", b"ms-excel:", b"ms-powerpoint:", b"ms-visio:", b"ms-access:",
           b"ms-project:", b"ms-publisher:", b"ms-spd:", b"ms-infopath:")
# Also a word in prose: a handler only as the whole target of a link.
TARGET_ONLY = (b"search:",)
# Every scheme above contains one of these (tests/test_handler_links.py): four searches tell
# that a text has none.
STEMS = (b"ms-", b"search", b"mhtml:", b"mk:@")


def scheme_of(url: bytes) -> str:
    """The handler scheme a link's whole target starts with ("" for a web link)."""
    low = url.strip().lower()
    return next((s.decode() for s in (*SCHEMES, *TARGET_ONLY) if low.startswith(s)), "")
