"""Small printing helpers shared by the commands."""

from __future__ import annotations


def print_metrics(metrics: dict[str, float], title: str = "") -> None:
    """A two-column table of ``split/metric`` values, grouped by metric with splits side by side."""
    if title:
        print(title)
    splits = sorted({k.partition("/")[0] for k in metrics}, key=["train", "valid", "test"].index
                    if all(s in ("train", "valid", "test") for s in {k.partition("/")[0] for k in metrics})
                    else str)
    names = list(dict.fromkeys(k.partition("/")[2] for k in metrics))
    width = max([len(n) for n in names] + [6])
    print(f"  {'metric':<{width}}  " + "  ".join(f"{s:>10}" for s in splits))
    for name in names:
        cells = [metrics.get(f"{s}/{name}") for s in splits]
        print(f"  {name:<{width}}  " + "  ".join(f"{c:>10.4f}" if c is not None else f"{'-':>10}" for c in cells))
