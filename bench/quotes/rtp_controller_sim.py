"""Does the return-to-player controller keep a year under 85%? A simulated book, same run.

    .venv/bin/python -m bench.quotes.rtp_controller_sim --years 10 --bets-per-day 100

Each simulated year, every day, players stake 10.00 on random selections of two- and three-way
markets. Fair probabilities are drawn at random, the model is taken as calibrated (outcomes are
drawn with the fair probabilities), prices are the default policy's (odds ratio at an 85% target,
short prices floored at 1.01) with every margin multiplied by the controller's scale, and bettors
favour favourites (a selection is picked with probability proportional to p^1.5, so most stakes
sit on the prices the floor lifts above 85%). The controller reads the year's settled figures
once a day (as the gateway reads bets every few minutes), with its default settings: 1 up to a
realised 80%, rising to 2 at 83%. Baseline in the same run, same seeds: the scale held at 1.
Reported: the year-end return to players of each arm (mean, worst), how many years end above
85%, and the controller's mean scale.
"""

from __future__ import annotations

import argparse
import random
import statistics

from gateway.domain.rtp_controller import E4, RtpPolicy, YearFigures, margin_scale_e4
from services.quotes.domain import margin

STAKE = 1_000  # minor units


def market(rng: random.Random) -> list[float]:
    n = rng.choice((2, 3))
    weights = [rng.random() ** 2 + 0.01 for _ in range(n)]
    total = sum(weights)
    return [w / total for w in weights]


def year(
    seed: int, bets_per_day: int, steer: bool, policy: RtpPolicy, target: int
) -> tuple[float, float]:
    rng = random.Random(seed)
    stakes = payouts = settled = 0
    scales = []
    for _ in range(365):
        figures = YearFigures(stakes, payouts, settled)
        scale = margin_scale_e4(policy, figures) if steer else E4
        scales.append(scale)
        payout_e4 = margin.scaled_payout_e4(target, scale)
        for _ in range(bets_per_day):
            p = market(rng)
            e9 = [margin.to_probability_e9(x) for x in p]
            priced = margin.price(e9, margin.Method.ODDS_RATIO, payout_e4, 10_100, floor_short=True)
            offered = [i for i, s in enumerate(priced.selections) if s.odds_e4]
            pick = rng.choices(offered, weights=[p[i] ** 1.5 for i in offered])[0]
            stakes += STAKE
            settled += 1
            if rng.random() < p[pick]:  # a calibrated model: the fair probability wins
                payouts += STAKE * priced.selections[pick].odds_e4 // E4
    return payouts / stakes, statistics.mean(scales) / E4


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--bets-per-day", type=int, default=100)
    parser.add_argument("--target-e4", type=int, default=8_500, help="the policy's target payout")
    args = parser.parse_args()
    policy = RtpPolicy()
    arms = {}
    for steer in (False, True):
        results = [
            year(seed, args.bets_per_day, steer, policy, args.target_e4)
            for seed in range(args.years)
        ]
        arms[steer] = results
    print(
        f"{args.years} years x 365 days x {args.bets_per_day} bets of 10.00, same seeds, "
        f"policy target {args.target_e4 / 100:.0f}%"
    )
    print("| arm | year-end RTP mean | worst | years above 85% | mean margin scale |")
    print("|---|---|---|---|---|")
    for steer, label in ((False, "scale held at 1 (baseline)"), (True, "controller (defaults)")):
        rtps = [r for r, _ in arms[steer]]
        print(
            f"| {label} | {statistics.mean(rtps):.2%} | {max(rtps):.2%} | "
            f"{sum(r > 0.85 for r in rtps)}/{len(rtps)} | "
            f"{statistics.mean(s for _, s in arms[steer]):.2f} |"
        )


if __name__ == "__main__":
    main()
