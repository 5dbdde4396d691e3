"""Bench: a push-response simulator — learned timing vs fixed-interval vs random timing.

Usage:
    .venv/bin/python bench/push_timing_sim.py [--users 200] [--days 28] [--seed 1]

Each simulated user lives in UTC and has:

* **availability by hour**: a daily peak hour (8-21 h) and width; the chance to open a push
  is highest around the peak (lower at weekends for some, higher for others);
* **busy blocks**: 0-7 meetings of 30-120 min on weekdays between 9 and 18 h, 0-2 at weekends,
  visible to the app through the calendar; a push during a meeting is rarely opened (x0.1)
  and one just before a meeting less often (x0.5);
* **habituation**: each push in the previous 24 h multiplies the chance to open by 0.7.

An opened push is answered with probability 0.75 (done 45 %, helpful 20 %, snooze 20 %,
not helpful 5 %, dismiss 10 %); an unopened one is ignored until it expires.

Policies, all with the same quiet hours (22-8) and daily cap (3):

* **learned** — the app's own code: the hard rules of `push_delivery._hard_rule` (busy, minimum
  gap 90 min, decision spacing) and `push_timing.choose` with the per-user `TimingModel`, taught
  with `timing.reward` exactly as `push_timing.settle` does; every 5-minute round;
* **rules + coin** — the same hard rules, but a fair coin instead of the model (isolates learning);
* **fixed interval** — 9:00, 13:00 and 17:00 every day, calendar ignored (as before this work);
* **random** — at each 5-minute round between 8 and 22 h with probability 3/168, calendar ignored.

Reported: pushes per user-day, reactions per push, share of pushes ignored, pushes sent in busy
time (must be 0 for learned), and reactions per user-day. The population is this simulator's;
the numbers say how the policies compare on it, not what real users will do.
"""

from __future__ import annotations

import argparse
import math
import random
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from oo.integrations.google_calendar import Busy  # noqa: E402
from oo.models import User  # noqa: E402
from oo.recommender import timing  # noqa: E402
from oo.services.push import delivery as push_delivery  # noqa: E402
from oo.services.push import timing as push_timing  # noqa: E402
from oo.settings import Settings  # noqa: E402

START = datetime(2026, 11, 2, tzinfo=UTC)  # a Monday
ROUND = timedelta(minutes=5)
REACTIONS = (("done", 0.45), ("helpful", 0.2), ("snooze", 0.2), ("not_helpful", 0.05), ("dismiss", 0.1))
FIXED_HOURS = (9, 13, 17)


@dataclass
class SimUser:
    """One simulated person."""

    peak: float
    width: float
    base: float
    weekend: float
    busy: list[Busy]

    def p_open(self, now: datetime, recent_pushes: int) -> float:
        """The chance that a push at ``now`` is opened."""
        h = now.hour + now.minute / 60
        d = min(abs(h - self.peak), 24 - abs(h - self.peak))
        p = self.base * (0.15 + 0.85 * math.exp(-(d**2) / (2 * self.width**2)))
        if now.weekday() >= 5:
            p *= self.weekend
        if any(b.start <= now < b.end for b in self.busy):
            p *= 0.1
        elif any(now < b.start <= now + timedelta(minutes=15) for b in self.busy):
            p *= 0.5
        return min(0.95, p * 0.7**recent_pushes)


