"""Regions, potential-worker estimates and coverage ratios."""
