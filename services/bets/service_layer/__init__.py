"""The bets application layer: commands in, domain calls over units of work out (servicer ->
service layer -> domain -> adapters). Owns orchestration: the live-bet delay, deciding due live
bets, and the order in which prices are fetched before a rule reads them."""
