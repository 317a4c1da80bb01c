# RpcNet — the two commands a newcomer needs:
#   make demo   build and run the demo (installs what is missing first)
#   make test   build and run the test suite (installs what is missing first)
SHELL := /bin/bash
SWIFT ?= swift
CERTS := certs/ca.pem

.PHONY: setup demo test bench format clean

setup:
	@scripts/setup.sh

demo: setup
	$(SWIFT) build -c release --product rpcnet-echo
	.build/release/rpcnet-echo demo --messages 5

test: setup
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build --disable-xctest

bench: setup
	$(SWIFT) build -c release --product rpcnet-bench
	.build/release/rpcnet-bench

format:
	$(SWIFT) format --in-place --recursive Sources Tests Examples Benchmarks Package.swift

clean:
	rm -rf .build
