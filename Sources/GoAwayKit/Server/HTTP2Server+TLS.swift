import NIOSSL

extension HTTP2Server.TLS {
    /// Where the in-memory forms keep their material.
    enum Memory: Sendable {
        case values(chain: [NIOSSLCertificate], key: NIOSSLPrivateKey)
        case pem(chain: String, key: String)
        case configuration(TLSConfiguration)
    }

    /// TLS from values already in memory: a certificate chain (leaf first) and its private key.
    /// No file is read. A mismatched key or an empty chain fails `run()` with `.invalidCertificate`.
    public init(certificateChain: [NIOSSLCertificate], privateKey: NIOSSLPrivateKey) {
        self.init(certificateChainPath: "", privateKeyPath: "")
        memory = .values(chain: certificateChain, key: privateKey)
    }

    /// TLS from PEM text in memory (a certificate chain, leaf first, and an unencrypted private key).
    /// The text is parsed when the server starts: bad PEM fails `run()` with `.invalidCertificate`.
    public init(certificateChainPEM: String, privateKeyPEM: String) {
        self.init(certificateChainPath: "", privateKeyPath: "")
        memory = .pem(chain: certificateChainPEM, key: privateKeyPEM)
    }

    /// TLS from a whole swift-nio-ssl `TLSConfiguration` (for client-certificate verification,
    /// cipher or version limits, and so on). Its `applicationProtocols` is replaced by `["h2"]`:
    /// this server speaks HTTP/2 only. A configuration `NIOSSLContext` rejects fails `run()` with
    /// `.invalidCertificate`.
    public init(tlsConfiguration: TLSConfiguration) {
        self.init(certificateChainPath: "", privateKeyPath: "")
        memory = .configuration(tlsConfiguration)
    }

    /// The whole `TLSConfiguration` given to `init(tlsConfiguration:)`, else `nil`.
    public var tlsConfiguration: TLSConfiguration? {
        if case .configuration(let c) = memory { return c }
        return nil
    }

    func makeContext() throws(HTTP2ServerError) -> NIOSSLContext {
        let source = switch memory {
        case nil: "\(certificateChainPath) / key \(privateKeyPath)"
        case .values: "(in-memory certificate chain and key)"
        case .pem: "(in-memory PEM)"
        case .configuration: "(the given TLSConfiguration)"
        }
        var tls: TLSConfiguration
        do {
            switch memory {
            case nil:
                let chain = try NIOSSLCertificate.fromPEMFile(certificateChainPath)
                let key = try NIOSSLPrivateKey(file: privateKeyPath, format: .pem)
                tls = Self.serverConfiguration(chain, key)
            case .values(let chain, let key):
                tls = Self.serverConfiguration(chain, key)
            case .pem(let chainPEM, let keyPEM):
                let chain = try NIOSSLCertificate.fromPEMBytes(Array(chainPEM.utf8))
                let key = try NIOSSLPrivateKey(bytes: Array(keyPEM.utf8), format: .pem)
                tls = Self.serverConfiguration(chain, key)
            case .configuration(let c):
                tls = c
            }
        } catch {
            throw HTTP2ServerError(.invalidCertificate, "cannot load TLS certificate \(source): \(error)")
        }
        if tls.certificateChain.isEmpty {
            throw HTTP2ServerError(.invalidCertificate, "cannot load TLS certificate \(source): the certificate chain is empty")
        }
        tls.applicationProtocols = ["h2"]
        do {
            return try NIOSSLContext(configuration: tls)
        } catch {
            throw HTTP2ServerError(.invalidCertificate, "cannot load TLS certificate \(source): \(error)")
        }
    }

    private static func serverConfiguration(_ chain: [NIOSSLCertificate], _ key: NIOSSLPrivateKey) -> TLSConfiguration {
        TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
    }
}
