"""Adoption of a foreign ONNX classifier: `python -m exporter.adopt --help`."""
import sys

from exporter.adopt.cli import main

sys.exit(main())
