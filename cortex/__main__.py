"""``python -m cortex`` is ``cortex``."""

from cortex.cli.entry import main

main()
