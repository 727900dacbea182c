"""Every pre-match football market from a Dixon-Coles score grid, as fair probabilities.

Each selection is settled cell by cell of the score grid. A selection's stake is split into two
halves, each settled against one line (the two halves share a line except on quarter lines,
where they sit on the two neighbouring lines: 2.25 = half on 2.0, half on 2.5). A half wins,
pushes or loses, so per cell the selection gains `gain[cell]` in {0, 1/2, 1} stakes' worth of
winning weight and `loss[cell]` likewise; both are linear in the grid. The effective probability
`markets.Outcomes.effective_probability` asks for is then gain / (gain + loss), with
    gain = P(win) + P(half win) / 2,    loss = P(half lose) / 2 + P(lose).

All selections' gain and loss weights for a grid size are one precomputed matrix, so pricing
any number of fixtures is a single matrix product (`market_table`): no per-market Python loops.

Market set (line_e2 in hundredths of a goal):
- 1X2 (`home`, `draw`, `away`); double chance (`1X`, `12`, `X2`: they overlap, so the three
  probabilities sum to 2, flagged in `extra["probability_sum"]`); draw no bet (`home`, `away`,
  a draw pushes).
- Total goals, lines 0.5 to 5.5 in quarter steps (50, 75, ..., 550): `over`, `under`; whole lines
  push, quarter lines split the stake.
- Both teams to score (`yes`, `no`).
- Asian handicap, home line -3.0 to +3.0 in quarter steps (line_e2 is the home side's handicap;
  the away selection carries the opposite line): `home`, `away`.
- Correct score: every score with both sides at most CORRECT_SCORE_CAP (5) goals, ids "h-a", plus
  `other` (any score with a side above the cap), so the selections partition the grid.
- Team total goals, each side (`side` set), lines 0.5, 1.5, 2.5, 3.5: `over`, `under`.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from betmesh.common.v1 import market_pb2, sport_pb2
from numpy.typing import NDArray

from services.quotes.domain.football import ScoreGrid
from services.quotes.domain.markets import MarketProbabilities, SelectionProbability

MT = market_pb2.MarketType
CORRECT_SCORE_CAP = 5
TOTAL_LINES_E2 = tuple(range(50, 551, 25))
HANDICAP_LINES_E2 = tuple(range(-300, 301, 25))
TEAM_TOTAL_LINES_E2 = (50, 150, 250, 350)

FOOTBALL_MARKET_TYPES: tuple[MT.ValueType, ...] = (
    market_pb2.MARKET_TYPE_MATCH_RESULT,
    market_pb2.MARKET_TYPE_DOUBLE_CHANCE,
    market_pb2.MARKET_TYPE_DRAW_NO_BET,
    market_pb2.MARKET_TYPE_TOTAL_GOALS,
    market_pb2.MARKET_TYPE_BOTH_TEAMS_TO_SCORE,
    market_pb2.MARKET_TYPE_ASIAN_HANDICAP,
    market_pb2.MARKET_TYPE_CORRECT_SCORE,
    market_pb2.MARKET_TYPE_TEAM_TOTAL_GOALS,
)

# Placeholders in display names, filled per fixture.
HOME, AWAY = "{home}", "{away}"


@dataclass(frozen=True)
class MarketSpec:
    """One market of the layout: its selections are columns `first .. first+len(ids)-1`."""

    market_type: MT.ValueType
    name: str
    selection_ids: tuple[str, ...]
    selection_names: tuple[str, ...]
    first: int
    line_e2: int | None = None
    side: sport_pb2.Side.ValueType = sport_pb2.SIDE_UNSPECIFIED
    extra: tuple[tuple[str, str], ...] = ()
    templated: bool = False  # whether any display name needs the team names filled in


@dataclass(frozen=True)
class Layout:
    """The market set for one grid size: specs plus the (cells, 2 * selections) weight matrix."""

    size: int  # grid is size x size (goals 0..size-1)
    markets: tuple[MarketSpec, ...]
    weights: NDArray[np.float64]  # columns [0, n): gain weights; [n, 2n): loss weights

    @property
    def n_selections(self) -> int:
        return int(self.weights.shape[1]) // 2


def format_line(line_e2: int, signed: bool = False) -> str:
    sign = "-" if line_e2 < 0 else ("+" if signed and line_e2 > 0 else "")
    whole, frac = divmod(abs(line_e2), 100)
    text = str(whole) if frac == 0 else f"{whole}.{frac:02d}".rstrip("0")
    return sign + text


def _half_lines(line_e2: int) -> tuple[int, int]:
    """The two half-stake lines of a line: its neighbours for a quarter line, else itself."""
    if line_e2 % 50 == 25:
        return line_e2 - 25, line_e2 + 25
    return line_e2, line_e2


def _settle_above(value_e2: NDArray[np.int64], line_e2: int) -> tuple[NDArray[np.float64], ...]:
    """Gain and loss weights of backing `value > line` (value in hundredths), split stakes."""
    gain = np.zeros(value_e2.shape)
    loss = np.zeros(value_e2.shape)
    for half in _half_lines(line_e2):
        gain += 0.5 * (value_e2 > half)
        loss += 0.5 * (value_e2 < half)
    return gain, loss


@functools.lru_cache(maxsize=8)
def layout(size: int) -> Layout:
    """The market layout and settlement weights for a size x size grid (cached per size)."""
    if size < 2:
        raise ValueError("a score grid needs at least goals 0..1")
    home_goals, away_goals = np.indices((size, size))
    home_e2 = (home_goals * 100).ravel()
    away_e2 = (away_goals * 100).ravel()
    total_e2 = home_e2 + away_e2
    diff_e2 = home_e2 - away_e2
    gains: list[NDArray[np.float64]] = []
    losses: list[NDArray[np.float64]] = []
    markets: list[MarketSpec] = []

    def plain(event: NDArray[np.bool_]) -> None:
        gains.append(event.astype(np.float64))
        losses.append((~event).astype(np.float64))

    def add(
        market_type: MT.ValueType,
        name: str,
        ids: tuple[str, ...],
        names: tuple[str, ...],
        line_e2: int | None = None,
        side: sport_pb2.Side.ValueType = sport_pb2.SIDE_UNSPECIFIED,
        extra: tuple[tuple[str, str], ...] = (),
    ) -> None:
        first = len(gains) - len(ids)
        templated = "{" in name or any("{" in n for n in names)
        markets.append(
            MarketSpec(market_type, name, ids, names, first, line_e2, side, extra, templated)
        )

    def two_way(value_e2: NDArray[np.int64], line_e2: int) -> None:
        """The weights of a line's two selections: backing value > line, and its opposite."""
        gain, loss = _settle_above(value_e2, line_e2)
        gains.extend((gain, loss))
        losses.extend((loss, gain))

    def over_under(
        market_type: MT.ValueType,
        name: str,
        value_e2: NDArray[np.int64],
        line_e2: int,
        side: sport_pb2.Side.ValueType = sport_pb2.SIDE_UNSPECIFIED,
    ) -> None:
        two_way(value_e2, line_e2)
        text = format_line(line_e2)
        add(
            market_type,
            f"{name} {text}",
            ("over", "under"),
            (f"Over {text}", f"Under {text}"),
            line_e2=line_e2,
            side=side,
        )

    for event in (diff_e2 > 0, diff_e2 == 0, diff_e2 < 0):
        plain(event)
    add(
        market_pb2.MARKET_TYPE_MATCH_RESULT,
        "Match result",
        ("home", "draw", "away"),
        (HOME, "Draw", AWAY),
    )

    for event in (diff_e2 >= 0, diff_e2 != 0, diff_e2 <= 0):
        plain(event)
    add(
        market_pb2.MARKET_TYPE_DOUBLE_CHANCE,
        "Double chance",
        ("1X", "12", "X2"),
        (f"{HOME} or draw", f"{HOME} or {AWAY}", f"Draw or {AWAY}"),
        extra=(("probability_sum", "2"),),
    )

    gains += [(diff_e2 > 0).astype(np.float64), (diff_e2 < 0).astype(np.float64)]
    losses += [(diff_e2 < 0).astype(np.float64), (diff_e2 > 0).astype(np.float64)]
    add(market_pb2.MARKET_TYPE_DRAW_NO_BET, "Draw no bet", ("home", "away"), (HOME, AWAY))

    for line in TOTAL_LINES_E2:
        over_under(market_pb2.MARKET_TYPE_TOTAL_GOALS, "Total goals", total_e2, line)

    both = (home_e2 > 0) & (away_e2 > 0)
    plain(both)
    plain(~both)
    add(
        market_pb2.MARKET_TYPE_BOTH_TEAMS_TO_SCORE,
        "Both teams to score",
        ("yes", "no"),
        ("Yes", "No"),
    )

    for line in HANDICAP_LINES_E2:
        # Home covers a line when goal difference + line > 0.
        two_way(diff_e2, -line)
        add(
            market_pb2.MARKET_TYPE_ASIAN_HANDICAP,
            f"Asian handicap {format_line(line, signed=True)}",
            ("home", "away"),
            (f"{HOME} {format_line(line, signed=True)}", f"{AWAY} {format_line(-line, True)}"),
            line_e2=line,
        )

    cap = min(CORRECT_SCORE_CAP, size - 1)
    ids: list[str] = []
    inside = np.zeros(size * size, dtype=bool)
    for h in range(cap + 1):
        for a in range(cap + 1):
            cell = (home_e2 == h * 100) & (away_e2 == a * 100)
            inside |= cell
            plain(cell)
            ids.append(f"{h}-{a}")
    plain(~inside)
    ids.append("other")
    add(
        market_pb2.MARKET_TYPE_CORRECT_SCORE,
        "Correct score",
        tuple(ids),
        (*ids[:-1], "Any other score"),
    )

    for side, goals_e2, team in (
        (sport_pb2.SIDE_HOME, home_e2, HOME),
        (sport_pb2.SIDE_AWAY, away_e2, AWAY),
    ):
        for line in TEAM_TOTAL_LINES_E2:
            over_under(
                market_pb2.MARKET_TYPE_TEAM_TOTAL_GOALS, f"{team} total goals", goals_e2, line, side
            )

    weights = np.ascontiguousarray(np.column_stack(gains + losses))
    weights.flags.writeable = False
    return Layout(size, tuple(markets), weights)


