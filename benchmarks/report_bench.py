"""Benchmark: a report over 200 one-hour sessions spread over a year ("seconds, not minutes").

Writes 200 simulated session folders (the session folder contract; ~5000 events each, with
a 108 000-row frames.csv per session -- one file hard-linked into every folder, so setup
stays quick and the disk small), a treatment log with an injection every ~3 months, then
times:

- ``twitchcam sessions`` index: cold build and warm refresh;
- the report with the default layout (trend pages for all sessions + full detail for the
  most recent one);
- the report with ``--detail none`` (trend only);
- the per-session cost of full detail (``--detail all`` over a few sessions);
- optionally (``--pdf``) printing the default report to PDF with headless Chromium.

Run:  .venv/bin/python benchmarks/report_bench.py [--sessions 200] [--hours 1] [--pdf]
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.test_report import frame_arrays, product_summary, typical_sim, write_session  # noqa: E402  (the tests' session simulator)
from twitchcam.report import html as report  # noqa: E402
from twitchcam.report import pdf as report_pdf
from twitchcam.store import index, treatments  # noqa: E402


def timed(label: str, fn, results: dict):
    t = time.perf_counter()
    out = fn()
    took = time.perf_counter() - t
    results[label] = took
    print(f"{label:<48s} {took:8.2f} s", flush=True)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sessions", type=int, default=200)
    ap.add_argument("--hours", type=float, default=1.0, help="length of each session")
    ap.add_argument("--pdf", action="store_true", help="also time the PDF (needs Chromium)")
    ap.add_argument("--keep", metavar="DIR", help="write sessions and reports here and keep "
                                                   "them (default: a temporary folder)")
    args = ap.parse_args()
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="twitchcam-bench-"))
    rec = work / "recordings"
    if rec.exists():
        shutil.rmtree(rec)
    rec.mkdir(parents=True)
    n, dur = args.sessions, args.hours * 3600
    results: dict[str, float] = {}
    start = dt.datetime(2024, 1, 2, 20, 0)
    step = dt.timedelta(days=365 / max(n, 1))
    inj = [dt.date(2024, 1, 20) + dt.timedelta(days=91 * k) for k in range(4)]

    def rate_at(day: dt.date) -> float:  # spasms come back as the toxin wears off
        last = max([d for d in inj if d <= day], default=None)
        if last is None:
            return 1.5
        return 0.3 + 1.4 * min(1.0, (day - last).days / 90) ** 2

    sims = []
    for i in range(n):
        when = start + step * i
        sims.append(typical_sim(when.isoformat(timespec="seconds"), duration_s=dur, seed=i,
                                rate_scale=rate_at(when.date())))

    def setup():
        latest = sims[-1]
        first = write_session(rec / f"s{n - 1:03d}", latest)  # real frames for the latest
        shared = frame_arrays(latest)  # the others link its frames.csv: their summaries count those frames
        for i, sim in enumerate(sims[:-1]):
            write_session(rec / f"s{i:03d}", sim, summary=product_summary(sim, shared),
                          frames_from=first / "frames.csv")
        for d in inj:
            treatments.add(treatments.path_for(rec), d.isoformat(), "left", "botox", "25 U")

    timed(f"setup: write {n} x {args.hours:g} h session folders", setup, results)
    rows = sum(1 for _ in open(rec / f"s{n - 1:03d}" / "frames.csv")) - 1
    events = sum(len(s.events) for s in sims)
    print(f"  ({rows} frames per session, {events} events in all)")
    log = treatments.load(treatments.path_for(rec))
    dirs = sorted(p for p in rec.iterdir() if p.is_dir())

    timed("sessions index: cold build", lambda: index.sync(rec, rebuild=True), results)
    timed("sessions index: warm refresh", lambda: index.sync(rec), results)
    res = timed(f"report, {n} sessions, detail=latest (default)",
                lambda: report.write_report(dirs, work / "report.html", treatments=log),
                results)
    timed(f"report, {n} sessions, detail=none",
          lambda: report.write_report(dirs, work / "report_trend.html", treatments=log,
                                      detail="none"), results)
    k = min(5, n)
    timed(f"report, {k} sessions, detail=all",
          lambda: report.write_report(dirs[-k:], work / "report_all.html", detail="all"),
          results)
    if args.pdf:
        if report_pdf.find_chromium() is None:
            print("PDF: skipped, chromium not installed")
        else:
            timed("PDF of the default report (headless Chromium)",
                  lambda: report_pdf.html_to_pdf(res["html"], work / "report.pdf"), results)
    size = (work / "report.html").stat().st_size
    print(f"report.html: {size / 1e6:.2f} MB; per-session detail costs about "
          f"{results[f'report, {k} sessions, detail=all'] / k:.2f} s")
    print("RESULT " + json.dumps({k2: round(v, 3) for k2, v in results.items()}))
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    else:
        print(f"kept in {work}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
