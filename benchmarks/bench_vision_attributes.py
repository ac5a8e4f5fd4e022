"""What per-image ``sample_ids`` and ``attributes`` cost the vision engines, as ratios.

Detection: ``--images`` images (COCO-like: 0-12 objects of 5 classes, 1-15
detections, jittered copies and clutter) in ``--batch``-image batches into
``DetectionMetrics.update_batch``, with and without string ids and three
attributes (two numeric, one of five categories); timed with ``compute()``
at the end, since matching waits until a read. Semantic segmentation:
``--masks`` masks of 128x128 with 8 classes into ``SegmentationMetrics.update``,
with and without attributes. Batches are made beforehand, outside the clock.
Then the time of ``by_attribute`` (10 buckets of a numeric attribute: COCO
per bucket) and ``attribute_importance``, and the bytes the per-image rows
add to the state. Prints the load average.

    python benchmarks/bench_vision_attributes.py             # 5,000 images, 1,000 masks
    python benchmarks/bench_vision_attributes.py --images 1000 --masks 200
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "src"))

from runwatch.metrics import DetectionMetrics, SegmentationMetrics  # noqa: E402


def detection_batches(n: int, size: int, seed: int = 3) -> list[dict]:
    """The detection stream: per batch the dicts, string ids and three attributes."""
    rng = np.random.default_rng(seed)
    out = []
    for start in range(0, n, size):
        preds, targets = [], []
        for i in range(start, min(n, start + size)):
            m = int(rng.integers(0, 13))
            xy = rng.uniform(0, 500, (m, 2))
            gt = np.c_[xy, xy + np.exp(rng.uniform(np.log(4), np.log(200), (m, 2)))]
            copies = gt[rng.random(m) < 0.8]
            copies = copies + rng.normal(0, 4, copies.shape)
            c = int(rng.integers(0, 4))
            cxy = rng.uniform(0, 500, (c, 2))
            det = np.r_[copies, np.c_[cxy, cxy + rng.uniform(5, 80, (c, 2))]]
            det[:, 2:] = np.maximum(det[:, 2:], det[:, :2])
            labels = rng.integers(0, 5, m)
            preds.append({"boxes": det, "scores": rng.random(len(det)),
                          "labels": rng.integers(0, 5, len(det))})  # fmt: skip
            targets.append({"boxes": gt, "labels": labels, "image_id": i})
        k = len(preds)
        out.append({
            "preds": preds, "targets": targets,
            "ids": np.char.add("img_", np.arange(start, start + k).astype(str)),
            "attributes": {"brightness": rng.normal(size=k), "blur": rng.gamma(1.0, 2.0, k),
                           "source": rng.choice(["web", "scan", "phone", "crawl", "synth"], k)},
        })  # fmt: skip
    return out


def mask_batches(n: int, size: int, seed: int = 4) -> list[dict]:
    """The segmentation stream: per batch 128x128 masks (80% right) and two attributes."""
    rng = np.random.default_rng(seed)
    out = []
    for start in range(0, n, size):
        k = min(size, n - start)
        truth = rng.integers(0, 8, (k, 128, 128))
        pred = np.where(rng.random(truth.shape) < 0.8, truth, rng.integers(0, 8, truth.shape))
        out.append({"truth": truth, "pred": pred,
                    "attributes": {"brightness": rng.normal(size=k),
                                   "source": rng.choice(["a", "b", "c"], k)}})  # fmt: skip
    return out


def time_detection(data: list[dict], attributes: bool) -> tuple[float, DetectionMetrics]:
    """Seconds of the updates and the ``compute()`` that matches them, and the engine."""
    m = DetectionMetrics(labels=list(range(5)))
    start = time.perf_counter()
    for b in data:
        if attributes:
            m.update_batch(b["preds"], b["targets"], sample_ids=b["ids"],
                           attributes=b["attributes"])  # fmt: skip
        else:
            m.update_batch(b["preds"], b["targets"])
    m.compute()
    return time.perf_counter() - start, m


def time_masks(data: list[dict], attributes: bool) -> tuple[float, SegmentationMetrics]:
    """Seconds of the updates, and the engine."""
    m = SegmentationMetrics(8)
    start = time.perf_counter()
    for b in data:
        m.update(b["truth"], b["pred"], attributes=b["attributes"] if attributes else None)
    return time.perf_counter() - start, m


def state_bytes(m) -> int:
    """Bytes of the engine's state dict."""
    return sum(v.nbytes for v in m.state_dict().values())


def main() -> None:
    """Time each variant (interleaved, best of ``--repeat``) and print the ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=5_000)
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--masks", type=int, default=1_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    det, masks = detection_batches(args.images, args.batch), mask_batches(args.masks, 16)
    print(f"images={args.images:,} batch={args.batch} masks={args.masks:,} (128x128, 8 classes) "
          f"load={os.getloadavg()[0]:.1f}")  # fmt: skip
    best: dict[str, tuple[float, object]] = {}
    for _ in range(args.repeat):  # interleaved, best of each: the machine's load varies
        for name, fn, data, attrs in (
            ("detection plain", time_detection, det, False),
            ("detection + ids, 3 attributes", time_detection, det, True),
            ("segmentation plain", time_masks, masks, False),
            ("segmentation + 2 attributes", time_masks, masks, True),
        ):
            got = fn(data, attrs)
            if name not in best or got[0] < best[name][0]:
                best[name] = got
    print(f"{'variant':<32}{'seconds':>9}{'x plain':>9}{'state KB':>10}")
    for name, (seconds, m) in best.items():
        base = best["detection plain" if name.startswith("detection") else "segmentation plain"]
        print(f"{name:<32}{seconds:9.3f}{seconds / base[0]:8.2f}x{state_bytes(m) / 1024:10.0f}")
    m = best["detection + ids, 3 attributes"][1]
    start = time.perf_counter()
    m.by_attribute("brightness")
    one = time.perf_counter() - start
    start = time.perf_counter()
    m.by_attribute("source")
    m.attribute_importance()
    m.top_losses(20)
    m.samples(0, "background")
    rest = time.perf_counter() - start
    print(f"detection by_attribute (10 buckets, COCO each) {one:.3f} s; by source, importance, "
          f"top losses and a cell's samples {rest:.3f} s; load {os.getloadavg()[0]:.1f}")
    s = best["segmentation + 2 attributes"][1]
    start = time.perf_counter()
    s.by_attribute("brightness")
    s.attribute_importance()
    print(f"segmentation by_attribute + importance {time.perf_counter() - start:.3f} s")


if __name__ == "__main__":
    main()
