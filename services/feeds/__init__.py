"""The feed registry: adding, listing, removing, importing and exporting feeds."""
