"""cortexd: the always-on daemon (IPC server, inference queue, lifecycle); see DESIGN section 2."""
