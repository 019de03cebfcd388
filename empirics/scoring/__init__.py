"""LLM exposure scoring with the E0-E3 rubric."""
