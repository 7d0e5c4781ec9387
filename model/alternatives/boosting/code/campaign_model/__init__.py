"""The served model's pyfunc wrapper and interval arithmetic (from predictor/)."""
