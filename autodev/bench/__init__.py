"""`autodev bench`: solve rate, cost and time on real exercises, side by side with simpler strategies."""
