"""Zip archives (EPUB, DOCX) and XML inside them, read within bounds.

The standard library's zipfile reads an entry no further than the size the archive's directory declares for it (and
checks its CRC), so checking the declared sizes first bounds what is decompressed: an archive bomb is refused from
its directory, before any of it is inflated. XML (an EPUB's container, package and NCX) goes through defusedxml
(PSF licence, pure Python): no entity is expanded and nothing external is loaded, and `parse_xml` refuses a
document nested deeper than `MAX_DEPTH`.
"""

from __future__ import annotations

import io
import posixpath
import zipfile
import zlib
from dataclasses import dataclass
from urllib.parse import unquote
from xml.etree.ElementTree import Element

from cbx_cli.errors import InputError

MAX_ENTRIES = 20_000
"""Entries an archive may list (a 1,000-chapter book with its images has a few thousand)."""
MAX_ENTRY_BYTES = 64 * 1024 * 1024
"""Largest document read from an archive, uncompressed."""
MAX_IMAGE_BYTES = 32 * 1024 * 1024
"""Largest cover image read."""
MAX_READ_BYTES = 512 * 1024 * 1024
"""Most uncompressed bytes read from one archive in all."""
MAX_RATIO = 1000
"""Compression ratio past which an entry (of a megabyte or more) is taken for a bomb: text compresses ten-fold."""
MAX_DEPTH = 256
"""Deepest element nesting read in an XML or HTML document (books nest a few dozen deep)."""


class Refused(InputError):
    """A file refused whole for what it would cost to read (a bomb), not skipped in part like a damaged one."""


@dataclass
class Archive:
    """A zip archive opened for bounded reads; ``label`` names the file in messages ("'novel.epub'")."""

    zip: zipfile.ZipFile
    label: str
    read_total: int = 0

    @classmethod
    def open(cls, data: bytes, label: str, kind: str) -> Archive:
        """The archive in ``data`` (a ``kind`` file such as "EPUB"), its directory checked; InputError if broken."""
        try:
            archive = zipfile.ZipFile(io.BytesIO(data))
            infos = archive.infolist()
        except (zipfile.BadZipFile, zlib.error, EOFError, ValueError, NotImplementedError) as exc:
            raise InputError(f"{label} is not a readable {kind} file: its zip archive is broken ({exc}). "
                             "Export it again from the program that made it.") from None
        if len(infos) > MAX_ENTRIES:
            raise Refused(f"{label} has {len(infos):,} entries in its zip archive; cbx reads at most "
                             f"{MAX_ENTRIES:,}. This is not a book file cbx can read.")
        return cls(archive, label)

    def names(self) -> list[str]:
        return self.zip.namelist()

    def find(self, name: str) -> str | None:
        """The entry called ``name``, matched exactly, else ignoring case (some tools write the case wrong)."""
        try:
            self.zip.getinfo(name)
            return name
        except KeyError:
            folded = name.casefold()
            return next((n for n in self.zip.namelist() if n.casefold() == folded), None)

    def read(self, name: str, limit: int = MAX_ENTRY_BYTES) -> bytes:
        """Entry ``name``'s bytes; InputError when it is larger than ``limit``, compressed like a bomb, encrypted,
        or broken, or when the archive's reads add up past `MAX_READ_BYTES`."""
        info = self.zip.getinfo(name)
        where = f"{self.label} ({name})"
        if info.flag_bits & 0x1:
            raise InputError(f"{where} is encrypted: cbx reads only unprotected files. Use a DRM-free copy.")
        if info.file_size > limit:
            raise Refused(f"{where} is {info.file_size / 2**20:.0f} MB uncompressed; cbx reads parts of at most "
                             f"{limit / 2**20:.0f} MB. This is not a book file cbx can read.")
        if info.file_size > 2**20 and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise Refused(f"{where} expands {info.file_size // max(info.compress_size, 1):,}-fold: refused as an "
                             "archive bomb.")
        if self.read_total + info.file_size > MAX_READ_BYTES:
            raise Refused(f"{self.label} holds more than {MAX_READ_BYTES / 2**20:.0f} MB of text to read: "
                             "refused. Split the book.")
        self.read_total += info.file_size
        try:
            return self.zip.read(info)
        except (zipfile.BadZipFile, zlib.error, EOFError, ValueError, NotImplementedError, OSError) as exc:
            raise InputError(f"{where} cannot be read: {exc}. The file is damaged; export it again.") from None


def join(base: str, href: str) -> tuple[str, str]:
    """A reference ``href`` made in entry ``base``, resolved to (entry name, fragment)."""
    path, _, fragment = href.partition("#")
    path = unquote(path.strip())
    if not path:
        return base, unquote(fragment)
    if "://" in path or path.startswith(("mailto:", "data:")):
        return "", unquote(fragment)
    resolved = posixpath.normpath(posixpath.join(posixpath.dirname(base), path)).lstrip("/")
    return ("" if resolved.startswith("..") else resolved), unquote(fragment)


def parse_xml(data: bytes, where: str) -> Element:
    """An XML document's root, parsed by defusedxml; InputError when it declares entities, refers to anything
    external, nests deeper than `MAX_DEPTH` or is not well-formed."""
    from xml.etree.ElementTree import ParseError

    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import iterparse

    depth = 0
    root: Element | None = None
    try:
        for event, element in iterparse(io.BytesIO(data), events=("start", "end")):
            if event == "start":
                depth += 1
                root = element if root is None else root
                if depth > MAX_DEPTH:
                    raise Refused(f"{where} nests elements more than {MAX_DEPTH} deep: refused.")
            else:
                depth -= 1
    except DefusedXmlException as exc:
        raise Refused(f"{where} declares XML entities or external references ({type(exc).__name__}): refused, "
                         "as XML bombs do.") from None
    except ParseError as exc:
        raise InputError(f"{where} is not well-formed XML ({exc}). The file is damaged; export it again.") from None
    if root is None:
        raise InputError(f"{where} is empty. The file is damaged; export it again.")
    return root


def local(tag: object) -> str:
    """An element's tag without its namespace ("{http://www.idpf.org/2007/opf}item" → "item")."""
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""

