"""Background jobs (rendering, transcription) with progress, kept in the database."""
