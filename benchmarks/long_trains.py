"""Long trains of partial twitches: a probe set apart from `make accuracy`'s.

    .venv/bin/python benchmarks/long_trains.py [--seeds 7 8] [--set NAME=VALUE ...]

A held-out set reported such trains as missed: 5-7 twitches closing the lid only 50-70 %, at a
clonic or a fast pace (`twitchcam.synth.profiles.long_partial_train`), on a talking face whose own
jitter is as large as each twitch.  This builds them with the three generators on four bases (half
as long as the main set's clips, about two minutes per generator and seed on two cores, cached
under ~/.cache/twitchcam) and prints, side by side in one run, twitchcam as it is and without
pooling weak twitches (weak_twitches so high that no train reaches it).
Its seeds are not the main set's, and no parameter was chosen on it.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import accuracy as A  # noqa: E402

from twitchcam.synth import dataset  # noqa: E402
from twitchcam.synth.bases import cache_root  # noqa: E402

BASES = ("single_face", "carphone", "wolfgang", "small_face")
PLAN = dataset.PlanParams(patterns=("long_partial",))


def clips(seeds: list[int], model: Path) -> list[A.Clip]:
    """Every generator's clips for these seeds, built and analysed if they are not cached."""
    out = []
    for gen in A.GENERATORS:
        for seed in seeds:
            folder = cache_root() / f"long-partial-{gen}-seed{seed}"
            for c in dataset.build(folder, gen, seed, bases=BASES, params=PLAN, duration_scale=0.5,
                                   model_path=model, log=lambda msg: print(msg, file=sys.stderr)):
                out.append(A.Clip(c.name, gen, seed, c.base, pd.read_csv(c.truth), A.analysed(c.video, model),
                                  A.analysed(c.clean, model)))
    return out


def possible(clips: list[A.Clip], params) -> int:
    """Injected trains found only as 'possible' (listed, not counted)."""
    n = 0
    for c in clips:
        events = [e for e in A.detected(c.inj, params) if e.side != "both" and not e.is_spasm]
        for r in c.truth.itertuples():
            n += any(e.side == r.side and e.onset_s <= r.offset_s + 0.1 and e.offset_s >= r.onset_s - 0.1
                     for e in events)
    return n


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[7, 8])
    ap.add_argument("--set", action="append", default=[], help="detector parameter NAME=VALUE")
    args = ap.parse_args(argv)
    from twitchcam.video.model import ensure_model

    changes = {k: float(v) for k, v in (s.split("=") for s in args.set)}
    found = clips(args.seeds, ensure_model())
    runs = {"without weak twitches": A.with_params({**changes, "weak_twitches": 10 ** 6}),
            "twitchcam": A.with_params(changes)}
    print(f"{len(found)} clips of long partial trains: generators {', '.join(A.GENERATORS)}; bases "
          f"{', '.join(BASES)}; seeds {args.seeds}")
    print(A.HEADER)
    print("-" * len(A.HEADER))
    for name, params in runs.items():
        for gen in A.GENERATORS:
            print(A.line(f"{name}: {gen}", A.evaluate([c for c in found if c.gen == gen], params)))
        r = A.evaluate(found, params)
        print(A.line(f"{name}: ALL", r))
        by_base = r.hits.groupby("base").hit.agg(["sum", "count"])
        print("  recall by base: " + ", ".join(f"{b} {int(s)}/{int(n)}" for b, (s, n) in by_base.iterrows())
              + f"; {possible(found, params)} more found only as possible")


if __name__ == "__main__":
    main()
