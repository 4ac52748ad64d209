"""``cortex setup``: choose the LLM backend and model, write the three config files, start the services."""
