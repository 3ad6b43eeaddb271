"""Program feedback surveys (mid-program and end of program) and their answers."""
