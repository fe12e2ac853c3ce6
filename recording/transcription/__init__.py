"""Draft transcription of recorded audio tracks: one recogniser interface
(:mod:`.recogniser`), the PocketSphinx and Vosk engines, decoding a track to 16 kHz PCM on the
session clock (:mod:`.audio`), the background job (:mod:`.job`) and accepting lines
(:mod:`.accept`)."""
