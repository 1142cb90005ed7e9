"""A demo organisation and the fake AI vendors it (and the tests and benchmarks) talk to."""
