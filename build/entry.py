"""PyInstaller's entry script for the bundle: the same `rentdesk` command as the installed one."""

import multiprocessing
import sys

from app.cli import main

if __name__ == "__main__":
    multiprocessing.freeze_support()  # a frozen program must not re-run main() in child processes
    sys.exit(main())
