"""Code shared by the benchmarks and the tests that check what the benchmarks measure."""
