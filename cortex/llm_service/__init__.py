"""cortex-llm: checks a GGUF model and runs llama.cpp's llama-server on it."""
