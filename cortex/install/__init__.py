"""Package plans: from a request to checked argv steps, their execution, history and rollback."""
