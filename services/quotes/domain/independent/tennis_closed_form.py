"""Tennis, second engine: closed forms for game, tiebreak and set, a backward recursion for the
match.

Specification (shared with the reference, `tennis.py` / `inplay_tennis.py`): each player wins
a point on serve with a constant probability (the matchup formula p = s_A - (r_B - r_avg),
clamped to [0.01, 0.99]); deuce and the tie at (N-1)-all of a tiebreak are resolved in closed
form; sets are won at 6 games with two clear, by a tiebreak at `tiebreak_at_games` all, or in
advantage play (tiebreak_at 0), which is followed to ADVANTAGE_CAP games all and its tail
lumped at (cap + 2, cap) with the service-pair odds; the next set's first server follows the
parity of the set's games (a tiebreak counts one); pre-match the first server is a coin toss.
In play the completed sets, the current set's games and the current game's or tiebreak's
points condition the rest exactly as the live service scores them.

How this engine computes it: a game and a tiebreak from any point score as sums of binomial
path counts (O'Malley 2008), deuce and the tiebreak's tie as a gambler's ruin on the lead (over
points, over pairs of points); a set from any game score by convolving the binomials of the
games each player serves (Barnett & Clarke 2005), the service-pair geometric series beyond
5-5; the match as a memoised backward recursion over (sets, first server) returning the
distributions of the rest of the match.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass

from betmesh.common.v1 import game_state_pb2, market_pb2, sport_pb2
from betmesh.quotes.v1 import snapshot_pb2

from services.quotes.domain.markets import MarketProbabilities, SelectionProbability, centre_line_e2

CAP = 30
LINE_OFFSETS = (-200, -100, 0, 100, 200)
Dist = dict[int, float]


@dataclass(frozen=True)
class Rules:
    best_of: int
    tiebreak_at: int
    final_tiebreak: bool
    final_points: int


@dataclass
class Rest:
    """The rest of a match from some point: set scores, added games and added margin."""

    scores: dict[tuple[int, int], float]
    games: Dist
    margin: Dist


def _binomial(n: int, k: int, p: float) -> float:
    if k < 0 or k > n:
        return 0.0
    return math.comb(n, k) * p**k * (1.0 - p) ** (n - k)


def _ruin(up: float, down: float, start: int, goal: int) -> float:
    """P(a walk that steps +1 with chance `up` and -1 with chance `down` (else stays) reaches
    `goal` before 0 from `start`): gambler's ruin, (1 - r^start) / (1 - r^goal), r = down/up,
    through expm1 so that r near 1 loses no digits."""
    if up == down:
        return start / goal
    log_r = math.log(down) - math.log(up)
    return math.expm1(start * log_r) / math.expm1(goal * log_r)


def game_from_score(p: float, i: int, j: int) -> float:
    """P(the server wins the game from i-j in points), in closed form."""
    q = 1.0 - p
    lead = i - j
    if max(i, j) >= 4 and abs(lead) >= 2:
        return 1.0 if lead > 0 else 0.0
    if min(i, j) >= 3:
        # Deuce or advantage: a walk on the lead, the game won at +2 and lost at -2.
        return _ruin(p, q, lead + 2, 4)
    need = 4 - i
    # Win before deuce: the last point is the server's, the receiver takes k <= 2 - j before.
    before = sum(math.comb(need - 1 + k, k) * p**need * q**k for k in range(0, 3 - j))
    # Reach 3-3: any order of the remaining 3 - i and 3 - j points.
    to_deuce = math.comb(6 - i - j, 3 - i) * p ** (3 - i) * q ** (3 - j)
    return before + to_deuce * _ruin(p, q, 2, 4)


def _tiebreak_serves_first(index: int) -> bool:
    """Whether the player serving the tiebreak's first point serves point `index` (0-based)."""
    # Serve order A, B B, A A, B B, ...: a period of four points from the first.
    return index % 4 in (0, 3)


