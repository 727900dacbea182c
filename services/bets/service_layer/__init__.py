"""The bets application layer: commands in, domain calls over units of work out (servicer ->
service layer -> domain -> adapters). Owns orchestration: the live-bet delay, deciding due live
bets, the order in which prices are fetched before a rule reads them, settling bet by bet,
operators' requests once per key, and the check of announced results against the chain."""
