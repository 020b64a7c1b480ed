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
from twitchcam.store.session import EVENTS_FILE, SessionLock


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
