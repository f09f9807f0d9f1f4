"""The action container's entry point: run codeagent and exit with its status."""

import sys

from codeagent.main import main

if __name__ == "__main__":
    sys.exit(main())
