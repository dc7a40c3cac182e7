"""HTTP routes, one module per audience: the leaderboard (public), admins (API), admins (review page)."""
