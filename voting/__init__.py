"""Elections, ballots and the public bulletin board."""
