# RpcNet — the two commands a newcomer needs:
#   make demo   build and run the demo (installs what is missing first)
#   make test   build and run the test suite (installs what is missing first)
#   make sanitize   the test suite under AddressSanitizer+LeakSanitizer, then ThreadSanitizer
#   make docs   DocC documentation of RpcNet and Transports; fails on any warning (not part of make test)
SHELL := /bin/bash
SWIFT ?= swift
CERTS := certs/ca.pem

.PHONY: setup docs demo test sanitize sanitize-address sanitize-thread bench bench-grpc bench-compare bench-codec bench-serf fuzz fuzz-build fuzz-replay fuzz-seeds format clean

setup:
	@scripts/setup.sh

# The examples, rpcnet-bench, and the tests (which run the examples' binaries) are built with the
# package trait Executables: it brings in swift-argument-parser, which only they use and which a
# package depending on RpcNet therefore never resolves (Package.swift).
EXECUTABLES := --traits Executables

# The cluster example (Examples/Cluster): director, two workers and a client on 127.0.0.1, the
# client's worker killed with SIGKILL mid-stream and restarted; prints a timeline.
demo: setup
	$(SWIFT) build -c release $(EXECUTABLES) --product director
	$(SWIFT) build -c release $(EXECUTABLES) --product worker
	$(SWIFT) build -c release $(EXECUTABLES) --product client
	$(SWIFT) build -c release $(EXECUTABLES) --product cluster-demo
	.build/release/cluster-demo

# Tests run optimised (with -enable-testing for @testable imports) in their own build folder:
# the simulated-cluster scenarios (100 members for a virtual hour, 1,000 members joining) take
# minutes unoptimised and seconds optimised.
TEST_FLAGS := -c release -Xswiftc -enable-testing --scratch-path .build-tests $(EXECUTABLES)

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
	$(SWIFT) build -c release $(EXECUTABLES) --product rpcnet-bench
	.build/release/rpcnet-bench

# gRPC-Swift 2 side by side (a separate package in Benchmarks/GRPCComparison; not part of `make test`).
bench-grpc:
	certs/generate.sh
	cd Benchmarks/GRPCComparison && $(SWIFT) build -c release && .build/release/grpc-bench --certs ../../certs

# RpcNet, gRPC-Swift 2 and gRPC-Go side by side (not part of `make test`): the same four
# measurements with the same counts and certificates, interleaved over BENCH_ROUNDS rounds; prints
# medians, min–max and same-run ratios against issue 15's targets and writes docs/bench-compare.svg.
# gRPC-Go (Benchmarks/GRPCGo) builds offline in GOPATH mode from Debian's golang-go and
# golang-google-grpc-dev, which this installs. BENCH_ARGS passes more options, e.g.
# BENCH_ARGS="--round-trips 5000" (Benchmarks/Compare/bench-compare.py --help).
BENCH_ROUNDS ?= 3
bench-compare:
	RPCNET_SKIP_VENV=1 RPCNET_EXTRA_PACKAGES="golang-go golang-google-grpc-dev" scripts/setup.sh
	Benchmarks/Compare/bench-compare.py --rounds $(BENCH_ROUNDS) $(BENCH_ARGS)

# BinaryCodec, JSONCodec and swift-protobuf on the same messages (a separate package in
# Benchmarks/CodecComparison; not part of `make test`): the encoded sizes, then encode, decode and
# round-trip times and mallocs per operation, measured by ordo-one/benchmark. It links RpcNet, so
# it installs the system libraries first (not the Python venv, which only the tests use).
bench-codec:
	RPCNET_SKIP_VENV=1 scripts/setup.sh
	cd Benchmarks/CodecComparison && $(SWIFT) build -c release --product codec-sizes && .build/release/codec-sizes
	cd Benchmarks/CodecComparison && $(SWIFT) package benchmark --no-progress

# HashiCorp Serf's membership measured like rpcnet-bench's cluster-processes section (installs serf).
bench-serf:
	Benchmarks/serf-compare.sh

# libFuzzer targets (Fuzz/, a separate package): frame decoder, BinaryCodec, gossip codec and
# sealer, and a scripted membership. `make fuzz` builds them with -sanitize=fuzzer,address and
# runs each for FUZZ_SECONDS (default 60); it fails if any target crashes. Scratch corpus, crash
# inputs and logs go to .build-fuzz/. `make fuzz-replay` replays the committed corpora
# (Fuzz/Corpus) with a plain build; `make fuzz-seeds` rewrites the seeds there.
FUZZ_SECONDS ?= 60
FUZZ_PACKAGE := -c release --package-path Fuzz -Xswiftc -enable-testing
FUZZ_TARGETS := FuzzFrameDecoder FuzzBinaryCodec FuzzGossipCodec FuzzMembership

fuzz-build: setup
	$(SWIFT) build $(FUZZ_PACKAGE) --scratch-path .build-fuzz/fuzzer \
		-Xswiftc -sanitize=fuzzer,address -Xswiftc -DFUZZING

fuzz: fuzz-build
	FUZZ_SECONDS=$(FUZZ_SECONDS) Fuzz/run.sh

fuzz-replay: setup
	$(SWIFT) build $(FUZZ_PACKAGE) --scratch-path .build-fuzz/replay
	for target in $(FUZZ_TARGETS); do .build-fuzz/replay/release/$$target Fuzz/Corpus/$$target || exit 1; done

fuzz-seeds: setup
	$(SWIFT) build $(FUZZ_PACKAGE) --scratch-path .build-fuzz/replay
	for target in $(FUZZ_TARGETS); do \
		.build-fuzz/replay/release/$$target --write-seeds Fuzz/Corpus/$$target || exit 1; done

# DocC for the two library modules, combined into one archive so that RpcNet's pages link to
# Transports' (written ``/Transports/…``), with swift-docc-plugin, which Package.swift adds only
# when RPCNET_DOCS=1 (so no consumer resolves it), in its own build folder (.build-docs). Fails on
# any warning, DocC's or the compiler's, except SwiftPM's note that a dependency (a checkout in
# .build-docs/checkouts) ships files it does not declare, such as swift-distributed-tracing's
# CMakeLists.txt, which this package cannot fix.
# Archive: .build-docs/plugins/Swift-DocC/outputs/RpcNet.doccarchive.
DOCS_LOG := .build-docs/docs.log
DOCS_WARNINGS := /warning:/ { if ($$0 ~ /which are unhandled/) { unhandled = 1; next } count++ } \
	unhandled { if ($$0 !~ /\/\.build-docs\/checkouts\//) count++; unhandled = 0 } END { print count + 0 }

docs:
	RPCNET_SKIP_VENV=1 scripts/setup.sh
	mkdir -p .build-docs
	set -o pipefail; RPCNET_DOCS=1 $(SWIFT) package --scratch-path .build-docs generate-documentation \
		--target Transports --target RpcNet --enable-experimental-combined-documentation 2>&1 | tee $(DOCS_LOG)
	@warnings=$$(awk '$(DOCS_WARNINGS)' $(DOCS_LOG)); \
	if [ "$$warnings" -gt 0 ]; then echo "make docs: $$warnings warning(s), see $(DOCS_LOG)"; exit 1; fi
	@echo "make docs: no warnings"

format:
	$(SWIFT) format --in-place --recursive Sources Tests Examples Benchmarks Package.swift

clean:
	rm -rf .build .build-tests .build-asan .build-tsan .build-fuzz .build-docs
