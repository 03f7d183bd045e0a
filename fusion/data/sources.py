"""`data.raw` read in place: a folder, or a .zip, .tar or .tar.gz archive, never unpacked to disk.

A source lists its files as posix paths relative to `data.raw` and returns a file's bytes.
Archives are memory-mapped (a .tar.gz is decompressed into memory once), so the forked decoding
workers read members straight from the shared mapping. A truncated or damaged archive fails
when opened, naming it and what is wrong; a member whose bytes fail their CRC fails when read.
"""

from __future__ import annotations

import gzip
import io
import mmap
import os
import posixpath
import struct
import tarfile
import zipfile
import zlib
from pathlib import Path
from typing import NamedTuple

ARCHIVES = (".zip", ".tar", ".tar.gz", ".tgz")
DOWNLOAD_AGAIN = "truncated or damaged, e.g. an interrupted download: download it again"


class DatasetError(ValueError):
    """The raw data set cannot be prepared; the message names every offending path."""


def read_file(path: str | Path) -> bytes:
    with open(path, "rb") as f:
        return f.read()


class Source:
    """The files under `data.raw`, by posix paths relative to it: `listing` maps each folder
    ("" for data.raw itself) to the sorted names of the files in it; `dirs` holds every folder
    but "" (empty ones too)."""

    def __init__(self, path: Path, files: list[str], dirs: set[str]):
        self.path = path
        self.listing: dict[str, list[str]] = {}
        for name in sorted(files):
            folder, _, base = name.rpartition("/")
            self.listing.setdefault(folder, []).append(base)
        self.dirs = {d for name in dirs | set(self.listing) for d in _with_parents(name)}

    def read(self, name: str) -> bytes:
        """The bytes of file `name`; OSError if it cannot be read whole."""
        raise NotImplementedError

    def where(self, name: str) -> str:
        """`name` as the user finds it: a path, or archive:member."""
        return f"{self.path}:{name}"

    def close(self) -> None:
        """Release the archive's mapping; nothing to do for a folder."""

    def __enter__(self) -> Source:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _with_parents(name: str) -> list[str]:
    parts = name.split("/") if name else []
    return ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]


class Folder(Source):
    def __init__(self, path: Path):
        files, dirs = [], set()
        for top, subdirs, names in os.walk(path, followlinks=True):
            rel = os.path.relpath(top, path).replace(os.sep, "/")
            prefix = "" if rel == "." else rel + "/"
            dirs.update(prefix + d for d in subdirs)
            files += [prefix + n for n in names]
        super().__init__(path, files, dirs)
        self._root = str(path)

    def read(self, name: str) -> bytes:
        return read_file(os.path.join(self._root, name))

    def where(self, name: str) -> str:
        return str(self.path / name)


def _map(path: Path) -> mmap.mmap:
    with open(path, "rb") as f:
        if os.fstat(f.fileno()).st_size == 0:
            raise DatasetError(f"{path}: empty file ({DOWNLOAD_AGAIN})")
        return mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)


class Member(NamedTuple):
    """Where a zip member's bytes are and how to check them."""

    offset: int  # of its local header
    compressed: int  # bytes stored
    size: int  # bytes once inflated
    method: int
    crc: int
    flags: int


