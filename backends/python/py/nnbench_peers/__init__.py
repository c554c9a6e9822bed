"""nnbench's Python peers: PyTorch, JAX and Keras/TensorFlow adapters driven by the Rust
harness through a worker process (see worker.py and the contract in each framework module)."""
