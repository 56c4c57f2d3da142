"""Running the user's tests safely and judging whether an attempt may be committed."""
