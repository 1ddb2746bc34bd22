"""Everything that asks a model about a corpus: the stages of the large-corpus pipeline and of the assisted mode.

Stages, each a function of its inputs (no global state), in the order data flows through them:

- :mod:`.context` -- the settings every stage is handed, and what a fit leaves to place new texts;
- :mod:`.taxonomy` -- topics with stable ids, categories, window clusters (data);
- :mod:`.calls` -- model calls and what they cost;
- :mod:`.names` -- the model names groups of texts; names compared, split and made distinct;
- :mod:`.windows` -- fine embedding clusters and windows of their representatives, sized to the context;
- :mod:`.propose` -- the clustering agent on every window, the embedding clusters named, or categories
  from a sample;
- :mod:`.assign` -- every text into the taxonomy (``llm``, ``hybrid`` or ``embed``), one category per text;
- :mod:`.merge` -- the window clusters mapped into one taxonomy by the model (k inferred here);
- :mod:`.check` -- what this model does reliably (window answers, batches) against its single answers;
- :mod:`.discover` -- texts that fit no topic become new topics; near-duplicates merged, tiny ones folded;
- :mod:`.pipeline` -- the large-corpus stages in order, with progress and a resumable response cache;
- :mod:`.assist` -- the assisted mode: the offline clusters named by the model, every text picked into a category;
- :mod:`.saved` -- a saved clusterer that places new texts.

The offline embedding package (:mod:`cluster_r1.embed`) imports none of these.
"""

from __future__ import annotations
