"""The second pricing engine of every sport, written from the mathematical specification (the
module docstrings of `football.py`, `football_markets.py`, `inplay.py`, `tennis.py`,
`inplay_tennis.py`, `basketball.py`, `inplay_basketball.py`), not from their code.

Each engine shares with the reference only the contract (protos, `MarketProbabilities`), the
snapshot format and the canonical output encoding (`pricing.price_market`: the one rounding
rule, margins, the ladder). Its algorithms differ on purpose, so that a bug in one engine's
code is not made identically by the other and the gateway's cross-engine agreement rule can
catch it (docs/architecture.md, "Agreement across engines"):

- football (`football_direct`): Poisson pmfs by the product recursion p(k) = p(k-1) * rate / k
  (the reference takes logs and lgamma), and every market from 1-D marginal distributions
  (goal difference, total, each side's goals) summed out of the grid, instead of the
  reference's cell-by-cell settlement matrix;
- tennis (`tennis_closed_form`): game and tiebreak from any point score in closed form
  (binomial path counts, O'Malley), sets by binomial convolution over the two servers' games
  (Barnett-Clarke), and the match by a backward recursion over set scores (the reference runs
  forward dynamic programmes over points, games and sets);
- basketball (`basketball_cdf`): every market straight from the normal CDF at its threshold
  (upper tails by erfc) instead of summing a discretised pmf.
"""
