"""The documentation site: the MkDocs plugin (:mod:`.plugin`), the overview page (:mod:`.overview`) and its chart (:mod:`.chart`).

Only :mod:`.plugin` imports MkDocs; the overview and the chart are plain functions of traces.
"""
