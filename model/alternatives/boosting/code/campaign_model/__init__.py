"""The served model's pyfunc wrapper and interval arithmetic, copied byte for byte into every bundle."""
