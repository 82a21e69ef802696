"""Headless Chromium driven over the DevTools protocol, standard library only.

Chromium is started with ``--remote-debugging-pipe``: protocol messages are NUL-terminated JSON on
file descriptors 3 (to the browser) and 4 (from it), so no websocket client and no browser
download are needed; Debian's ``chromium`` package is enough. :meth:`Browser.visit` loads a page,
waits for its ``load`` event and network quiet, and reports what a person would notice: console
errors, uncaught exceptions, failed requests, requests that left the machine, and each image's
natural size.
"""

from __future__ import annotations

import base64
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-default-apps",
    "--no-first-run",
    "--no-default-browser-check",
    "--hide-scrollbars",
    "--mute-audio",
)


def find_chromium() -> str | None:
    for name in CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    return None


@dataclass
class PageReport:
    url: str
    title: str = ""
    console_errors: list[str] = field(default_factory=list)
    exceptions: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    requested_urls: list[str] = field(default_factory=list)
    images: list[dict[str, Any]] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)
    text: str = ""
    screenshot: Path | None = None
    #: per tutorial figure: its smallest label font on screen, px (``data-min-font-px`` at the
    #: image's natural size, times the displayed / natural width)
    figure_fonts: list[dict[str, Any]] = field(default_factory=list)
    #: tables wider than their box with no scrolling ancestor (cut off)
    clipped_tables: list[str] = field(default_factory=list)


