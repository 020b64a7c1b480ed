"""The video-time grid that the landmarker and the chunk planner share.

MediaPipe tracking one face carries state from frame to frame for as long as the face is
tracked.  The landmarker renews that state at every multiple of STATE_WINDOW_S of video
time, and chunk seams fall on such multiples, so a video analysed in chunks gets exactly
the sequential run's landmarks from each seam on.
"""
STATE_WINDOW_S = 5.0


def state_window(t_s: float) -> int:
    """Which window of the grid a frame at video time t_s falls in."""
    return int(t_s // STATE_WINDOW_S)
