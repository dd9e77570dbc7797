"""Deploying a model without Python: the ONNX export of its embedding path, with its JSON sidecar."""
