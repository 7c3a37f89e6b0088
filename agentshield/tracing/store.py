"""The embedded trace store: a folder of OTLP-JSON line files.

:class:`TraceStoreExporter` is an OTel ``SpanExporter`` that appends one line per export
batch, in the OpenTelemetry Collector file-exporter format (see :mod:`.otlp`), so the same
reader takes our files and a real Collector's.

Crash safety, in order of what it guarantees:

* **Line-atomic appends.** Each line is written with a single ``os.write`` on a file opened
  with ``O_APPEND``: concurrent writers never interleave inside a line, and a process killed
  between writes leaves only complete lines.
* **Torn lines stay isolated.** A process killed *inside* a write can leave one partial last
  line. Every process writes its own files (``traces-<time>-<pid>-<seq>.jsonl``), so nothing is
  ever appended after a torn line; the reader reports it with its file and line and skips it.
* **Durability (fsync policy).** ``"never"``: rely on the OS page cache (survives a process
  crash, not a power loss). ``"flush"`` (default): ``fsync`` on ``force_flush``, on rotation and
  on shutdown. ``"always"``: ``fsync`` after every line (survives power loss, slowest).

Files rotate when the next line would take the current one past ``max_file_bytes``.
"""

from __future__ import annotations

import errno
import logging
import os
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from agentshield.errors import ConfigError
from agentshield.tracing.otlp import encode_line

FsyncPolicy = Literal["never", "flush", "always"]
_FSYNC_POLICIES = ("never", "flush", "always")
#: The suffixes the reader picks up in a store folder.
STORE_SUFFIXES = (".jsonl", ".json")

_log = logging.getLogger(__name__)

__all__ = ["STORE_SUFFIXES", "FsyncPolicy", "TraceStoreExporter", "store_files"]


class TraceStoreExporter(SpanExporter):
    """Append spans as OTLP-JSON lines to files in ``path``, rotating by size.

    Args:
        path: The store folder (created if missing).
        max_file_bytes: Rotate to a new file before one would grow past this size.
        fsync: When to ``fsync``: ``"never"``, ``"flush"`` (default) or ``"always"``.
        prefix: The file-name prefix.

    Raises:
        ConfigError: A non-positive size or an unknown fsync policy.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        max_file_bytes: int = 64 * 1024 * 1024,
        fsync: FsyncPolicy = "flush",
        prefix: str = "traces",
    ) -> None:
        if max_file_bytes <= 0:
            raise ConfigError(f"max_file_bytes must be positive, got {max_file_bytes}")
        if fsync not in _FSYNC_POLICIES:
            raise ConfigError(f"fsync must be one of {_FSYNC_POLICIES}, got {fsync!r}")
        self.path = Path(path)
        self.max_file_bytes = max_file_bytes
        self.fsync: FsyncPolicy = fsync
        self.prefix = prefix
        self._lock = threading.Lock()
        self._fd: int | None = None
        self._file: Path | None = None
        self._size = 0
        self._seq = 0
        self._pid = os.getpid()
        self._stamp = time.strftime("%Y%m%dT%H%M%S")
        self._closed = False

    @property
    def current_file(self) -> Path | None:
        """The file being appended to, if one is open."""
        return self._file

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        """Append one line holding ``spans``; FAILURE when the line could not be written whole."""
        if self._closed:
            return SpanExportResult.FAILURE
        if not spans:
            return SpanExportResult.SUCCESS
        try:
            line = encode_line(spans)
        except Exception:  # a span we cannot encode must not stop the store
            _log.exception("agentshield: could not encode %d spans", len(spans))
            return SpanExportResult.FAILURE
        with self._lock:
            try:
                self._write(line)
            except OSError:
                _log.exception("agentshield: could not write to the trace store %s", self.path)
                return SpanExportResult.FAILURE
        return SpanExportResult.SUCCESS

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """``fsync`` the current file unless the policy is ``"never"``."""
        with self._lock:
            if self._fd is not None and self.fsync != "never":
                try:
                    os.fsync(self._fd)
                except OSError:
                    _log.exception("agentshield: fsync of %s failed", self._file)
                    return False
        return True

    def shutdown(self) -> None:
        """Flush and close the current file; later exports fail."""
        self.force_flush()
        with self._lock:
            self._close()
            self._closed = True

    # internals ----------------------------------------------------------------------------------

    def _write(self, line: bytes) -> None:
        if os.getpid() != self._pid:  # forked: the child gets files of its own
            self._fd, self._file, self._pid = None, None, os.getpid()
        if self._fd is None or (self._size and self._size + len(line) > self.max_file_bytes):
            self._rotate()
        assert self._fd is not None
        view = memoryview(line)
        while view:
            # One write per line; the loop only continues after a short write (disk full).
            written = os.write(self._fd, view)
            if written <= 0:
                raise OSError(errno.EIO, "short write to the trace store")
            view = view[written:]
            self._size += written
        if self.fsync == "always":
            os.fsync(self._fd)

    def _rotate(self) -> None:
        if self._fd is not None and self.fsync != "never":
            os.fsync(self._fd)
        self._close()
        self.path.mkdir(parents=True, exist_ok=True)
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | getattr(os, "O_CLOEXEC", 0)
        while True:
            self._seq += 1
            name = f"{self.prefix}-{self._stamp}-{self._pid}-{self._seq:04d}.jsonl"
            target = self.path / name
            try:
                self._fd = os.open(target, flags | os.O_EXCL, 0o600)
            except FileExistsError:
                continue  # a file of an earlier process with the same pid and second
            self._file, self._size = target, 0
            return

    def _close(self) -> None:
        if self._fd is not None:
            try:
                os.close(self._fd)
            finally:
                self._fd, self._file = None, None


def store_files(path: str | os.PathLike[str]) -> list[Path]:
    """The trace files under ``path`` (a file, or a folder searched recursively), oldest first."""
    root = Path(path)
    if root.is_file():
        return [root]
    if not root.is_dir():
        return []
    files = [p for p in root.rglob("*") if p.is_file() and p.suffix in STORE_SUFFIXES]
    return sorted(files, key=lambda p: (p.stat().st_mtime_ns, str(p)))
