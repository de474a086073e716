"""Bulk uploads of committee and sponsor rosters."""
