"""Training a Recognizer (``model.fit``): loss, seeded loaders, checkpoints, as a job."""
