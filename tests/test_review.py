"""Review (issue 18): a person confirms or rejects each one-sided event; review.csv beside the
never-changed events.csv; the page is local, token-guarded and saves each decision at once."""
from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from pathlib import Path

import pytest

import twitchcam
from tests.test_cli import twitchcam as cli
from twitchcam.errors import TwitchcamError
from twitchcam.review.server import ReviewServer
from twitchcam.store import review
from twitchcam.store.lock import SessionLock
from twitchcam.store.session import EVENTS_FILE


@pytest.fixture
def session(tmp_path) -> Path:
    folder = tmp_path / "s"
    twitchcam.detect(twitchcam.simulate(120, seed=1, sides=("left", "right"))).save(folder)
    return folder


def test_decisions_go_to_review_csv_and_never_change_events_csv(session):
    before = (session / EVENTS_FILE).read_bytes()
    found = review.decide(session, {1: ("confirmed", None), 2: ("rejected", None), 4: (None, "right")})
    assert [(it.id, it.decision, it.final_side) for it in found[:4]] == [
        (1, "confirmed", "left"), (2, "rejected", "left"), (3, "", found[2].event.side), (4, "confirmed", "right")]
    assert (session / EVENTS_FILE).read_bytes() == before
    again, bad = review.items(session)
    assert bad == 0 and [(it.decision, it.final_side) for it in again] == [(it.decision, it.final_side) for it in found]
    review.decide(session, {1: ("", None)})  # undone
    assert review.items(session)[0][0].decision == ""


def test_counts_per_side_and_the_confirmed_rate_once_all_are_reviewed(session):
    found, _ = review.items(session)
    valid_s = twitchcam.read_session(session).summary["valid_s"]
    c = review.counts(found, valid_s)
    assert not c["fully_reviewed"] and c["left"]["confirmed_per_min"] is None
    assert c["left"]["unreviewed"] == c["left"]["detected"] > 0
    review.decide(session, {it.id: ("confirmed" if k % 2 else "rejected", None) for k, it in enumerate(found)})
    c = review.counts(review.items(session)[0], valid_s)
    assert c["fully_reviewed"] and c["left"]["unreviewed"] == 0
    assert c["left"]["confirmed_per_min"] == pytest.approx(c["left"]["confirmed"] / (valid_s / 60), abs=1e-3)
    result = twitchcam.read_session(session)  # the API has the decisions beside the events
    one_sided = result.events[result.events.side != "both"]
    assert list(one_sided.id) == [it.id for it in found] and set(one_sided.decision) == {"confirmed", "rejected"}
    assert result.summary["review"]["fully_reviewed"]


def test_unknown_ids_and_values_change_nothing(session):
    with pytest.raises(TwitchcamError, match="no event 999"):
        review.decide(session, {1: ("confirmed", None), 999: ("confirmed", None)})
    with pytest.raises(TwitchcamError):
        review.decide(session, {1: ("maybe", None)})
    assert not (session / review.REVIEW_FILE).exists()
    p = cli("review", session, "--confirm", "999")
    assert p.returncode == 2 and "no event 999" in p.stderr and len(p.stderr.strip().splitlines()) == 1


def test_a_decision_on_another_analysis_is_not_applied(session):
    review.decide(session, {1: ("confirmed", None)})
    text = (session / review.REVIEW_FILE).read_text().splitlines()
    cells = text[1].split(",")
    cells[1] = "0.123"  # the event 1 of another analysis started elsewhere
    (session / review.REVIEW_FILE).write_text("\n".join([text[0], ",".join(cells), "garbage,,,", "7,x,confirmed,,"]))
    found, bad = review.items(session)
    assert found[0].decision == "" and bad == 2


def test_no_decision_while_the_session_is_being_recorded(session):
    lock = SessionLock(session).acquire()
    try:
        with pytest.raises(TwitchcamError, match="still being recorded"):
            review.decide(session, {1: ("confirmed", None)})
    finally:
        lock.release()


def test_the_command_line_lists_and_decides(session):
    p = cli("review", session, "--confirm", "1", "--reject", "2", "--side", "3=left")
    assert p.returncode == 0, p.stderr
    p = cli("review", session, "--list", "--json")
    rows = json.loads(p.stdout)
    assert [r["decision"] for r in rows[:3]] == ["confirmed", "rejected", "confirmed"] and rows[2]["side"] == "left"
    assert set(rows[0]) >= {"id", "onset_s", "side", "kind", "decision"}


