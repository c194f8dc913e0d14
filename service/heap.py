"""The served worker's long-lived objects kept out of the cyclic garbage collector's full passes.

Every so often CPython's collector walks every object of its oldest generation: in a worker, the
modules, the app, its routes and, once loaded, the extraction model (90,000 objects before the
model). A request that lands on such a pass waits for it: 20 to 60 ms, the tail of every list page
at one connection (bench/README.md, "Why the code is as it is"). Objects that live as long as the
process gain nothing from those passes, so once they are built they are moved out of the
collector's sight (``gc.freeze``); what requests create is collected as before.
"""

from __future__ import annotations

import gc


def settle() -> None:
    """Collect today's garbage, then set every object left aside from the collector's future passes.

    Called when the worker has started (its pool open) and when the extraction model has loaded.
    Objects set aside are still freed when their last reference goes; only a cycle among them
    would stay, which is why the garbage is collected first."""
    gc.collect()
    gc.freeze()
