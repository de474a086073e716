"""Coverage answers and person histories."""
