"""Bench: `make run` time-to-serving (fresh clone and second run) and tip latency in a real browser.

Usage:
    .venv/bin/python bench/startup_and_tip.py            # everything
    .venv/bin/python bench/startup_and_tip.py --no-clone # skip the fresh-clone run (uses this checkout)

"Fresh clone" clones the committed HEAD into a temporary directory and times `scripts/run` from
nothing (virtualenv, pinned wheels, Node, Bun, frontend install and build, migrations) until
`/ping` answers; "second run" restarts the same clone. Tip latency signs in to the demo, connects
Demo tasks and times, in headless Chromium, opening `/tip` until the tip is visible, and Done until
the next tip replaces it.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.e2e.conftest import CHROMIUM_ARGS, at, chromium_path  # noqa: E402
from tests.support.app_server import AppServer  # noqa: E402


def time_start(checkout: Path, data: Path) -> float:
    """Seconds from launching scripts/run in ``checkout`` until /ping answers."""
    with AppServer(data, env={"OO_DEMO": "true"}, timeout=900, root=checkout) as server:
        return server.startup_seconds


# A round is a load and a reaction (which serves the next tip): two of the tab's
# ``OO_RATE_LOADS_PER_MINUTE`` (30); a faster loop is answered "Slow down" by round 12.
ROUND_SECONDS = 4.5
REACTION_JS = """
(before) => new Promise((resolve) => {
  const done = [...document.querySelectorAll('button')].find((b) => b.innerText.trim() === 'Done');
  const t0 = performance.now();
  const changed = () => {
    const e = document.querySelector('[data-testid=tip]');
    return !e || e.innerText !== before;
  };
  const obs = new MutationObserver(() => {
    if (changed()) { obs.disconnect(); resolve(performance.now() - t0); }
  });
  obs.observe(document.body, {subtree: true, childList: true, characterData: true});
  done.click();
})
"""


def tip_latency(rounds: int) -> tuple[list[float], list[float]]:
    """(open /tip → tip visible, Done → next tip) in milliseconds."""
    from playwright.sync_api import sync_playwright

    opened, nexts = [], []
    with (
        tempfile.TemporaryDirectory() as tmp,
        AppServer(Path(tmp), env={"OO_DEMO": "true", "OO_ADVICE_DEFAULT": "false"}) as app,
        sync_playwright() as pw,
    ):
        browser = pw.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 390, "height": 844})
        page.goto(f"{app.url}/signin")
        page.get_by_role("button", name="Try the demo").click()
        page.wait_for_url(at("/connect"))
        page.get_by_test_id("source-demo").get_by_role("button", name="Connect").click()
        page.get_by_test_id("status-demo").get_by_text("Connected", exact=True).wait_for()
        for _ in range(rounds):
            t0 = time.perf_counter()
            pace = t0 + ROUND_SECONDS
            page.goto(f"{app.url}/tip")
            page.get_by_test_id("tip").wait_for(state="visible")
            opened.append((time.perf_counter() - t0) * 1000)
            tip = page.get_by_test_id("tip")
            before = tip.inner_text()
            tip.click()
            page.get_by_role("button", name="Done").wait_for()
            # Measured in the page: from the click on Done to the DOM showing another tip.
            nexts.append(page.evaluate(REACTION_JS, before))
            time.sleep(max(0.0, pace - time.perf_counter()))  # stay under the per-user rate limit
        browser.close()
    return opened, nexts


def summary(values: list[float]) -> str:
    values = sorted(values)
    p95 = values[min(len(values) - 1, int(0.95 * len(values)))]
    return f"median {statistics.median(values):.0f} ms, p95 {p95:.0f} ms (n={len(values)})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--no-clone", action="store_true")
    parser.add_argument("--rounds", type=int, default=15, help="at most 17: the demo source has 18 tasks")
    args = parser.parse_args()
    if not args.no_clone:
        with tempfile.TemporaryDirectory() as tmp:
            clone = Path(tmp) / "oo"
            subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
            fresh = time_start(clone, Path(tmp) / "data")
            second = time_start(clone, Path(tmp) / "data")
            shutil.rmtree(clone, ignore_errors=True)
        print(f"make run, fresh clone → serving: {fresh:.1f} s")
        print(f"make run, second run → serving: {second:.1f} s")
    opened, nexts = tip_latency(args.rounds)
    print(f"open /tip → tip visible: {summary(opened)}")
    print(f"Done → next tip visible: {summary(nexts)}")


if __name__ == "__main__":
    main()
