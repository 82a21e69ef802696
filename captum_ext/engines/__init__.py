"""Engines that spread dataset-sized jobs over processes or machines (optional extras)."""