def tiebreak_from_score(pa: float, pb: float, i: int, j: int, a_first: bool, points: int) -> float:
    """P(A wins a tiebreak to `points` from i-j), A serving its first point when a_first."""
    last = points - 1
    # From a tie every two points are one serve each: a walk over pairs of points, A one pair
    # ahead (both points) winning, one behind losing.
    tie = _ruin(pa * (1.0 - pb), (1.0 - pa) * pb, 1, 2)

    def a_point(index: int) -> float:
        return pa if _tiebreak_serves_first(index) == a_first else 1.0 - pb

    lead = i - j
    if max(i, j) >= points and abs(lead) >= 2:
        return 1.0 if lead > 0 else 0.0
    if min(i, j) >= last:
        if lead == 0:
            return tie
        # One point ahead or behind: the next point ends the tiebreak or ties it again.
        p = a_point(i + j)
        if_won, if_lost = (1.0, tie) if lead > 0 else (tie, 0.0)
        return p * if_won + (1.0 - p) * if_lost

    def a_wins_exactly(first: int, count: int, wins: int) -> float:
        """P(A wins exactly `wins` of the points first .. first+count-1)."""
        a_served = sum(
            1 for k in range(first, first + count) if _tiebreak_serves_first(k) == a_first
        )
        b_served = count - a_served
        return math.fsum(
            _binomial(a_served, x, pa) * _binomial(b_served, wins - x, 1.0 - pb)
            for x in range(0, min(a_served, wins) + 1)
        )

    played = i + j
    total = 0.0
    for b_final in range(j, last):  # A reaches `points` with B on b_final <= points - 2
        count = (points - i) + (b_final - j)
        total += a_wins_exactly(played, count - 1, points - 1 - i) * a_point(played + count - 1)
    if i <= last and j <= last:
        count = (last - i) + (last - j)
        total += a_wins_exactly(played, count, last - i) * tie
    return total


@dataclass(frozen=True)
class SetModel:
    hold_a: float
    hold_b: float
    tb_a_first: float  # P(A wins the tiebreak) when A serves its first point
    tb_b_first: float  # ... when B does
    tiebreak_at: int  # 0: advantage set

    def a_game(self, index: int, a_first: bool) -> float:
        a_serves = (index % 2 == 0) == a_first
        return self.hold_a if a_serves else 1.0 - self.hold_b


def _a_wins_games(model: SetModel, a_first: bool, first: int, count: int, wins: int) -> float:
    """P(A wins exactly `wins` of games first .. first+count-1): two binomials convolved."""
    a_served = sum(1 for t in range(first, first + count) if (t % 2 == 0) == a_first)
    b_served = count - a_served
    return math.fsum(
        _binomial(a_served, x, model.hold_a) * _binomial(b_served, wins - x, 1.0 - model.hold_b)
        for x in range(0, min(a_served, wins) + 1)
    )


def set_outcomes(model: SetModel, a_first: bool, ga: int = 0, gb: int = 0) -> Dist2:
    """Final scores of a set from ga-gb (no game under way), A serving the set's first game
    when a_first: {(games A, games B): probability}."""
    out: Dist2 = {}
    cap = model.tiebreak_at if model.tiebreak_at else max(CAP, max(ga, gb) + 1)

    def add(key: tuple[int, int], p: float) -> None:
        if p:
            out[key] = out.get(key, 0.0) + p

    tied_at: dict[int, float] = {}  # n -> P(reaching n-n), n >= 5
    if ga <= 5 and gb <= 5 and not (ga == 5 and gb == 5):
        played = ga + gb
        for k in range(gb, 5):  # A wins 6-k
            count = 6 - ga + k - gb
            add(
                (6, k),
                _a_wins_games(model, a_first, played, count - 1, 5 - ga)
                * model.a_game(played + count - 1, a_first),
            )
        for k in range(ga, 5):  # B wins k-6
            count = 6 - gb + k - ga
            add(
                (k, 6),
                _a_wins_games(model, a_first, played, count - 1, k - ga)
                * (1.0 - model.a_game(played + count - 1, a_first)),
            )
        tied_at[5] = _a_wins_games(model, a_first, played, 10 - played, 5 - ga)
        start = 5
    elif ga == gb:
        tied_at[ga] = 1.0
        start = ga
    else:
        # One game ahead beyond 5-5: the next game ends the set or ties it.
        n = min(ga, gb)
        p = model.a_game(ga + gb, a_first)
        if ga > gb:
            add((ga + 1, gb), p)
            tied_at[n + 1] = 1.0 - p
        else:
            add((ga, gb + 1), 1.0 - p)
            tied_at[n + 1] = p
        start = n + 1
    # From n-n every two games are one service game each: both to A, both to B, or tied again.
    both_a = model.hold_a * (1.0 - model.hold_b)
    both_b = (1.0 - model.hold_a) * model.hold_b
    split = 1.0 - both_a - both_b
    mass = tied_at.get(start, 0.0)
    n = start
    while n < cap:
        add((n + 2, n), mass * both_a)
        add((n, n + 2), mass * both_b)
        mass *= split
        n += 1
    if model.tiebreak_at:
        a_serves = ((2 * cap) % 2 == 0) == a_first
        w = model.tb_a_first if a_serves else model.tb_b_first
        add((cap + 1, cap), mass * w)
        add((cap, cap + 1), mass * (1.0 - w))
    else:
        w = both_a / (both_a + both_b)
        add((cap + 2, cap), mass * w)
        add((cap, cap + 2), mass * (1.0 - w))
    return out


