#!/usr/bin/env bash
# Regenerates Sources/CodecMessages/codec_messages.pb.swift from Protos/codec_messages.proto.
# Needs protoc (Debian: `apt-get install -y protobuf-compiler`) and protoc-gen-swift 1.39.0, the
# version Package.swift pins, which this script builds from the checkout SwiftPM fetched into
# .build/checkouts/swift-protobuf unless PROTOC_GEN_SWIFT names one already built.
# The build itself never runs this: the generated file is committed.
set -euo pipefail
cd "$(dirname "$0")"

if [[ -z "${PROTOC_GEN_SWIFT:-}" ]]; then
    swift package resolve
    swift build -c release --package-path .build/checkouts/swift-protobuf --product protoc-gen-swift
    PROTOC_GEN_SWIFT="$(swift build -c release --package-path .build/checkouts/swift-protobuf --show-bin-path)/protoc-gen-swift"
fi

protoc --plugin=protoc-gen-swift="$PROTOC_GEN_SWIFT" --swift_opt=Visibility=Public \
    --proto_path=Protos --swift_out=Sources/CodecMessages Protos/codec_messages.proto
echo "wrote Sources/CodecMessages/codec_messages.pb.swift"
