"""The use cases, one a module, each given the Store (never the ``Workflow``).

``transitions`` fires single transitions, ``cards`` reads cards and events,
``registration`` registers residents, ``bulk`` moves many cards, ``allocation`` plans
and writes who gets a blank, ``blanks`` moves stock, ``rulebook`` keeps the rule sets,
``reports`` counts; ``lifecycle`` holds the shipped lifecycle, what its guard and effect
names do, and the one executor per lifecycle. No SQL here: it is all in ``_store``.
"""
