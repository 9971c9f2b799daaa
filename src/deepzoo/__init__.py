"""deepzoo."""