def gains_and_losses(
    grids: NDArray[np.float64],
) -> tuple[Layout, NDArray[np.float64], NDArray[np.float64]]:
    """Per selection, P(win) + P(half win)/2 and P(half lose)/2 + P(lose), for (F, n, n) grids.

    Returns the layout and two (F, selections) arrays, columns in layout order.
    """
    stacked = np.asarray(grids, dtype=np.float64)
    if stacked.ndim == 2:
        stacked = stacked[None]
    size = stacked.shape[1]
    plan = layout(size)
    both = stacked.reshape(stacked.shape[0], size * size) @ plan.weights
    n = plan.n_selections
    return plan, both[:, :n], both[:, n:]


def market_table(grids: NDArray[np.float64]) -> tuple[Layout, NDArray[np.float64]]:
    """Effective probability of every selection of the full market set, for (F, n, n) grids."""
    plan, gain, loss = gains_and_losses(grids)
    total = gain + loss
    # A selection that can only push or lose gets 0 (withdrawn), as Outcomes does.
    effective = np.divide(gain, total, out=np.zeros_like(gain), where=gain > 0)
    return plan, effective


def football_markets(
    grid: ScoreGrid,
    home_name: str,
    away_name: str,
    wanted_types: Iterable[MT.ValueType] = FOOTBALL_MARKET_TYPES,
) -> list[MarketProbabilities]:
    """The wanted market types for one fixture, in layout order (see the module docstring)."""
    wanted = set(wanted_types)
    plan, table = market_table(grid.probabilities)
    row = table[0].tolist()
    names = {"home": home_name, "away": away_name}
    markets = []
    for spec in plan.markets:
        if spec.market_type not in wanted:
            continue
        if spec.templated:
            labels = [name.format_map(names) for name in spec.selection_names]
            title = spec.name.format_map(names)
        else:
            labels, title = list(spec.selection_names), spec.name
        first = spec.first
        markets.append(
            MarketProbabilities(
                spec.market_type,
                title,
                [
                    SelectionProbability(sid, label, row[first + k])
                    for k, (sid, label) in enumerate(zip(spec.selection_ids, labels, strict=True))
                ],
                spec.line_e2,
                spec.side,
                dict(spec.extra),
            )
        )
    return markets