Dist2 = dict[tuple[int, int], float]


def set_won(a: int, b: int) -> int:
    high, low = max(a, b), min(a, b)
    if (high >= 6 and high - low >= 2) or (high, low) == (7, 6):
        return 1 if a > b else -1
    return 0


class MatchModel:
    def __init__(self, pa: float, pb: float, rules: Rules) -> None:
        self.pa, self.pb, self.rules = pa, pb, rules
        self.hold_a = game_from_score(pa, 0, 0)
        self.hold_b = game_from_score(pb, 0, 0)
        self.need = rules.best_of // 2 + 1

    def set_rules(self, final: bool) -> tuple[int, int]:
        if final:
            return (self.rules.tiebreak_at if self.rules.final_tiebreak else 0), (
                self.rules.final_points or 7
            )
        return self.rules.tiebreak_at, 7

    @functools.cache  # noqa: B019 - one model per request
    def set_model(self, final: bool) -> SetModel:
        tiebreak_at, points = self.set_rules(final)
        if not tiebreak_at:
            return SetModel(self.hold_a, self.hold_b, 0.0, 0.0, 0)
        a_first = tiebreak_from_score(self.pa, self.pb, 0, 0, True, points)
        b_first = 1.0 - tiebreak_from_score(self.pb, self.pa, 0, 0, True, points)
        return SetModel(self.hold_a, self.hold_b, a_first, b_first, tiebreak_at)

    @functools.cache  # noqa: B019
    def rest(self, sa: int, sb: int, a_first: bool) -> Rest:
        """The rest of the match from a set score, before the next set's first point."""
        if self.need in (sa, sb):
            return Rest({(sa, sb): 1.0}, {0: 1.0}, {0: 1.0})
        final = sa == sb == self.need - 1
        outcomes = set_outcomes(self.set_model(final), a_first)
        return self.after_set(sa, sb, a_first, outcomes)

    def after_set(self, sa: int, sb: int, a_first: bool, outcomes: Dist2) -> Rest:
        scores: dict[tuple[int, int], float] = {}
        games: Dist = {}
        margin: Dist = {}
        for (fa, fb), p in sorted(outcomes.items()):
            played = fa + fb
            following = a_first if played % 2 == 0 else not a_first
            nxt = self.rest(sa + (fa > fb), sb + (fb > fa), following)
            for key, q in nxt.scores.items():
                scores[key] = scores.get(key, 0.0) + p * q
            for g, q in nxt.games.items():
                games[g + played] = games.get(g + played, 0.0) + p * q
            for m, q in nxt.margin.items():
                margin[m + fa - fb] = margin.get(m + fa - fb, 0.0) + p * q
        return Rest(scores, games, margin)


def _mix(parts: Sequence[tuple[float, Rest]]) -> Rest:
    scores: dict[tuple[int, int], float] = {}
    games: Dist = {}
    margin: Dist = {}
    for w, rest in parts:
        for k, v in rest.scores.items():
            scores[k] = scores.get(k, 0.0) + w * v
        for g, v in rest.games.items():
            games[g] = games.get(g, 0.0) + w * v
        for m, v in rest.margin.items():
            margin[m] = margin.get(m, 0.0) + w * v
    return Rest(scores, games, margin)


