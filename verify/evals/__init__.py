"""The eval harness: judge accuracy, retrieval recall, extraction quality and cost."""