# -- the page's server --------------------------------------------------------------------------
def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def _post(url: str, data: dict) -> tuple[int, dict]:
    req = urllib.request.Request(url, json.dumps(data).encode(), {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        body = e.read()
        return e.code, json.loads(body) if body.startswith(b"{") else {"error": body.decode()}


def test_the_page_needs_its_token_and_serves_nothing_else(session, tmp_path):
    (tmp_path / "secret.txt").write_text("private")
    with ReviewServer([session]) as server:
        base = server.url.split("?")[0]
        assert server.url.startswith("http://127.0.0.1:")
        for path in ("", "api/items", "strip/0/1.png", "clip/0/1"):
            assert _get(base + path)[0] == 403
            assert _get(base + path + "?t=wrong")[0] == 403
        q = "?t=" + server.token
        code, page = _get(base + q)
        assert code == 200 and b"Review one-sided events" in page
        for path in ("../secret.txt", "strip/0/../../secret.txt", "strip/5/1.png", "etc/passwd"):
            code, body = _get(base + path + q)
            assert code == 404 and b"private" not in body
        code, items = _get(base + "api/items" + q)
        items = json.loads(items)
        assert code == 200 and items and items[0]["id"] == 1 and items[0]["strip"] is False
        assert _post(base + "api/decide?t=wrong", {"session": 0, "id": 1, "decision": "confirmed"})[0] == 403
        code, row = _post(base + "api/decide" + q, {"session": 0, "id": 1, "decision": "confirmed"})
        assert code == 200 and row["decision"] == "confirmed"
        code, err = _post(base + "api/decide" + q, {"session": 0, "id": 999, "decision": "confirmed"})
        assert code == 409 and "no event 999" in err["error"]
    assert review.items(session)[0][0].decision == "confirmed"


def test_two_pages_on_one_session_do_not_interleave(session):
    ids = [it.id for it in review.items(session)[0]]
    with ReviewServer([session]) as a, ReviewServer([session]) as b:
        def run(server, decision):
            base, q = server.url.split("?")[0], "?t=" + server.token
            for k in ids:
                _post(base + "api/decide" + q, {"session": 0, "id": k, "decision": decision if k % 2 else "rejected"})

        threads = [threading.Thread(target=run, args=(a, "confirmed")), threading.Thread(target=run, args=(b, "confirmed"))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    found, bad = review.items(session)
    assert bad == 0 and [it.decision for it in found] == ["confirmed" if k % 2 else "rejected" for k in ids]


# -- in a real browser ---------------------------------------------------------------------------
SHOTS = Path(__file__).resolve().parent.parent / ".screenshots"


@pytest.mark.skipif(__import__("twitchcam.report.pdf", fromlist=["find_chromium"]).find_chromium() is None,
                    reason="needs chromium")
def test_a_person_reviews_in_chromium_with_the_keys(session, tmp_path):
    """Debian's Chromium opens the page, confirms one event (y), rejects the next (n), moves the
    third to the other side (s); review.csv and the report say so."""
    from tests.cdp import Browser

    first = review.items(session)[0][:3]
    with ReviewServer([session]) as server, Browser() as browser:
        browser.open(server.url)
        browser.wait_for("document.querySelectorAll('.ev').length > 0")
        for key in ("y", "n", "s"):
            before = browser.eval("document.querySelectorAll('.dec.unreviewed').length")
            browser.press(key)
            browser.wait_for(f"document.querySelectorAll('.dec.unreviewed').length < {before}")
        SHOTS.mkdir(exist_ok=True)
        browser.screenshot(SHOTS / "review_page.png")
        assert (SHOTS / "review_page.png").stat().st_size > 10_000
    found = review.items(session)[0][:3]
    assert [it.decision for it in found] == ["confirmed", "rejected", "confirmed"]
    assert found[2].final_side != first[2].event.side
    out = tmp_path / "r.html"
    assert cli("report", session, "--out", out).returncode == 0
    assert "Reviewed" in out.read_text()


# -- evidence strips -------------------------------------------------------------------------------
def test_the_evidence_ring_stays_a_few_seconds_long():
    import numpy as np

    from twitchcam.video.evidence import RING_S, EvidenceRecorder

    rec = EvidenceRecorder(Path("/nonexistent"), 30.0)
    points = np.zeros((478, 3))
    points[33, :2], points[263, :2] = (100, 120), (180, 120)
    rgb = np.zeros((240, 320, 3), np.uint8)
    for k in range(30 * 60):  # a minute of frames
        rec.add(k / 30, rgb, points, True)
    assert len(rec.ring) <= RING_S * 30 + 1 and rec.ring[-1][0] == pytest.approx(1799 / 30)


@pytest.mark.slow
def test_analyze_with_evidence_writes_a_strip_per_one_sided_event_and_the_report_shows_them(tmp_path, single_face_clip,
                                                                                           model):
    import base64

    import cv2
    import numpy as np

    from twitchcam.synth import inject as si

    clip = single_face_clip
    rng = np.random.default_rng(3)
    events = [si.make_event(rng, 3.0, "left", "clonic", 1.0), si.make_event(rng, 7.0, "right", "tonic", 1.0)]
    si.inject_video(clip, tmp_path / "inj.avi", tmp_path / "inj_truth.csv", events, duration_s=12.0)
    folder = tmp_path / "s"
    p = cli("analyze", tmp_path / "inj.avi", "--evidence", "--out", folder)
    assert p.returncode == 0, p.stderr
    found = review.items(folder)[0]
    strips = sorted((folder / "evidence").glob("[0-9]*.png"), key=lambda q: int(q.stem))
    assert {it.event.side for it in found} >= {"left", "right"}
    assert [int(q.stem) for q in strips] == [it.id for it in found]
    for q in strips:
        img = cv2.imread(str(q))
        assert img is not None and img.shape[1] > 4 * img.shape[0] and q.stat().st_size < 150_000
    out = tmp_path / "r.html"
    assert cli("report", folder, "--out", out).returncode == 0
    html = out.read_text()
    assert "Evidence" in html and base64.b64encode(strips[0].read_bytes()).decode()[:200] in html
    with ReviewServer([folder]) as server:
        code, body = _get(server.url.split("?")[0] + f"strip/0/1.png?t={server.token}")
        assert code == 200 and body == strips[0].read_bytes()
