"""Stage 1 rules, one module per resource family: how a flattened resource (a ViewDefinition
row) and the concepts its codes mean become fact rows. ``domain/extract.py`` picks the module
by resource type; each module picks its handler by concept from a table (docs/add-a-mapping.md).
"""
