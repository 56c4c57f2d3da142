"""Local models that run on the user's CPU: bundled GGUF files served by llama.cpp on loopback."""
