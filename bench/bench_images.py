"""Image benchmark: sizes of the app images and their cold and warm build times.

    python bench/bench_images.py [--base local|official] [--skip-cold]

cold  = every app image rebuilt ignoring the daemon's layer cache (`--no-cache`); base images are
        kept (their own build time is base_images_s, near 0 when they already existed);
warm  = the same command again with nothing changed: every content tag exists, nothing is built.
Goals (deployproof.images.SIZE_GOAL_MB): backend ≤ 120 MB, frontend ≤ 150 MB. Writes reports/bench-images.json and prints it.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from deployproof.docker_engine import ensure_docker  # noqa: E402
from deployproof.images import APP_IMAGES, SIZE_GOAL_MB, base_image_args, build_app_images, sizes_mb  # noqa: E402
from deployproof.progress import say  # noqa: E402

REPORT = REPO_ROOT / "reports" / "bench-images.json"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", choices=("local", "official"), default="local")
    parser.add_argument("--skip-cold", action="store_true", help="only measure sizes and the warm (no-op) build")
    options = parser.parse_args(argv)
    client = ensure_docker()

    begun = time.monotonic()
    bases = base_image_args(options.base, client=client)
    base_seconds = time.monotonic() - begun

    cold: dict[str, float] = {}
    cold_total = None
    if not options.skip_cold:
        begun = time.monotonic()
        build_app_images(options.base, client=client, force=True, nocache=True, timings=cold)
        cold_total = time.monotonic() - begun

    begun = time.monotonic()
    refs = build_app_images(options.base, client=client)
    warm_total = time.monotonic() - begun

    sizes = sizes_mb({name: ref.tag for name, ref in refs.items()}, client=client)
    images = {}
    for spec in APP_IMAGES:
        size_mb = sizes[spec.name]
        goal = SIZE_GOAL_MB.get(spec.name)
        images[spec.name] = {
            "tag": refs[spec.name].tag,
            "size_mb": size_mb,
            "goal_mb": goal,
            "meets_goal": None if goal is None else size_mb <= goal,
            "cold_build_s": next((round(v, 1) for k, v in cold.items() if f"build {spec.name} " in k), None),
        }
    report = {
        "base": options.base,
        "base_images": bases,
        "base_images_s": round(base_seconds, 1),
        "cold_build_total_s": None if cold_total is None else round(cold_total, 1),
        "warm_build_total_s": round(warm_total, 2),
        "images": images,
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(json.dumps(report, indent=2) + "\n")
    say(f"wrote {REPORT}")
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
