"""`python -m lti_tool` is the `mentor-lti` command."""

from lti_tool.cli import main

main()
