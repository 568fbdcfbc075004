"""The `cnai` command line."""
