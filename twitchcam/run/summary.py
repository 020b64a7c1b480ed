"""summary.json, built whole in this one place, whatever made the session.

The figures come from `twitchcam.core.summary.summarize`; this adds what only the run knows,
so no caller patches a summary afterwards or reads summary.json back to rewrite it.
"""
from __future__ import annotations

from twitchcam.core.events import Event
from twitchcam.core.summary import FrameTotals, summarize

# What a summary made again from stored frames (`detect`) keeps of the session's session.json.
PROVENANCE = ("started_at", "source", "source_id", "mode", "fps", "mirrored", "model_sha256")


def provenance(meta: dict) -> dict:
    return {k: meta.get(k) for k in PROVENANCE}


def session_summary(totals: FrameTotals, events: list[Event], meta: dict, status: str,
                    bad_rows: int | None = None, live: dict | None = None) -> dict:
    """Every field of summary.json.

    `totals` and `events` give the figures, `meta` the provenance (source, frame rate,
    parameters, ...) and `status` how the session ended.  Two kinds of run know more:
    `detect` how many damaged rows of frames.csv it skipped (`bad_rows`), and `live` its own
    figures (`live`: frames captured, dropped, delays, how it ended), whose dropped frames
    are also given at the top (`dropped_frames`).
    """
    summary = summarize(totals, events, {**meta, "status": status})
    if bad_rows is not None:
        summary["bad_rows"] = bad_rows
    if live is not None:
        summary["dropped_frames"] = live["dropped_frames"]
        summary["live"] = live
    return summary
