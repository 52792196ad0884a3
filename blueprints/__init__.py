"""HTTP boundary: one package per portal. Views parse, call one operation, and render."""