def make_user(rng: random.Random, days: int) -> SimUser:
    """Draw a user and their meetings for ``days`` days."""
    blocks = []
    for day in range(days):
        date = START + timedelta(days=day)
        n = rng.randint(0, 7) if date.weekday() < 5 else rng.randint(0, 2)
        for _ in range(n):
            start = date + timedelta(hours=rng.uniform(9, 17.5))
            start = start.replace(minute=(start.minute // 15) * 15, second=0, microsecond=0)
            blocks.append(Busy(start, start + timedelta(minutes=rng.choice((30, 60, 60, 90, 120)))))
    return SimUser(
        peak=rng.uniform(8, 21),
        width=rng.uniform(1.5, 4),
        base=rng.uniform(0.35, 0.85),
        weekend=rng.uniform(0.5, 1.3),
        busy=sorted(blocks, key=lambda b: b.start),
    )


@dataclass
class Tally:
    """What one policy did to the population."""

    pushes: int = 0
    reactions: int = 0
    ignored: int = 0
    busy: int = 0


@dataclass
class State:
    """One user's side of a policy run."""

    sig: push_timing.Signals = field(default_factory=push_timing.Signals)
    pending: list[tuple[datetime, list[float], str | None, bool]] = field(default_factory=list)


def _push(
    user: SimUser, st: State, now: datetime, rng: random.Random, tally: Tally
) -> tuple[str | None, bool]:
    recent = st.sig.pushes_between(now - timedelta(hours=24), now)
    opened = rng.random() < user.p_open(now, recent)
    reaction = None
    if opened and rng.random() < 0.75:
        r, acc = rng.random(), 0.0
        for name, p in REACTIONS:
            acc += p
            if r < acc:
                reaction = name
                break
    tally.pushes += 1
    tally.busy += any(b.start <= now < b.end for b in user.busy)
    tally.reactions += reaction is not None
    tally.ignored += not opened
    st.sig.pushes.append((now, None))
    st.sig.ever_sent = True
    if opened:
        st.sig.last_visit = now
    if reaction:
        st.sig.last_reaction = now
    return reaction, opened


def _settle(st: State, now: datetime) -> None:
    keep = []
    for at, x, reaction, opened in st.pending:
        if reaction is None and at + push_timing.PUSH_TTL > now:
            keep.append((at, x, reaction, opened))
            continue
        recent = st.sig.pushes_between(at - timedelta(hours=24), at)
        st.sig.model.learn(x, timing.reward(reaction=reaction, opened=opened, recent_pushes=recent))
    st.pending = keep


def run(policy: str, users: list[SimUser], days: int, seed: int) -> Tally:
    """Simulate ``policy`` over every user for ``days`` days."""
    settings = Settings(default_quiet_hours="22-8", push_daily_cap=3, push_min_gap_minutes=90)
    tally, rng = Tally(), random.Random(seed)
    person = User(id=1, timezone="UTC", quiet_hours=None)
    for user in users:
        st = State()
        cal = {1: user.busy}
        now = START
        while now < START + timedelta(days=days):
            inp = push_delivery.RoundInput(now, settings, cal, rng.random)
            if policy in ("learned", "coin"):
                _settle(st, now)
                if push_delivery._hard_rule(person, st.sig, user.busy, inp) is None:
                    ctx = push_timing.context(
                        user=person, sig=st.sig, busy=user.busy, calendar=True, now=now, daily_cap=3
                    )
                    if policy == "learned":
                        send = push_timing.choose(sig=st.sig, ctx=ctx, draw=rng.random)[0]
                    else:
                        send = rng.random() < 0.5
                    if not send:
                        st.sig.last_wait = now
                    else:
                        reaction, opened = _push(user, st, now, rng, tally)
                        st.pending.append((now, ctx.features(), reaction, opened))
            else:
                today = st.sig.pushes_between(now.replace(hour=0, minute=0), now + timedelta(seconds=1))
                quiet = now.hour >= 22 or now.hour < 8
                if policy == "fixed":
                    due = now.minute == 0 and now.hour in FIXED_HOURS
                else:
                    due = not quiet and rng.random() < 3 / 168
                if due and today < 3:
                    _push(user, st, now, rng, tally)
            now += ROUND
    return tally


def main() -> None:
    """Run every policy on the same population and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--days", type=int, default=28)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    users = [make_user(rng, args.days) for _ in range(args.users)]
    user_days = args.users * args.days
    print(f"{args.users} users x {args.days} days, seed {args.seed}")
    print(
        f"{'policy':15} {'pushes/day':>10} {'reactions/push':>15} {'ignored':>8} {'in busy time':>13} {'reactions/day':>14}"
    )
    for policy, label in (
        ("learned", "learned"),
        ("coin", "rules + coin"),
        ("fixed", "fixed interval"),
        ("random", "random"),
    ):
        t = run(policy, users, args.days, args.seed + 1000)
        print(
            f"{label:15} {t.pushes / user_days:10.2f} {t.reactions / max(1, t.pushes):15.3f} "
            f"{t.ignored / max(1, t.pushes):8.1%} {t.busy:13d} {t.reactions / user_days:14.3f}"
        )


if __name__ == "__main__":
    main()
