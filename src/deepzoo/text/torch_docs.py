"""The docstrings of ``torch.nn``'s modules as a corpus, built offline from the installed PyTorch.

A realistic test bed for ``deepzoo explain`` that nobody here wrote: one document per public
``nn.Module`` subclass of ``torch.nn`` that has a docstring (159 in PyTorch 2.x), titled by the class
name, its text the docstring in PyTorch's reStructuredText style. It is built each time from the
installed package, never stored, so nothing is copied into the repository.
"""

from __future__ import annotations

import inspect

from .corpus import Document


def torch_nn_corpus() -> list[Document]:
    """One :class:`Document` per documented public module class of ``torch.nn``, sorted by name."""
    from torch import nn

    documents = []
    for name in sorted(dir(nn)):
        cls = getattr(nn, name)
        if name.startswith("_") or not inspect.isclass(cls) or not issubclass(cls, nn.Module):
            continue
        if cls.__doc__:
            documents.append(Document(title=name, text=inspect.cleandoc(cls.__doc__), source=f"torch.nn.{name}"))
    return documents
