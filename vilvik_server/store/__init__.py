"""Plain SQL, one module per table. Nothing outside this package writes SQL."""