class Browser:
    """One headless Chromium process; use as a context manager."""

    def __init__(self, executable: str, *, width: int = 1280, height: int = 900) -> None:
        self.executable = executable
        self.width = width
        self.height = height
        self._profile = tempfile.mkdtemp(prefix="captum-ext-chromium-")
        self._buf = b""
        self._next_id = 0
        self._events: list[dict[str, Any]] = []

    # -- process and protocol ----------------------------------------------------------------
    def __enter__(self) -> Browser:
        to_child_r, self._to_browser = os.pipe()
        self._from_browser, from_child_w = os.pipe()

        def wire_fds() -> None:  # in the child, before exec: fd 3 = commands, fd 4 = replies
            a, b = os.dup(to_child_r), os.dup(from_child_w)
            os.dup2(a, 3)
            os.dup2(b, 4)

        self._stderr = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            [
                self.executable,
                *CHROMIUM_FLAGS,
                f"--user-data-dir={self._profile}",
                f"--window-size={self.width},{self.height}",
                "--remote-debugging-pipe",
                "about:blank",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=self._stderr,
            preexec_fn=wire_fds,
            close_fds=False,
        )
        os.close(to_child_r)
        os.close(from_child_w)
        return self

    def __exit__(self, *exc: Any) -> None:
        try:
            self._call("Browser.close", timeout=10)
        except Exception:
            pass
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=15)
        for fd in (self._to_browser, self._from_browser):
            try:
                os.close(fd)
            except OSError:
                pass
        self._stderr.close()
        shutil.rmtree(self._profile, ignore_errors=True)

    def _send(self, method: str, params: dict | None, session: str | None) -> int:
        self._next_id += 1
        msg: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self._to_browser, json.dumps(msg).encode() + b"\0")
        return self._next_id

    def _recv(self, timeout: float) -> dict[str, Any] | None:
        deadline = time.monotonic() + timeout
        while b"\0" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            ready, _, _ = select.select([self._from_browser], [], [], left)
            if not ready:
                return None
            chunk = os.read(self._from_browser, 1 << 20)
            if not chunk:
                raise RuntimeError(f"chromium exited: {self._stderr_tail()}")
            self._buf += chunk
        raw, self._buf = self._buf.split(b"\0", 1)
        return json.loads(raw)

    def _call(
        self, method: str, params: dict | None = None, session: str | None = None, timeout=60.0
    ) -> dict[str, Any]:
        msg_id = self._send(method, params, session)
        deadline = time.monotonic() + timeout
        while True:
            msg = self._recv(max(0.0, deadline - time.monotonic()))
            if msg is None:
                raise TimeoutError(f"no reply to {method} within {timeout} s")
            if msg.get("id") == msg_id:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            self._events.append(msg)

    def _pump(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            msg = self._recv(left)
            if msg is None:
                return
            self._events.append(msg)

    def _stderr_tail(self) -> str:
        self._stderr.seek(0)
        return self._stderr.read().decode(errors="replace")[-2000:]

    # -- a page ------------------------------------------------------------------------------
    def visit(
        self,
        url: str,
        *,
        count_selectors: dict[str, str] | None = None,
        screenshot: Path | None = None,
        first_screen: Path | None = None,
        expressions: dict[str, str] | None = None,
        load_timeout: float = 60.0,
    ) -> PageReport:
        """Open ``url`` in a fresh tab and report what happened (see the module docstring)."""
        target = self._call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self._call("Target.attachToTarget", {"targetId": target, "flatten": True})[
            "sessionId"
        ]
        self._events = []
        for domain in ("Page", "Runtime", "Log", "Network"):
            self._call(f"{domain}.enable", session=session)
        self._call("Page.navigate", {"url": url}, session=session)
        deadline = time.monotonic() + load_timeout
        while not any(e.get("method") == "Page.loadEventFired" for e in self._events):
            msg = self._recv(max(0.0, deadline - time.monotonic()))
            if msg is None:
                raise TimeoutError(f"{url} did not finish loading within {load_timeout} s")
            self._events.append(msg)
        self._pump(1.0)  # late scripts, lazy images, the search worker

        report = PageReport(url=url)

        def evaluate(expression: str) -> Any:
            res = self._call(
                "Runtime.evaluate",
                {"expression": expression, "returnByValue": True, "awaitPromise": True},
                session=session,
            )
            if "exceptionDetails" in res:
                raise RuntimeError(f"evaluating {expression!r}: {res['exceptionDetails']}")
            return res["result"].get("value")

        report.title = evaluate("document.title")
        report.images = evaluate(
            "Promise.all(Array.from(document.images).map(i => (i.complete ? Promise.resolve() :"
            " new Promise(r => { i.onload = i.onerror = r; })).then(() => ({src: i.src,"
            " complete: i.complete, width: i.naturalWidth, height: i.naturalHeight}))))"
        )
        report.counts = {
            name: evaluate(f"document.querySelectorAll({json.dumps(sel)}).length")
            for name, sel in (count_selectors or {}).items()
        }
        report.text = evaluate("document.body.innerText")
        report.values = {name: evaluate(expr) for name, expr in (expressions or {}).items()}
        if first_screen is not None:  # what a person sees before scrolling, at the window's size
            shot = self._call(
                "Page.captureScreenshot",
                {"format": "png", "clip": {"x": 0, "y": 0, "width": self.width,
                                           "height": self.height, "scale": 1}},
                session=session,
            )  # fmt: skip
            first_screen.parent.mkdir(parents=True, exist_ok=True)
            first_screen.write_bytes(base64.b64decode(shot["data"]))
        report.figure_fonts = evaluate(
            "Array.from(document.querySelectorAll('figure.tutorial-figure img'))"
            ".filter(i => i.dataset.minFontPx && i.naturalWidth > 0)"
            ".map(i => ({src: i.src, natural: parseFloat(i.dataset.minFontPx),"
            " px: parseFloat(i.dataset.minFontPx) * i.getBoundingClientRect().width"
            " / i.naturalWidth}))"
        )
        report.clipped_tables = evaluate(
            "Array.from(document.querySelectorAll('article table')).filter(t => {"
            " const w = t.getBoundingClientRect().width;"
            " for (let e = t.parentElement; e && e.tagName !== 'ARTICLE'; e = e.parentElement) {"
            "  const o = getComputedStyle(e).overflowX;"
            "  if (o === 'auto' || o === 'scroll') return false;"
            "  if (e.getBoundingClientRect().width + 1 < w) return true; }"
            " return false; }).map(t => t.innerText.slice(0, 60))"
        )

        for e in self._events:
            method, params = e.get("method"), e.get("params", {})
            if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                args = " ".join(
                    str(a.get("value", a.get("description", ""))) for a in params["args"]
                )
                report.console_errors.append(args)
            elif method == "Runtime.exceptionThrown":
                details = params["exceptionDetails"]
                desc = details.get("exception", {}).get("description") or details.get("text")
                report.exceptions.append(
                    f"{desc} at {details.get('url')}:{details.get('lineNumber')}"
                )
            elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
                entry = params["entry"]
                report.console_errors.append(f"{entry.get('text')} ({entry.get('url', '')})")
            elif method == "Network.requestWillBeSent":
                report.requested_urls.append(params["request"]["url"])
            elif method == "Network.loadingFailed" and not params.get("canceled"):
                report.failed_requests.append(f"{params.get('type')}: {params.get('errorText')}")

        if screenshot is not None:
            metrics = self._call("Page.getLayoutMetrics", session=session)
            height = int(metrics.get("cssContentSize", metrics.get("contentSize"))["height"])
            height = max(self.height, min(height, 16000))
            self._call(
                "Emulation.setDeviceMetricsOverride",
                {"width": self.width, "height": height, "deviceScaleFactor": 1, "mobile": False},
                session=session,
            )
            self._pump(0.5)
            shot = self._call(
                "Page.captureScreenshot",
                {"format": "png", "captureBeyondViewport": True},
                session=session,
            )
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            screenshot.write_bytes(base64.b64decode(shot["data"]))
            report.screenshot = screenshot

        self._call("Target.closeTarget", {"targetId": target})
        return report
