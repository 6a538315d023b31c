"""Known-answer vectors and the script that regenerates them."""
