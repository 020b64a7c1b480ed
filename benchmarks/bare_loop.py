"""The naive loop a user would write: decode -> RGB -> detect_for_video, 2 faces and
blendshapes, nothing of twitchcam.  The reference of benchmarks/speed.py (in process) and
benchmarks/end_to_end.py (as its own process, start to exit):

    python benchmarks/bare_loop.py VIDEO MODEL      # prints the number of frames
"""
import sys

import cv2
import mediapipe as mp
from mediapipe.tasks.python import BaseOptions, vision


def landmarker(model, num_faces: int = 2, blendshapes: bool = True):
    """A plain MediaPipe FaceLandmarker in VIDEO mode."""
    options = vision.FaceLandmarkerOptions(base_options=BaseOptions(model_asset_path=str(model)),
                                           running_mode=vision.RunningMode.VIDEO, num_faces=num_faces,
                                           output_face_blendshapes=blendshapes)
    return vision.FaceLandmarker.create_from_options(options)


def run(video, model) -> int:
    """Every frame of `video` through the landmarker; returns the number of frames."""
    lm = landmarker(model)
    cap = cv2.VideoCapture(str(video))
    n, last = 0, -1
    try:
        while True:
            ok, bgr = cap.read()
            if not ok:
                break
            ms = max(int(cap.get(cv2.CAP_PROP_POS_MSEC)), last + 1)
            last = ms
            lm.detect_for_video(mp.Image(image_format=mp.ImageFormat.SRGB, data=cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)),
                                ms)
            n += 1
    finally:
        lm.close()
    return n


if __name__ == "__main__":
    print(run(sys.argv[1], sys.argv[2]))
