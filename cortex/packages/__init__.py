"""The local package index: apt's own data searchable offline, so plans name only real packages."""
