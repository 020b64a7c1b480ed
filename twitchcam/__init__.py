"""twitchcam: an ordinary webcam as a lateralized hemifacial-spasm monitor.

The Python API (see twitchcam.api and the README):

    import twitchcam
    result = twitchcam.process_video("clip.mp4")   # .frames, .events (DataFrames), .summary, .save()
    twitchcam.detect(result, merge_gap_s=0.2)      # the detector again, other parameters
    twitchcam.read_session("recordings/clip")      # a session folder back as a Result
    twitchcam.simulate(120, seed=1)                # per-side signals with known events
"""
from twitchcam.api import Result, detect, process_video, read_session, simulate

__all__ = ["Result", "detect", "process_video", "read_session", "simulate"]
