"""Language models behind one small interface; LiteLLM is imported only when a model is called."""
