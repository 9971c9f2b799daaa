"""The pictures a run draws while it trains and when it ends (curves, sample grids, reconstructions,
decision boundaries, confusion matrices, graph embeddings, tuning histories): matplotlib (Agg), loaded
only by the modules here, which callers import where a figure is drawn."""
