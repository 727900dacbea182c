"""Football model fitting: a job that turns a results file into a frozen ModelSnapshot.

`fit_football_snapshot(rows, as_of, xi, ...)` is the entry point (`python -m services.quotes.fit`
is its CLI); `data.read_results` reads a results CSV and its sha256.
"""

from services.quotes.fitting.data import MatchRow, participant_id, read_results
from services.quotes.fitting.snapshot import fit_football_snapshot, fit_ratings

__all__ = ["MatchRow", "fit_football_snapshot", "fit_ratings", "participant_id", "read_results"]
