"""HTTP routes: health, task REST, chat."""
