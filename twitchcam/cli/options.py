"""Options shared by several commands: the detector's parameters and the recordings folder."""
from __future__ import annotations

import argparse
import dataclasses


def add_recordings_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--recordings", metavar="DIR",
                        help="recordings folder (default: $TWITCHCAM_RECORDINGS, else recordings/ beside "
                             "the package)")


def add_detector_options(parser: argparse.ArgumentParser) -> None:
    """One --option per DetectorParams field, so every threshold can be changed without code."""
    from twitchcam.core.detector import DetectorParams

    group = parser.add_argument_group("detector parameters")
    for f in dataclasses.fields(DetectorParams):
        group.add_argument(f"--{f.name.replace('_', '-')}", dest=f"det_{f.name}", type=float, default=None,
                           metavar="X", help=f"default {f.default}")


def detector_params(args: argparse.Namespace, base=None):
    from twitchcam.core.detector import DetectorParams
    from twitchcam.errors import TwitchcamError

    base = base or DetectorParams()
    changes = {f.name: getattr(args, f"det_{f.name}") for f in dataclasses.fields(DetectorParams)
               if getattr(args, f"det_{f.name}", None) is not None}
    params = dataclasses.replace(base, **changes)
    bad = params.problems()
    if bad:  # before anything is created or read
        name, why = bad[0]
        raise TwitchcamError(f"--{name.replace('_', '-')} {why}")
    return params
