"""What the last crawl set out to do, and whether it finished: ``<output>/.newsspider/run.json``.

The index alone makes a crash safe for the articles a crawl had *written* (each post is atomic,
its row follows). What it cannot tell is which articles a killed crawl had *listed but not yet
fetched*. Those are still new to the index, so the next run requests them if it reads far
enough; the danger is the incremental stop: the first roll pages may now hold only archived
articles (the killed run fetched those first) and the channel would stop before reaching the
rest.

So a crawl writes this file at its start (status ``running``), updates it as each roll page is
read (per channel: pages read, oldest ``ctime`` listed), and marks it ``complete`` (or
``stopped`` for a paused crawl) at the end. The next run that finds it not complete inherits,
per channel, a *floor*: the oldest item the interrupted run had listed. Until a run has read
past its floor, a channel's incremental stop is off; once past it, the floor is dropped. A floor
a run could not reach (its own ``--pages``/``--since`` ended it first) is kept for the next.

Scrapy-free; the spider calls it. Only the lock holder writes it, so there is no write race.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import time
from pathlib import Path
from typing import Any

from newsspider.archive.index import STATE_DIR

logger = logging.getLogger(__name__)

RUN_FILE = "run.json"
RUNNING, COMPLETE, STOPPED = "running", "complete", "stopped"


class RunState:
    """The run file of one output folder; every change is written at once (atomically)."""

    def __init__(self, output: str | Path) -> None:
        self.path = Path(output) / STATE_DIR / RUN_FILE
        self.data: dict[str, Any] = {}
        #: the previous run's record, as found at :meth:`begin`
        self.previous: dict[str, Any] = {}
        self._write_failed = False

    def load(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text("utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    @property
    def interrupted(self) -> bool:
        """Did the previous run end without marking itself complete (kill, crash, pause)?"""
        return bool(self.previous) and self.previous.get("status") != COMPLETE

    def begin(self, channels: list[str], options: dict[str, Any]) -> dict[str, int]:
        """Start a run; returns the inherited floors (channel -> ctime)."""
        self.previous = self.load()
        floors: dict[str, int] = {
            k: int(v) for k, v in (self.previous.get("floors") or {}).items() if v is not None
        }
        if self.interrupted:
            for key, progress in (self.previous.get("channels") or {}).items():
                oldest = progress.get("oldest_ctime")
                if oldest is not None:
                    floors[key] = min(int(oldest), floors.get(key, int(oldest)))
        self.data = {
            "status": RUNNING,
            "pid": os.getpid(),
            "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "finished": "",
            "channels_requested": channels,
            "options": options,
            "channels": {},
            "floors": floors,
            "previous": {k: self.previous.get(k) for k in ("status", "started", "pid", "reason")}
            if self.previous
            else {},
        }
        self._write()
        return dict(floors)

    def page_read(self, channel: str, page: int, oldest_ctime: int | None) -> None:
        progress = self.data.setdefault("channels", {}).setdefault(
            channel, {"pages": 0, "oldest_ctime": None, "ended": ""}
        )
        progress["pages"] = max(int(progress["pages"]), page)
        if oldest_ctime is not None:
            old = progress["oldest_ctime"]
            progress["oldest_ctime"] = oldest_ctime if old is None else min(old, oldest_ctime)
        self._write()

    def floor_covered(self, channel: str) -> None:
        if self.data.get("floors", {}).pop(channel, None) is not None:
            self._write()

    def channel_ended(self, channel: str, reason: str) -> None:
        progress = self.data.setdefault("channels", {}).setdefault(
            channel, {"pages": 0, "oldest_ctime": None, "ended": ""}
        )
        progress["ended"] = reason
        self._write()

    def finish(self, status: str, reason: str = "") -> None:
        self.data.update(status=status, reason=reason,
                         finished=time.strftime("%Y-%m-%dT%H:%M:%S%z"))  # fmt: skip
        self._write()

    def _write(self) -> None:
        """Replace the file atomically. A write the disk refuses (full, read-only) keeps the
        file as it was: a record of the run that is behind is safe (the next run reads too far,
        never too little, since the previous status stays ``running``), and the crawl goes on
        or stops for its own reasons rather than on this bookkeeping."""
        tmp = self.path.with_name(f".{RUN_FILE}.{os.getpid()}.tmp")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_text(json.dumps(self.data, ensure_ascii=False, indent=1) + "\n", "utf-8")
            os.replace(tmp, self.path)
        except OSError as exc:
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)
            if not self._write_failed:
                logger.warning("could not update %s: %s", self.path, exc.strerror or exc)
            self._write_failed = True


#: temp names (``index.temp_path``, the state files'): ``.<name>[-<crc>-<n>].<pid>.tmp``
_TEMP = re.compile(r"^\..+\.(\d+)\.tmp$")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stale_temp_files(output: str | Path) -> list[Path]:
    """The temp files under ``output`` whose writer is no longer running (a killed crawl's,
    ``fetch``'s or ``index import``'s), sorted. A temp file of a live process (a ``fetch``
    writing beside a crawl) is not one of them: its pid is in its name."""
    root = Path(output)
    found: list[Path] = []
    for top in ("_posts", "images", STATE_DIR):
        for folder, _dirs, files in os.walk(root / top):
            for name in files:
                m = _TEMP.match(name)
                if m and int(m.group(1)) != os.getpid() and not _alive(int(m.group(1))):
                    found.append(Path(folder) / name)
    return sorted(found)


def sweep_temp_files(output: str | Path) -> list[Path]:
    """Delete the temp files a killed writer left (posts, images, state), and return them.

    A temp file whose writer is still alive (a ``fetch`` running beside this crawl) is left
    alone: its pid is in its name. Called by the lock holder at the start of a crawl; the cost
    is one directory listing of the archive.
    """
    removed: list[Path] = []
    for path in stale_temp_files(output):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
            removed.append(path)
    return removed
