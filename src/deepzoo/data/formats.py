"""On-disk dataset formats, one registered spec prefix each (``csv:``, ``npz:``, ``imagefolder:``,
``mnist:``, ``cifar10:``, ``cifar100:``). The loaders live in ``formats_*.py`` by kind of data; importing
this module registers them all in :data:`deepzoo.data.FORMATS` (``formats_common`` and ``formats_pickle``
hold shared helpers). See docs/data.md for the options.
"""

from __future__ import annotations

from . import formats_cifar, formats_images, formats_table

__all__ = ["formats_cifar", "formats_images", "formats_table"]
