"""tinyreport: measured facts about small Keras models on the XIAO ESP32-S3."""

__version__ = "0.1.0"
