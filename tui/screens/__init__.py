"""Modal and full screens of the review app."""
