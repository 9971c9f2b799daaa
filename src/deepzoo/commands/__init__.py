"""Sub-commands of the ``deepzoo`` CLI, one module each (see :mod:`deepzoo.cli`)."""
