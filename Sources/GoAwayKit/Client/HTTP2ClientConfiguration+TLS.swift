import NIOSSL

extension HTTP2ClientConfiguration.TLS {
    /// Trust roots, and optionally a client certificate and key (mutual TLS), as values in memory:
    /// no file is read. `useSystemRoots: false` trusts only `trustRoots`.
    public init(
        trustRoots: [NIOSSLCertificate], useSystemRoots: Bool = false,
        certificateChain: [NIOSSLCertificate] = [], privateKey: NIOSSLPrivateKey? = nil
    ) {
        self.init(useSystemRoots: useSystemRoots)
        self.trustRoots = trustRoots
        self.certificateChain = certificateChain
        self.privateKey = privateKey
    }

    /// A whole swift-nio-ssl `TLSConfiguration` (trust roots, client certificate, versions, ciphers,
    /// verification). It replaces every other field of `TLS`, except that its `applicationProtocols`
    /// is replaced by `["h2"]`: this client speaks HTTP/2 only. One `NIOSSLContext` rejects makes
    /// `HTTP2Client.init` throw `.invalidRequest`.
    public init(tlsConfiguration: TLSConfiguration) {
        self.init()
        override = TLSConfigurationBox(configuration: tlsConfiguration)
    }

    /// The whole `TLSConfiguration` that replaces the other fields, or `nil` to build one from them.
    public var tlsConfiguration: TLSConfiguration? {
        get { override?.configuration }
        set { override = newValue.map(TLSConfigurationBox.init) }
    }

    /// The swift-nio-ssl configuration these settings describe (ALPN `h2`), as a context; a bad
    /// value (unreadable trust root file, a key without a certificate, a key that does not match)
    /// throws `HTTP2ClientError(.invalidRequest)` naming it.
    func makeContext() throws -> NIOSSLContext {
        var c: TLSConfiguration
        if let override {
            c = override.configuration
        } else {
            c = TLSConfiguration.makeClientConfiguration()
            if insecure {
                c.certificateVerification = .none
            } else {
                let roots = try trustRootFiles.flatMap(ClientRuntime.loadTrustRoots) + trustRoots
                if !useSystemRoots {
                    c.trustRoots = .certificates(roots)
                } else if !roots.isEmpty {
                    c.additionalTrustRoots = [.certificates(roots)]
                }
            }
            switch (certificateChain.isEmpty, privateKey) {
            case (true, nil): break
            case (false, let key?):
                c.certificateChain = certificateChain.map { .certificate($0) }
                c.privateKey = .privateKey(key)
            case (true, _?):
                throw HTTP2ClientError(.invalidRequest, detail: "TLS client private key given without a certificate chain")
            case (false, nil):
                throw HTTP2ClientError(.invalidRequest, detail: "TLS client certificate chain given without a private key")
            }
        }
        c.applicationProtocols = ["h2"]
        do {
            return try NIOSSLContext(configuration: c)
        } catch {
            throw HTTP2ClientError(.invalidRequest, detail: "TLS configuration rejected: \(error)")
        }
    }
}

/// `TLSConfiguration` is not `Hashable`; this box compares and hashes it by swift-nio-ssl's
/// `bestEffortEquals` / `bestEffortHash` so `HTTP2ClientConfiguration` stays `Hashable`.
struct TLSConfigurationBox: Sendable, Hashable {
    var configuration: TLSConfiguration
    static func == (a: Self, b: Self) -> Bool { a.configuration.bestEffortEquals(b.configuration) }
    func hash(into hasher: inout Hasher) { configuration.bestEffortHash(into: &hasher) }
}
