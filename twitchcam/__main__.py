"""`python -m twitchcam`: the command line."""
import sys

from twitchcam.cli.main import main

sys.exit(main())
