"""Events: a durable record of every change, written with the change itself."""
