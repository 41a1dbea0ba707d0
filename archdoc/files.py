"""Safe file output: a reader sees the old file or the new one, never half of either, and nothing is lost.

- The target is followed through symlinks to the real file, which keeps its mode
  and owner.
- Only regular files are replaced: a device, a FIFO or a socket at the path is
  refused, and so is a file with several hard links (replacing it would split them).
- The new text goes to an unnamed temporary file (Linux ``O_TMPFILE``) that gets a
  name only at the last moment, so an interrupted write, ``kill -9`` included,
  leaves nothing behind; elsewhere a named temporary file is removed on any exit.
- :func:`write_all` writes several files all or nothing, and refuses any file that
  changed since it was read.
"""

from __future__ import annotations

import errno
import os
import secrets
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from archdoc.errors import InputFileError, OutputError

__all__ = ["write_atomic", "write_all", "Planned", "read_text", "MAX_INPUT_BYTES"]

# Markdown and lock files archdoc reads are text a person edits; anything larger is refused.
MAX_INPUT_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class Planned:
    """A file to write: the path as given, its new text, and (for a rewrite) the bytes it held when read."""

    path: str
    text: str
    expected: bytes | None = None


def _real_target(path: str) -> Path:
    """The file ``path`` names, symlinks followed; checked to be a regular file if it exists."""
    target = Path(os.path.realpath(path))
    parent = target.parent
    if not parent.is_dir():
        raise OutputError(path, f"directory {str(Path(path).parent) or '.'!r} does not exist")
    try:
        info = os.stat(target)
    except FileNotFoundError:
        return target
    except OSError as exc:
        raise OutputError(path, exc.strerror or str(exc)) from None
    if stat.S_ISDIR(info.st_mode):
        raise OutputError(path, "it is a directory")
    if not stat.S_ISREG(info.st_mode):
        raise OutputError(path, "it is not a regular file (a device, FIFO or socket); archdoc writes only files")
    if info.st_nlink > 1:
        raise OutputError(
            path, f"it has {info.st_nlink} hard links, which replacing it would split; write to a path with one link"
        )
    return target


class _Staged:
    """New content written next to its target, ready to take its place."""

    def __init__(self, given: str, target: Path, data: bytes) -> None:
        self.given = given
        self.target = target
        self.fd: int | None = None
        self.name: Path | None = None
        try:
            self.info = os.stat(target)
        except FileNotFoundError:
            self.info = None
        try:
            self._write(data)
        except BaseException:
            self.discard()
            raise

    def _write(self, data: bytes) -> None:
        directory = self.target.parent
        tmpfile = getattr(os, "O_TMPFILE", 0)
        fd = -1
        if tmpfile:
            try:
                fd = os.open(directory, tmpfile | os.O_WRONLY, 0o600)
            except OSError as exc:
                if exc.errno not in (errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL, errno.ENOENT):
                    raise OutputError(self.given, exc.strerror or str(exc)) from None
                fd = -1
        if fd < 0:  # a short name, so long file names stay within the limit
            self.name = directory / f".archdoc-{secrets.token_hex(6)}.tmp"
            try:
                fd = os.open(self.name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except OSError as exc:
                self.name = None
                raise OutputError(self.given, exc.strerror or str(exc)) from None
        self.fd = fd
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
            if self.info is not None:
                os.fchmod(fd, stat.S_IMODE(self.info.st_mode))
                try:
                    os.fchown(fd, self.info.st_uid, self.info.st_gid)
                except PermissionError:
                    pass  # not ours to give away: the file keeps our ownership
            else:
                umask = os.umask(0)
                os.umask(umask)
                os.fchmod(fd, 0o666 & ~umask)
        except OSError as exc:
            raise OutputError(self.given, exc.strerror or str(exc)) from None

    def commit(self) -> None:
        """Put the new content in place of the target, in one rename."""
        try:
            if self.name is None:  # unnamed: give it a name right before the rename
                name = f".archdoc-{secrets.token_hex(6)}.tmp"
                directory = os.open(self.target.parent, os.O_RDONLY)
                try:
                    # A directory fd makes CPython use linkat(), which can follow /proc's magic link.
                    os.link(f"/proc/self/fd/{self.fd}", name, src_dir_fd=directory, dst_dir_fd=directory, follow_symlinks=True)
                finally:
                    os.close(directory)
                self.name = self.target.parent / name
            os.replace(self.name, self.target)
            self.name = None
        except OSError as exc:
            raise OutputError(self.given, exc.strerror or str(exc)) from None
        finally:
            self.discard()

    def discard(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
        if self.name is not None:
            try:
                os.unlink(self.name)
            except OSError:
                pass
            self.name = None


def write_all(files: Sequence[Planned]) -> None:
    """Write every planned file, all or nothing.

    Each new text is first written beside its target; only when all are written,
    and no file changed since it was read, do they take their targets' places.

    Raises:
        OutputError: A target cannot be written, is not a regular file, or changed meanwhile;
            nothing has been written.
    """
    staged: list[_Staged] = []
    try:
        for plan in files:
            target = _real_target(plan.path)
            staged.append(_Staged(plan.path, target, plan.text.encode("utf-8")))
        for plan, stage in zip(files, staged):
            if plan.expected is not None:
                try:
                    now = stage.target.read_bytes()
                except OSError:
                    now = None
                if now != plan.expected:
                    raise OutputError(plan.path, "it changed while archdoc was rendering; nothing was written, run it again")
        for stage in staged:
            stage.commit()
    finally:
        for stage in staged:
            stage.discard()


def write_atomic(path: str | os.PathLike[str], text: str, expected: bytes | None = None) -> None:
    """Write ``text`` (UTF-8, newlines as given) to ``path`` atomically (see the module notes).

    Args:
        path: The file to write.
        text: Its new content.
        expected: The bytes the file held when it was read; if it holds others now, nothing is written.

    Raises:
        OutputError: The directory is missing, the path is not a regular file, the file
            changed meanwhile, or the write failed; the old file is untouched.
    """
    write_all([Planned(os.fspath(path), text, expected)])


def read_text(path: str | os.PathLike[str]) -> tuple[str, bytes]:
    """Read a UTF-8 text file a user handed over: its text and its bytes (for :func:`write_all`'s check).

    Raises:
        InputFileError: It is not a regular file, is too large, cannot be read or is not UTF-8.
    """
    name = os.fspath(path)
    try:
        info = os.stat(name)
    except OSError as exc:
        raise InputFileError(name, exc.strerror or str(exc)) from None
    if not stat.S_ISREG(info.st_mode):
        raise InputFileError(name, "it is not a regular file")
    if info.st_size > MAX_INPUT_BYTES:
        raise InputFileError(name, f"it is {info.st_size:,} bytes; archdoc reads text files of at most {MAX_INPUT_BYTES:,}")
    try:
        with open(name, "rb") as handle:
            raw = handle.read(MAX_INPUT_BYTES + 1)
    except OSError as exc:
        raise InputFileError(name, exc.strerror or str(exc)) from None
    if len(raw) > MAX_INPUT_BYTES:
        raise InputFileError(name, f"it grew past {MAX_INPUT_BYTES:,} bytes while being read")
    try:
        return raw.decode("utf-8"), raw
    except UnicodeDecodeError:
        raise InputFileError(name, "it is not UTF-8 text") from None
