"""The type of an uploaded file from its first bytes (a small magic-number table), never from
the uploader's name or Content-Type. Shown to analysts only: downloads are always
``application/octet-stream`` attachments, so a wrong guess cannot make a browser render it."""

from __future__ import annotations

SNIFF_BYTES = 512

# (offset, magic bytes, type), most specific first.
MAGIC: tuple[tuple[int, bytes, str], ...] = (
    (0, b"%PDF-", "application/pdf"),
    (0, b"\x89PNG\r\n\x1a\n", "image/png"),
    (0, b"\xff\xd8\xff", "image/jpeg"),
    (0, b"GIF87a", "image/gif"),
    (0, b"GIF89a", "image/gif"),
    (0, b"PK\x03\x04", "application/zip"),
    (0, b"PK\x05\x06", "application/zip"),
    (0, b"\x1f\x8b", "application/gzip"),
    (0, b"7z\xbc\xaf\x27\x1c", "application/x-7z-compressed"),
    (0, b"Rar!\x1a\x07", "application/vnd.rar"),
    (0, b"BZh", "application/x-bzip2"),
    (0, b"\xfd7zXZ\x00", "application/x-xz"),
    (257, b"ustar", "application/x-tar"),
    (0, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "application/x-ole-storage"),  # .doc/.xls/.msg
    (0, b"MZ", "application/vnd.microsoft.portable-executable"),
    (0, b"\x7fELF", "application/x-elf"),
    (0, b"\xcf\xfa\xed\xfe", "application/x-mach-binary"),
    (0, b"\xca\xfe\xba\xbe", "application/java-vm"),
    (0, b"{\\rtf", "application/rtf"),
    (0, b"\xd4\xc3\xb2\xa1", "application/vnd.tcpdump.pcap"),
    (0, b"\xa1\xb2\xc3\xd4", "application/vnd.tcpdump.pcap"),
    (0, b"\x0a\x0d\x0d\x0a", "application/x-pcapng"),
    (0, b"SQLite format 3\x00", "application/vnd.sqlite3"),
    (0, b"ElfFile\x00", "application/x-evtx"),
)


def sniff_content_type(head: bytes) -> str:
    """The type of a file starting with ``head`` (its first ``SNIFF_BYTES`` bytes)."""
    for offset, magic, content_type in MAGIC:
        if head[offset:offset + len(magic)] == magic:
            return content_type
    if not head:
        return "application/x-empty"
    if b"\x00" in head:
        return "application/octet-stream"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut at the end of the sample is still text.
        if exc.start < len(head) - 3:
            return "application/octet-stream"
    return "text/plain"
