"""Entry file of the Databricks job (see training/databricks_job.py): ``python -m training ARGS``.

Databricks runs a job's Python file as a script from the Git checkout, so the checkout's root is
put on the import path first.
"""

import sys
from pathlib import Path

if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from training.__main__ import main

    sys.exit(main(sys.argv[1:]))
