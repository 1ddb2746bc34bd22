"""The clustering agent beyond one context window: propose on windows, merge, assign, discover.

Stages, each a pure, batch-shaped function of its inputs (no global state):

- :mod:`.windows` -- fine embedding clusters and windows of their representatives, sized to the context;
- :mod:`.propose` -- the clustering agent on every window: named clusters with members;
- :mod:`.merge` -- the window clusters mapped into one taxonomy by the model (k inferred here);
- :mod:`.check` -- what this model does reliably (window answers, batches) against its single answers;
- :mod:`.assign` -- every text into the taxonomy (``llm``, ``hybrid`` or ``embed``);
- :mod:`.discover` -- texts that fit no topic become new topics; near-duplicates merged, tiny ones folded;
- :mod:`.pipeline` -- the stages in order, with progress and a resumable response cache;
- :mod:`.saved` -- a saved clusterer that places new texts.
"""

from __future__ import annotations
