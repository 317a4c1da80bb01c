import Instrumentation

/// Writes a tracer's context into call metadata: with a W3C tracer (swift-otel's), the
/// `traceparent` and `tracestate` entries of W3C Trace Context (<https://www.w3.org/TR/trace-context/>).
struct MetadataInjector: Injector {
    func inject(_ value: String, forKey key: String, into metadata: inout Metadata) {
        metadata.replace(key, with: value)
    }
}

/// Reads a tracer's context from call metadata.
struct MetadataExtractor: Extractor {
    func extract(key: String, from metadata: Metadata) -> String? {
        metadata[key]
    }
}
