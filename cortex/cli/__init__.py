"""The ``cortex`` command line: thin click commands over the library."""