def _shift(rest: Rest, games: int, margin: int) -> Rest:
    return Rest(
        rest.scores,
        {g + games: v for g, v in rest.games.items()},
        {m + margin: v for m, v in rest.margin.items()},
    )


def live_rest(match: MatchModel, state: game_state_pb2.TennisState) -> Rest:
    *completed, current = state.sets
    winners = [set_won(s.home_games, s.away_games) for s in completed]
    sa, sb = winners.count(1), winners.count(-1)
    home_games = sum(s.home_games for s in completed)
    away_games = sum(s.away_games for s in completed)
    done_games, done_margin = home_games + away_games, home_games - away_games
    ga, gb = current.home_games, current.away_games
    won = set_won(ga, gb)
    nowhere = Rest({}, {}, {})  # a score past the end of the match: no outcome to price
    if max(sa, sb) > match.need:
        return nowhere
    if won or match.need in (sa, sb):
        # The current set is over: the match is decided, or goes on with the next set (whose
        # first server the score does not say; A, as the live service assumes).
        after = (sa + (won > 0), sb + (won < 0))
        if max(after) > match.need:
            return nowhere
        if match.need in after:
            return Rest({after: 1.0}, {done_games + ga + gb: 1.0}, {done_margin + ga - gb: 1.0})
        return _shift(
            match.rest(after[0], after[1], True), done_games + ga + gb, done_margin + ga - gb
        )
    final = sa == sb == match.need - 1
    model = match.set_model(final)
    tiebreak_at, points = match.set_rules(final)
    serving = state.home_serving
    outcomes: Dist2 = {}
    if state.in_tiebreak:
        played_points = state.home_points + state.away_points
        tb_a_first = serving if _tiebreak_serves_first(played_points) else not serving
        w = tiebreak_from_score(
            match.pa, match.pb, state.home_points, state.away_points, tb_a_first, points
        )
        outcomes = {(ga + 1, gb): w, (ga, gb + 1): 1.0 - w}
        a_first_set = tb_a_first if (ga + gb) % 2 == 0 else not tb_a_first
    else:
        if serving:
            first = game_from_score(match.pa, state.home_points, state.away_points)
        else:
            first = 1.0 - game_from_score(match.pb, state.away_points, state.home_points)
        a_first_set = serving if (ga + gb) % 2 == 0 else not serving
        cap = tiebreak_at if tiebreak_at else max(CAP, max(ga, gb) + 1)
        if ga + gb > 2 * cap:
            pass  # games beyond a tiebreak set's end: no outcome to price
        elif ga == cap and gb == cap:
            # Games all at the cap: the tiebreak (or the lumped tail) decides, as a set would.
            outcomes = set_outcomes(model, a_first_set, ga, gb)
        else:
            for won_game, p in ((True, first), (False, 1.0 - first)):
                na, nb = (ga + 1, gb) if won_game else (ga, gb + 1)
                if max(na, nb) >= 6 and abs(na - nb) >= 2:
                    outcomes[(na, nb)] = outcomes.get((na, nb), 0.0) + p
                    continue
                for key, q in set_outcomes(model, a_first_set, na, nb).items():
                    outcomes[key] = outcomes.get(key, 0.0) + p * q
    rest = match.after_set(sa, sb, a_first_set, outcomes)
    return _shift(rest, done_games, done_margin)


def _effective(win: float, lose: float) -> float:
    return win / (win + lose) if win > 0.0 else 0.0


def _signed(line_e2: int) -> str:
    return ("+" if line_e2 > 0 else "") + f"{line_e2 / 100:g}"


