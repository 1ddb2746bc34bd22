"""Showing results to people: the terminal summary (and, later, the HTML report)."""
