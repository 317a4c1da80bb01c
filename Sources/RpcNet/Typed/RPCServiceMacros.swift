#if Macros
    /// Generates a typed client and a server registration from a protocol of async methods.
    ///
    /// ```swift
    /// @RPCService
    /// protocol Echo: Sendable {
    ///     func say(_ text: Text) async throws -> Text
    ///     func count(_ range: Range, responses: TypedMessageWriter<Int>) async throws
    /// }
    /// struct EchoService: Echo { … }
    /// EchoService().register(on: server)                                  // serve it
    /// let reply = try await EchoClient(rpcClient).say(Text("hi"))          // call it
    /// ```
    ///
    /// Each requirement is one method whose shape gives its call kind: a request parameter and a
    /// returned response (unary); a request and a `TypedMessageWriter<Response>` parameter
    /// (server streaming); a `TypedMessageStream<Request>` parameter and a returned response (client
    /// streaming); both streams (bidirectional). A last `ServerContext` parameter gives the
    /// implementation the call's context and is not part of the client's method. Requests and
    /// responses are `Codable & Sendable`; the protocol must refine `Sendable`.
    ///
    /// Generated next to the protocol: `<Protocol>Client`, whose methods take ``CallOptions`` and
    /// call through any ``RPCCaller`` (one server, or a ``ClusterClient``'s workers), streaming
    /// methods both with a body and with sequences; its `Methods` enum holds each method's
    /// ``RPCMethod``; and `register(on:)` for implementations. Wire names are
    /// `<service>.<method>`: the service is the protocol's name unless `name` is given, the method
    /// is the Swift name unless ``RPCName(_:)`` says otherwise. A method declared `throws(E)` with
    /// a ``ServiceError`` `E` gets `E` back typed on the client; `errors` names the type for methods
    /// that declare none. Unsupported declarations are diagnosed where they are written.
    @attached(peer, names: suffixed(Client))
    @attached(extension, names: named(register(on:)))
    public macro RPCService(_ name: String? = nil) = #externalMacro(module: "RpcNetMacros", type: "RPCServiceMacro")

    /// ``RPCService(_:)`` with the service's error type: callers of its methods that declare no
    /// `throws(E)` of their own get `Failure` back typed.
    @attached(peer, names: suffixed(Client))
    @attached(extension, names: named(register(on:)))
    public macro RPCService<Failure: ServiceError>(_ name: String? = nil, errors: Failure.Type) =
        #externalMacro(module: "RpcNetMacros", type: "RPCServiceMacro")

    /// The method part of a service method's wire name, when it is not the Swift name (for
    /// compatibility with a peer whose names differ).
    @attached(peer)
    public macro RPCName(_ name: String) = #externalMacro(module: "RpcNetMacros", type: "RPCMethodMarkerMacro")

    /// Marks a service method as idempotent (``RPCMethod/isIdempotent``): a ``ClusterClient``
    /// may send it again to another worker when its worker became unavailable mid-call.
    @attached(peer)
    public macro Idempotent() = #externalMacro(module: "RpcNetMacros", type: "RPCMethodMarkerMacro")
#endif
