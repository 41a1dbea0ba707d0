"""The documentation site: the MkDocs plugin (`.plugin`), the overview page (`.overview`) and its chart (`.chart`).

Only `.plugin` imports MkDocs; the overview and the chart are plain functions of traces.
"""
