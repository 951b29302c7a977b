"""`freshet lint`: policy checks of compiled pipeline specs, offline (see `engine`)."""
