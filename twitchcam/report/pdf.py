"""HTML to PDF through headless Chromium (the same engine the report is tested in)."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from twitchcam import netguard
from twitchcam.errors import TwitchcamError


def find_chromium() -> str | None:
    env = os.environ.get("TWITCHCAM_CHROMIUM")
    if env:
        return env if Path(env).is_file() or shutil.which(env) else None
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable",
                 "chrome"):
        p = shutil.which(name)
        if p:
            return p
    return None


# The report is one self-contained file (images inline, no scripts, CSP default-src 'none'):
# printing it needs no network at all, so Chromium gets none.  Its background services
# (updates, sync, metrics, safe browsing, the variations seed, crash reports) are off, it
# runs with a fresh empty profile, and its resolver answers every host name "not found",
# so not even a DNS look-up leaves the machine.
NO_NETWORK_FLAGS = (
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-default-apps", "--disable-extensions", "--disable-domain-reliability",
    "--disable-breakpad", "--disable-client-side-phishing-detection", "--metrics-recording-only",
    "--no-pings", "--no-first-run", "--no-default-browser-check", "--no-service-autorun",
    "--disable-features=OptimizationHints,MediaRouter,Translate,AutofillServerCommunication,"
    "CertificateTransparencyComponentUpdater,InterestFeedContentSuggestions",
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE localhost",
)


def chromium_args(chromium: str, profile: str) -> list[str]:
    """Headless Chromium with no network and a fresh profile in `profile` (a new empty
    temporary folder).  --no-sandbox: Chromium refuses to start as root without it, and it
    only ever opens the report twitchcam just wrote."""
    return [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            *NO_NETWORK_FLAGS, f"--user-data-dir={profile}"]


def offline(cmd: list[str]) -> list[str]:
    """Run cmd where it can open no IPv4/IPv6 socket (Linux; elsewhere the flags alone)."""
    return [sys.executable, "-m", "twitchcam.netguard", *cmd] if netguard.supported() else cmd


def require_chromium() -> str:
    """Chromium's path, or a one-line error saying how to get it."""
    chromium = find_chromium()
    if chromium is None:
        raise TwitchcamError("--pdf needs Chromium: install it (Debian/Ubuntu: apt-get install "
                             "chromium) or set TWITCHCAM_CHROMIUM to its path")
    return chromium


def html_to_pdf(html_path: str | Path, pdf_path: str | Path, chromium: str | None = None,
                timeout: float = 180.0) -> Path:
    chromium = chromium or require_chromium()
    html_path, pdf_path = Path(html_path).resolve(), Path(pdf_path).resolve()
    tmp_pdf = pdf_path.with_name(pdf_path.name + ".part.pdf")
    with tempfile.TemporaryDirectory(prefix="twitchcam-chromium-") as profile:
        cmd = offline(chromium_args(chromium, profile) + [
            f"--print-to-pdf={tmp_pdf}", "--no-pdf-header-footer", html_path.as_uri()])
        try:
            proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise TwitchcamError(f"Chromium did not finish the PDF within {timeout:.0f} s") \
                from None
        except OSError as err:
            raise TwitchcamError(f"cannot run Chromium ({chromium}): {err}") from None
    ok = tmp_pdf.is_file() and tmp_pdf.stat().st_size > 0 and tmp_pdf.read_bytes()[:5] == b"%PDF-"
    if not ok:
        last = (proc.stderr.decode(errors="replace").strip().splitlines() or ["no output"])[-1]
        tmp_pdf.unlink(missing_ok=True)
        raise TwitchcamError(f"Chromium could not print the PDF (exit {proc.returncode}): "
                             f"{last[:200]}")
    os.replace(tmp_pdf, pdf_path)
    return pdf_path
