"""Models: the bundled default, the catalog, downloads and GGUF inspection."""