def markets(
    rest: Rest,
    home_name: str,
    away_name: str,
    best_of: int,
    wanted: Sequence[market_pb2.MarketType.ValueType],
) -> list[MarketProbabilities]:
    out: list[MarketProbabilities] = []
    want = set(wanted)
    if market_pb2.MARKET_TYPE_MATCH_WINNER in want:
        home = math.fsum(v for (a, b), v in rest.scores.items() if a > b)
        out.append(
            MarketProbabilities(
                market_pb2.MARKET_TYPE_MATCH_WINNER,
                "Match winner",
                [
                    SelectionProbability("home", home_name, home),
                    SelectionProbability("away", away_name, 1.0 - home),
                ],
            )
        )
    if market_pb2.MARKET_TYPE_SET_BETTING in want:
        need = best_of // 2 + 1
        # Every score at which one player has `need` sets and the other fewer: the home
        # player's wins first, each side by the loser's sets.
        finals = sorted(
            (
                (a, b)
                for a in range(need + 1)
                for b in range(need + 1)
                if max(a, b) == need > min(a, b)
            ),
            key=lambda score: (score[0] < score[1], min(score)),
        )
        selections = []
        for a, b in finals:
            winner = home_name if a == need else away_name
            selections.append(
                SelectionProbability(
                    f"{a}-{b}", f"{winner} {need}-{min(a, b)}", rest.scores.get((a, b), 0.0)
                )
            )
        out.append(
            MarketProbabilities(market_pb2.MARKET_TYPE_SET_BETTING, "Set betting", selections)
        )
    if market_pb2.MARKET_TYPE_TOTAL_GAMES in want:
        centre = centre_line_e2(math.fsum(g * v for g, v in rest.games.items()))
        for line in (centre + d for d in LINE_OFFSETS):
            over = math.fsum(v for g, v in rest.games.items() if g * 100 > line)
            under = math.fsum(v for g, v in rest.games.items() if g * 100 < line)
            text = f"{line / 100:g}"
            out.append(
                MarketProbabilities(
                    market_pb2.MARKET_TYPE_TOTAL_GAMES,
                    f"Total games {text}",
                    [
                        SelectionProbability("over", f"Over {text}", _effective(over, under)),
                        SelectionProbability("under", f"Under {text}", _effective(under, over)),
                    ],
                    line_e2=line,
                )
            )
    if market_pb2.MARKET_TYPE_GAMES_HANDICAP in want:
        centre = centre_line_e2(-math.fsum(m * v for m, v in rest.margin.items()))
        for line in (centre + d for d in LINE_OFFSETS):
            home = math.fsum(v for m, v in rest.margin.items() if m * 100 + line > 0)
            away = math.fsum(v for m, v in rest.margin.items() if m * 100 + line < 0)
            out.append(
                MarketProbabilities(
                    market_pb2.MARKET_TYPE_GAMES_HANDICAP,
                    f"Games handicap {home_name} {_signed(line)}",
                    [
                        SelectionProbability(
                            "home", f"{home_name} {_signed(line)}", _effective(home, away)
                        ),
                        SelectionProbability(
                            "away", f"{away_name} {_signed(-line)}", _effective(away, home)
                        ),
                    ],
                    line_e2=line,
                    side=sport_pb2.SIDE_HOME,
                )
            )
    return out


def serve_probability(serve: float, opponent_return: float, average_return: float) -> float:
    return min(0.99, max(0.01, serve - (opponent_return - average_return)))


def model(
    fixture: sport_pb2.Fixture,
    snapshot: snapshot_pb2.ModelSnapshot,
    home: snapshot_pb2.PlayerRating,
    away: snapshot_pb2.PlayerRating,
    wanted: Sequence[market_pb2.MarketType.ValueType],
    state: game_state_pb2.GameState | None,
) -> list[MarketProbabilities]:
    params = snapshot.tennis
    average = math.fsum(p.return_point_win for p in params.players) / len(params.players)
    pa = serve_probability(home.serve_point_win, away.return_point_win, average)
    pb = serve_probability(away.serve_point_win, home.return_point_win, average)
    rules = Rules(
        fixture.best_of_sets,
        params.tiebreak_at_games,
        params.final_set_tiebreak,
        params.final_set_tiebreak_points or 7,
    )
    match = MatchModel(pa, pb, rules)
    if state is not None and state.tennis.sets:
        rest = live_rest(match, state.tennis)
    else:
        rest = _mix([(0.5, match.rest(0, 0, True)), (0.5, match.rest(0, 0, False))])
    return markets(
        rest,
        fixture.home.name or home.name,
        fixture.away.name or away.name,
        fixture.best_of_sets,
        wanted,
    )