class Zip(Source):
    """Members are inflated from the mapping here (zipfile's own reader costs ~3x more per
    member), their CRC checked; stored and deflated members, as zip tools write them. The
    central directory is read here too (5x faster than zipfile for 40,000 members), or by
    zipfile where it is unusual (zip64, data before the archive) or unreadable."""

    END = struct.Struct("<4s6xHII")  # signature, entries, size, offset (of the directory)
    ENTRY = struct.Struct("<4s4xHH4xIIIHHH8xI")  # signature, flags, method, CRC, sizes, lengths
    LOCAL_HEADER = struct.Struct("<4s22xHH")  # signature ... name length, extra length

    def __init__(self, path: Path):
        self._buffer = _map(path)
        members = self._directory()
        if members is None:
            members = self._zipfile_directory(path)
        self._members = {name: m for name, m in members.items() if not name.endswith("/")}
        unsupported = [name for name, m in self._members.items()
                       if m.method not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)
                       or m.flags & 1]
        if unsupported:
            raise DatasetError(f"{path}: {len(unsupported)} member(s) encrypted or compressed "
                               f"other than by deflate, e.g. {unsupported[0]}; re-pack the "
                               "archive with a standard zip tool")
        end = max((m.offset + m.compressed for m in members.values()), default=0)
        if end > len(self._buffer):
            raise DatasetError(f"{path}: members end past the end of the file ({end} > "
                               f"{len(self._buffer)} bytes); {DOWNLOAD_AGAIN}")
        super().__init__(path, list(self._members),
                         {name.rstrip("/") for name in members if name.endswith("/")})

    def _directory(self) -> dict[str, Member] | None:
        """The central directory, or None where it is not a plain one right before its end
        record (zipfile then reads it, or says what is wrong)."""
        buffer = self._buffer
        end = buffer.rfind(b"PK\x05\x06", max(0, len(buffer) - 22 - 0xFFFF))
        if end < 0 or end + self.END.size > len(buffer):
            return None
        _, count, size, position = self.END.unpack_from(buffer, end)
        if count == 0xFFFF or position + size != end:  # zip64, or bytes before the archive
            return None
        members = {}
        try:
            for _ in range(count):
                magic, flags, method, crc, compressed, length, n, m, k, offset = \
                    self.ENTRY.unpack_from(buffer, position)
                if magic != b"PK\x01\x02" or 0xFFFFFFFF in (compressed, length, offset):
                    return None
                start = position + self.ENTRY.size
                name = buffer[start : start + n].decode("utf-8" if flags & 0x800 else "cp437")
                members[name] = Member(offset, compressed, length, method, crc, flags)
                position = start + n + m + k
        except (struct.error, UnicodeDecodeError):
            return None
        return members

    @staticmethod
    def _zipfile_directory(path: Path) -> dict[str, Member]:
        try:
            with zipfile.ZipFile(path) as archive:
                infos = archive.infolist()
        except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError) as e:
            raise DatasetError(f"{path}: not a readable .zip archive ({e}); {DOWNLOAD_AGAIN}"
                               ) from None
        return {i.filename: Member(i.header_offset, i.compress_size, i.file_size,
                                   i.compress_type, i.CRC, i.flag_bits) for i in infos}

    def read(self, name: str) -> bytes:
        member = self._members[name]
        magic, name_length, extra_length = self.LOCAL_HEADER.unpack_from(self._buffer,
                                                                         member.offset)
        if magic != b"PK\x03\x04":
            raise OSError(f"damaged archive member: no local header; {DOWNLOAD_AGAIN}")
        start = member.offset + self.LOCAL_HEADER.size + name_length + extra_length
        data = self._buffer[start : start + member.compressed]
        try:
            if member.method == zipfile.ZIP_DEFLATED:
                data = zlib.decompress(data, -zlib.MAX_WBITS)
        except zlib.error as e:
            raise OSError(f"damaged archive member ({e}); {DOWNLOAD_AGAIN}") from None
        if len(data) != member.size or zlib.crc32(data) != member.crc:
            raise OSError(f"damaged archive member: CRC mismatch; {DOWNLOAD_AGAIN}")
        return data

    def close(self) -> None:
        self._buffer.close()


class Tar(Source):
    """A .tar is mapped; a .tar.gz is decompressed into memory once (a gzip stream has no
    random access), which also checks its CRC. Only regular files can be read."""

    def __init__(self, path: Path):
        compressed = path.name.lower().endswith((".gz", ".tgz"))
        try:
            if compressed:
                with gzip.open(path) as stream:
                    self._buffer = stream.read()
                archive = tarfile.open(fileobj=io.BytesIO(self._buffer), mode="r:")
            else:
                self._buffer = _map(path)
                archive = tarfile.open(path, mode="r:")
            with archive:
                members = archive.getmembers()
        except (tarfile.TarError, EOFError, OSError, zlib.error) as e:
            raise DatasetError(f"{path}: not a readable .tar{'.gz' if compressed else ''} "
                               f"archive ({e}); {DOWNLOAD_AGAIN}") from None
        end = max((m.offset_data + m.size for m in members), default=0)
        padded = -(-end // tarfile.BLOCKSIZE) * tarfile.BLOCKSIZE
        if self._buffer[padded : padded + 2 * tarfile.BLOCKSIZE] != bytes(2 * tarfile.BLOCKSIZE):
            raise DatasetError(f"{path}: no end-of-archive marker after its last member; "
                               f"{DOWNLOAD_AGAIN}")
        self._members = {posixpath.normpath(m.name): m for m in members if not m.isdir()}
        super().__init__(path, list(self._members),
                         {posixpath.normpath(m.name) for m in members if m.isdir()} - {"."})

    def read(self, name: str) -> bytes:
        member = self._members[name]
        if not member.isreg():
            raise OSError("not a regular file in the archive (a link?)")
        return bytes(self._buffer[member.offset_data : member.offset_data + member.size])

    def close(self) -> None:
        if isinstance(self._buffer, mmap.mmap):
            self._buffer.close()


def open_source(raw: str | Path) -> Source:
    """`data.raw` as a source; DatasetError if it is missing, not a folder or archive, or
    unreadable."""
    path = Path(raw)
    if path.is_dir():
        return Folder(path)
    if not path.exists():
        raise DatasetError(f"{path}: data root not found (set data.raw in params.yaml)")
    if path.name.lower().endswith(".zip"):
        return Zip(path)
    if path.name.lower().endswith(ARCHIVES):
        return Tar(path)
    raise DatasetError(f"{path}: expected a folder or a {', '.join(ARCHIVES)} archive")
