"""Graph datasets by name, in the folders PyTorch Geometric downloads them to and read by deepzoo's own
loaders: the Planetoid citation graphs ``cora``, ``citeseer``, ``pubmed`` (``Cora/raw/ind.cora.*``,
the restricted unpickler, the public split of Kipf & Welling 2017) and the TU graph-classification
sets ``mutag``, ``proteins``, ``enzymes`` (``MUTAG/raw/MUTAG_*.txt``, the 10-fold protocol of
:mod:`deepzoo.data.graph_formats_tu`). PyG publishes no checksums for these files.
"""

from __future__ import annotations

from typing import Any

from . import DATASETS
from .bundle import DataBundle
from .graph_formats import PLANETOID_PARTS, planetoid
from .graph_formats_tu import TU_REQUIRED, tu_format
from .named import Download, NamedSource, locate


def planetoid_source(name: str, folder: str) -> NamedSource:
    """The eight ``ind.<name>.*`` files in PyG's ``<folder>/raw/``, from ``Planetoid.url``."""

    def downloads() -> list[Download]:
        from torch_geometric.datasets import Planetoid

        return [Download(f"{Planetoid.url}/ind.{name}.{part}", f"{folder}/raw", library="pyg")
                for part in PLANETOID_PARTS]

    return NamedSource(folder, f"{folder}/raw", tuple(f"ind.{name}.{part}" for part in PLANETOID_PARTS), downloads)


def register_planetoid(name: str, folder: str, summary: str) -> None:
    """Register ``name`` as the Planetoid set in ``<folder>/raw/`` with its public split."""
    source = planetoid_source(name, folder)

    def load(normalize: str = "row", **options: Any) -> DataBundle:
        """The Planetoid citation graph with its public split (see :func:`~deepzoo.data.graph_formats.
        planetoid`); features row-normalised by default, Kipf & Welling 2017's preprocessing."""
        return planetoid(str(locate(source) / name), normalize=normalize, **options)

    DATASETS.register(name, kind="graph", source=source, summary=summary)(load)


def tu_source(name: str) -> NamedSource:
    """A TU set's text files in PyG's ``<NAME>/raw/``, from the zip at ``TUDataset.url``."""

    def downloads() -> list[Download]:
        from torch_geometric.datasets import TUDataset

        return [Download(f"{TUDataset.url}/{name}.zip", f"{name}/raw", unpack=True, library="pyg")]

    files = (*(f"{name}_{part}.txt" for part in TU_REQUIRED), f"{name}_node_labels.txt")
    return NamedSource(name, f"{name}/raw", files, downloads)


def register_tu(name: str, summary: str) -> None:
    """Register the TU set ``name`` (lower case) from ``<NAME>/raw/``."""
    source = tu_source(name.upper())

    def load(**options: Any) -> DataBundle:
        """The TU graph-classification set, one-hot node labels as features, fold ``fold`` (0) of 10
        stratified folds as the test split (see :mod:`deepzoo.data.graph_formats_tu`)."""
        return tu_format(str(locate(source)), **options)

    DATASETS.register(name, kind="graph", source=source, summary=summary)(load)


register_planetoid("cora", "Cora", "Cora citations (Planetoid public split 140/500/1000): 2,708 nodes, 7 classes")
register_planetoid("citeseer", "CiteSeer",
                   "CiteSeer citations (Planetoid public split 120/500/1000): 3,327 nodes, 6 classes")
register_planetoid("pubmed", "PubMed", "PubMed citations (Planetoid public split 60/500/1000): 19,717 nodes, 3 classes")
register_tu("mutag", "MUTAG molecules (TU): 188 graphs, mutagenic or not; 10-fold CV (?fold=k)")
register_tu("proteins", "PROTEINS (TU): 1,113 graphs, enzyme or not; 10-fold CV (?fold=k)")
register_tu("enzymes", "ENZYMES (TU): 600 graphs, 6 EC classes; 10-fold CV (?fold=k)")
