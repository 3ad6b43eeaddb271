"""LTI Deep Linking 2.0: instructors place the program or a graded skill assessment in the LMS."""
