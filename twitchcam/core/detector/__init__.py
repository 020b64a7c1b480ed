"""Lateralized spasm detector: the performance-critical loop.

Input per frame: a timestamp, a validity flag, the FILTERED per-side eye and mouth
features, and the head's yaw (no video, no I/O).  Output: events.

How it decides, per side s (o = the other side):
1. Normalise to the person.  closure_s = 1 - eye_open_s / B_s, where B_s is a high
   quantile of that eye's own recent valid openings (its open-eye level).  Resting
   asymmetry cancels because each eye is measured against itself.
2. Separate one side from both.  lateral_s = (open_o - open_s) / open_o (open = 1 -
   closure) is large only when s closes and o does not; it is judged only while o is
   open enough to compare (runs.comparable).  bilateral = min(closure_l, closure_r),
   measured above its lowest level of the last blink_floor_s, is large only when both
   close; a two-sided run is a blink if both eyes closed alike (MediaPipe drags the open
   eye's landmarks partly along with a closing one) and for <= blink_max_s (above half its
   peak, if the lids settle a little lower after it).
   A one-sided run counts only if MediaPipe's mesh finds that eye more closed too
   (mesh_support), and more so while the head turns (turn_support): a turn changes what the
   camera sees of each eye, while the mesh is measured in a head-fixed frame.
3. Hysteresis with person-adapted thresholds: a run is a stretch above the 'off' level
   (half the 'on' level) that reaches 'on' somewhere.  'on' is the larger of a floor and
   noise_k robust SDs of that eye's frame-to-frame jitter.  A one-sided run survives a
   brief blind stretch (the other eye blinking mid-spasm) of up to blink_max_s, and its
   onset is dated back to where the lid began to move (tangent method).
4. A same-side mouth-corner pull (a quick rise of that corner over the other one, so
   talking and smiling cancel) lowers the eye threshold by mouth_boost.  The event is
   eye+mouth when such a pull STARTS with one of its twitches (-cocontraction_s to
   +mouth_lag_s around the lid's onset): co-contraction is strong evidence of HFS, while a
   corner that moves later in a long hold (talking through it) proves nothing.  The mouth
   alone never makes an event.
5. Interval rules (events.py): one-sided runs at the edge of, or inside, a blink are its
   uneven edge (judged once a two-sided closure they touch has ended or outlasted a blink);
   twitches closer than merge_gap_s (not counting time both eyes were shut) form one clonic
   train; a sustained closure of >= tonic_s makes it tonic.
6. How sure (evidence.py): each twitch carries its evidence, the eyes' difference
   in one-sided closure held over two frames and a third of the twitch, which sources agree,
   and whether the same-side mouth corner rose as far as in a smile.  Real faces without HFS
   make one-sided runs too (issue 16: uneven blinks, one-sided smiles, head turns), so a train
   is counted only if its clearest twitch is confident; the rest are 'possible' (listed, never
   counted).  A lid leading or trailing a blink is a spasm only if it lags by more than
   blink_lag_frames frames and the difference is confident and beyond this person's own blinks
   (BlinkJudge.like_own_blinks); otherwise it may still join a train, but never makes one.

Each frame goes through five steps (streaming.StreamingDetector; each side's state is one
record, streaming.Side):
- closure runs: two-sided closures (blinks.TwoSided), the blinks in them (BlinkJudge.add);
- blink judgement: a lid leading or trailing a blink is a twitch on that side (BlinkJudge.judge);
- one-sided runs: per side, runs (runs.py) of the one-sided opening against the person's own
  levels (person.py), with their evidence (evidence.py), confirmed unless a blink absorbs them;
- trains: confirmed twitches join their side's train (trains.Train);
- emit: a complete train is one event (Train.complete).

One implementation: `StreamingDetector.update` takes one frame at a time, whether the
frame was just decoded (analyze, live) or read back from a session (`twitchcam detect`,
the Python API), so the same inputs always give the same events.
"""
from __future__ import annotations

from twitchcam.core.detector.params import MIN_TWITCH_FPS, DetectorParams
from twitchcam.core.detector.streaming import StreamingDetector

__all__ = ["MIN_TWITCH_FPS", "DetectorParams", "StreamingDetector"]
