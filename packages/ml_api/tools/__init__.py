"""Developer tools of the service: a real server for tests, the load test and the benchmark."""
