"""A small Chrome DevTools Protocol client over ``--remote-debugging-pipe``, for tests.

Why this and not Playwright or Selenium: Playwright downloads its own browser (not reachable
here) and Selenium needs a driver binary; Debian's ``chromium`` speaks CDP itself. Over a pipe
(fd 3: commands in, fd 4: messages out, each a JSON text ended by NUL) there is no port to pick,
no websocket library to install and no other process can attach. Only what the site tests need:
open a page in a fresh target, wait for its load and for the network to go quiet, record every
request, failure and console error, evaluate JavaScript, take a screenshot.

A missing Chromium is a RuntimeError (the browser tests fail, never skip).
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import queue
import shutil
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: Debian's package (``apt-get install chromium``) installs this wrapper
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")


def find_chromium() -> str:
    """The browser binary, or a RuntimeError saying how to install it."""
    override = os.environ.get("NEWSSPIDER_CHROMIUM")
    if override:
        return override
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    raise RuntimeError(
        "Chromium was not found on PATH. The site browser test needs Debian's chromium "
        "(`apt-get update && apt-get install -y chromium`, as .ci/run does) or "
        "NEWSSPIDER_CHROMIUM=/path/to/chrome. This test deliberately does not skip."
    )


@dataclass
class PageLog:
    """What one page load did, as the browser saw it."""

    url: str
    requests: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)  # "URL: reason"
    bad_status: list[str] = field(default_factory=list)  # "URL: HTTP 404"
    console_errors: list[str] = field(default_factory=list)


class Browser:
    """One headless Chromium, driven over the DevTools pipe. Use as a context manager."""

    def __init__(self, *, timeout: float = 30.0, width: int = 1200, height: int = 900) -> None:
        self.timeout = timeout
        self.width, self.height = width, height
        self._profile = tempfile.mkdtemp(prefix="newsspider-chromium-")
        self._next_id = 0
        self._pending: dict[int, queue.Queue[dict[str, Any]]] = {}
        self._events: queue.Queue[dict[str, Any]] = queue.Queue()
        self._lock = threading.Lock()
        self.stderr_path = Path(self._profile) / "stderr.log"
        binary = find_chromium()
        # commands: we write cmd_w, Chromium reads fd 3; messages: Chromium writes fd 4
        cmd_r, self._cmd_w = os.pipe()
        self._msg_r, msg_w = os.pipe()
        flags = [
            "--headless",
            "--no-sandbox",  # root in a container: the sandbox cannot start
            "--disable-gpu",
            "--remote-debugging-pipe",
            f"--user-data-dir={self._profile}",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-default-apps",
            "--disable-sync",
            "--disable-extensions",
            "--disable-features=Translate,OptimizationHints,MediaRouter,AutofillServerCommunication",
            "--metrics-recording-only",
            "--mute-audio",
            # a request for any other host fails at once (and is recorded): tests never touch
            # the network, and a stray request must show up as a failure, not as a wait
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
            f"--window-size={width},{height}",
            "about:blank",
        ]

        def to_fds_3_and_4() -> None:  # in the child, before exec: the pipe's two ends
            # moved above 4 first: either end may itself be fd 3 or 4 (and dup2 of an fd onto
            # itself would leave it close-on-exec)
            high = [fcntl.fcntl(fd, fcntl.F_DUPFD, 10) for fd in (cmd_r, msg_w)]
            for wanted, fd in zip((3, 4), high, strict=True):
                os.dup2(fd, wanted)
                os.set_inheritable(wanted, True)

        with open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen(
                [binary, *flags],
                stdin=subprocess.DEVNULL,
                stdout=err,
                stderr=err,
                close_fds=False,  # fds 3 and 4 must survive; Python's own fds are not inherited
                preexec_fn=to_fds_3_and_4,
            )
        os.close(cmd_r)
        os.close(msg_w)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.version = self.send("Browser.getVersion")

    # --- plumbing ---------------------------------------------------------------------------

    def _read(self) -> None:
        buf = b""
        with os.fdopen(self._msg_r, "rb", buffering=0) as pipe:
            while True:
                chunk = pipe.read(1 << 16)
                if not chunk:
                    break
                buf += chunk
                while b"\0" in buf:
                    raw, buf = buf.split(b"\0", 1)
                    msg = json.loads(raw)
                    target = self._pending.get(msg["id"]) if "id" in msg else None
                    if target is not None:
                        target.put(msg)
                    elif "method" in msg:
                        self._events.put(msg)

    def send(self, method: str, params: dict[str, Any] | None = None,
             session: str | None = None) -> dict[str, Any]:  # fmt: skip
        """Send one command and return its result (RuntimeError on a protocol error)."""
        with self._lock:
            self._next_id += 1
            ident = self._next_id
            box: queue.Queue[dict[str, Any]] = queue.Queue()
            self._pending[ident] = box
            msg: dict[str, Any] = {"id": ident, "method": method, "params": params or {}}
            if session:
                msg["sessionId"] = session
            os.write(self._cmd_w, json.dumps(msg).encode() + b"\0")
        try:
            answer = box.get(timeout=self.timeout)
        except queue.Empty:
            raise RuntimeError(
                f"no answer to {method} within {self.timeout:.0f}s; Chromium's stderr: "
                f"{self.stderr_path.read_text(errors='replace')[-2000:]}"
            ) from None
        finally:
            self._pending.pop(ident, None)
        if "error" in answer:
            raise RuntimeError(f"{method}: {answer['error']}")
        return dict(answer.get("result", {}))

    def _drain(self) -> list[dict[str, Any]]:
        out = []
        while True:
            try:
                out.append(self._events.get_nowait())
            except queue.Empty:
                return out

    # --- pages ------------------------------------------------------------------------------

    def open(self, url: str, *, quiet: float = 0.5) -> Page:
        """Open ``url`` in a new target; returns when it has loaded and no request has been in
        flight for ``quiet`` seconds."""
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})[
            "sessionId"
        ]
        page = Page(self, target, session, url)
        for domain in ("Network", "Runtime", "Log", "Page"):
            self.send(f"{domain}.enable", session=session)
        self.send("Network.setCacheDisabled", {"cacheDisabled": True}, session=session)
        self.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": self.width, "height": self.height, "deviceScaleFactor": 1, "mobile": False},
            session=session,
        )
        self._drain()
        self.send("Page.navigate", {"url": url}, session=session)
        page.wait_loaded(quiet)
        return page

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.send("Browser.close")
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        with contextlib.suppress(OSError):
            os.close(self._cmd_w)
        shutil.rmtree(self._profile, ignore_errors=True)

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Page:
    """One open page: its log, and evaluation and screenshots on it."""

    def __init__(self, browser: Browser, target: str, session: str, url: str) -> None:
        self.browser, self.target, self.session = browser, target, session
        self.log = PageLog(url)
        self._inflight: dict[str, str] = {}

    def _handle(self, ev: dict[str, Any]) -> bool:
        """Record one event of this page; True for the load event."""
        if ev.get("sessionId") != self.session:
            return False
        method, p = ev["method"], ev.get("params", {})
        log = self.log
        if method == "Network.requestWillBeSent":
            url = p["request"]["url"]
            log.requests.append(url)
            self._inflight[p["requestId"]] = url
        elif method == "Network.responseReceived":
            status = int(p["response"]["status"])
            if status >= 400:
                log.bad_status.append(f"{p['response']['url']}: HTTP {status}")
        elif method == "Network.loadingFinished":
            self._inflight.pop(p["requestId"], None)
        elif method == "Network.loadingFailed":
            url = self._inflight.pop(p["requestId"], "?")
            reason = p.get("blockedReason") or p.get("errorText") or "failed"
            log.failures.append(f"{url}: {reason}")
        elif method == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
            text = " ".join(str(a.get("value", a.get("description", ""))) for a in p["args"])
            log.console_errors.append(f"console.{p['type']}: {text}")
        elif method == "Runtime.exceptionThrown":
            details = p.get("exceptionDetails", {})
            text = details.get("exception", {}).get("description") or details.get("text", "")
            log.console_errors.append(f"uncaught: {text}")
        elif method == "Log.entryAdded" and p["entry"].get("level") == "error":
            entry = p["entry"]
            log.console_errors.append(f"{entry.get('source')}: {entry.get('text')} "
                                      f"{entry.get('url', '')}".strip())  # fmt: skip
        return method == "Page.loadEventFired"

    def wait_loaded(self, quiet: float) -> None:
        deadline = time.monotonic() + self.browser.timeout
        loaded = False
        last_activity = time.monotonic()
        while time.monotonic() < deadline:
            try:
                ev = self.browser._events.get(timeout=0.05)
            except queue.Empty:
                if loaded and not self._inflight and time.monotonic() - last_activity >= quiet:
                    return
                continue
            if ev.get("sessionId") == self.session:
                last_activity = time.monotonic()
            loaded = self._handle(ev) or loaded
        raise RuntimeError(
            f"{self.log.url}: not loaded within {self.browser.timeout:.0f}s "
            f"(loaded={loaded}, in flight: {sorted(self._inflight.values())})"
        )

    def evaluate(self, expression: str) -> Any:
        """The JSON value of ``expression`` (awaited when it is a promise)."""
        result = self.browser.send(
            "Runtime.evaluate",
            {"expression": expression, "returnByValue": True, "awaitPromise": True},
            session=self.session,
        )
        if "exceptionDetails" in result:
            raise RuntimeError(f"evaluate failed: {result['exceptionDetails']}")
        for ev in self.browser._drain():  # keep what arrived meanwhile in the log
            self._handle(ev)
        return result["result"].get("value")

    def screenshot(self, path: Path, *, full_page: bool = True) -> Path:
        """A PNG of the page (the whole page by default)."""
        params: dict[str, Any] = {"format": "png"}
        if full_page:
            size = self.evaluate(
                "[document.documentElement.scrollWidth, document.documentElement.scrollHeight]"
            )
            params["clip"] = {"x": 0, "y": 0, "width": size[0], "height": min(size[1], 6000),
                              "scale": 1}  # fmt: skip
            params["captureBeyondViewport"] = True
        data = self.browser.send("Page.captureScreenshot", params, session=self.session)["data"]
        path.write_bytes(base64.b64decode(data))
        return path

    def close(self) -> None:
        self.browser.send("Target.closeTarget", {"targetId": self.target})
