"""Local fakes of every AI provider and of the WhatsApp Graph API, speaking each real protocol
on 127.0.0.1: used by the tests, the benchmarks and `make demo`."""
