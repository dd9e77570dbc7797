"""The recognition model: recognite's Recognizer rebuilt on torchvision, its catalog, store, weights and embedding."""
