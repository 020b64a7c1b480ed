"""Running an analysis: a source through the pipeline into a session, finished with its summary.

Every way of running twitchcam goes through this layer, which sits above core/, video/ and
store/ and below the command line, the live window, batches and the API:

    analyze.py   a video file, decoded as fast as it goes (`analyze`, and `process_video`)
    session.py   any stream of frame results into a session writer, always finalised
                 (`analyze`, `live`, chunks replayed); `live/loop.py` drives it from a camera
    replay.py    features computed elsewhere (time chunks) replayed into a session
    detect.py    the stored features of a session again (`detect`, and the API's `detect`)
    summary.py   summary.json, built whole in one place, with every field any run writes
    plan.py      what to do with an input whose session folder may already hold its analysis
"""
