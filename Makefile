# RpcNet — the two commands a newcomer needs:
#   make demo   build and run the demo (installs what is missing first)
#   make test   build and run the test suite (installs what is missing first)
#   make sanitize   the test suite under AddressSanitizer+LeakSanitizer, then ThreadSanitizer
SHELL := /bin/bash
SWIFT ?= swift
CERTS := certs/ca.pem

.PHONY: setup demo test sanitize sanitize-address sanitize-thread bench bench-grpc bench-serf format clean

setup:
	@scripts/setup.sh

# The cluster example (Examples/Cluster): director, two workers and a client on 127.0.0.1, the
# client's worker killed with SIGKILL mid-stream and restarted; prints a timeline.
demo: setup
	$(SWIFT) build -c release --product director
	$(SWIFT) build -c release --product worker
	$(SWIFT) build -c release --product client
	$(SWIFT) build -c release --product cluster-demo
	.build/release/cluster-demo

# Tests run optimised (with -enable-testing for @testable imports) in their own build folder:
# the simulated-cluster scenarios (100 members for a virtual hour, 1,000 members joining) take
# minutes unoptimised and seconds optimised.
TEST_FLAGS := -c release -Xswiftc -enable-testing --scratch-path .build-tests

test: setup
	$(SWIFT) build --build-tests $(TEST_FLAGS)
	$(SWIFT) test --skip-build --disable-xctest $(TEST_FLAGS)

# The test suite under sanitizers, each in its own build folder (.build-asan, .build-tsan);
# scripts/sanitize.sh says what is skipped and why, and prints the build and run times.
sanitize: sanitize-address sanitize-thread

sanitize-address: setup
	SWIFT=$(SWIFT) scripts/sanitize.sh address

sanitize-thread: setup
	SWIFT=$(SWIFT) scripts/sanitize.sh thread

bench: setup
	$(SWIFT) build -c release --product rpcnet-bench
	.build/release/rpcnet-bench

# gRPC-Swift 2 side by side (a separate package in Benchmarks/GRPCComparison; not part of `make test`).
bench-grpc:
	certs/generate.sh
	cd Benchmarks/GRPCComparison && $(SWIFT) build -c release && .build/release/grpc-bench --certs ../../certs

# HashiCorp Serf's membership measured like rpcnet-bench's cluster-processes section (installs serf).
bench-serf:
	Benchmarks/serf-compare.sh

format:
	$(SWIFT) format --in-place --recursive Sources Tests Examples Benchmarks Package.swift

clean:
	rm -rf .build .build-tests .build-asan .build-tsan
