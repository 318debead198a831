"""Allow `python -m tinyreport`."""

from tinyreport.cli import main

main()
