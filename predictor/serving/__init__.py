"""The prediction layer: the Predictor facade, the model bundle, the Databricks endpoint client and the settings."""
