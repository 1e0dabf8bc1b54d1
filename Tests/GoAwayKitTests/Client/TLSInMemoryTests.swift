import GoAwayTesting
import HTTPTypes
import NIOCore
import NIOSSL
@testable import GoAwayKit
import Testing

/// Two self-signed certificates (EC P-256, CN and SAN localhost / 127.0.0.1, CA:TRUE, valid to
/// 2126), made once with
/// `openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 36500
/// -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1
/// -addext basicConstraints=critical,CA:TRUE`. Test fixtures only: never trust them elsewhere.
enum InMemoryCertificates {
    static let certificateA = """
-----BEGIN CERTIFICATE-----
MIIBnDCCAUGgAwIBAgIUSuB+zMnz2TkImBdOQ9nn8rqElh8wCgYIKoZIzj0EAwIw
FDESMBAGA1UEAwwJbG9jYWxob3N0MCAXDTI2MTIwMTEwMTI1NVoYDzIxMjYxMTA3
MTAxMjU1WjAUMRIwEAYDVQQDDAlsb2NhbGhvc3QwWTATBgcqhkjOPQIBBggqhkjO
PQMBBwNCAAQ/ihnJNYya64Q1fIWqtRKGWxo4jzo1vViJHx890gwaLVdk7CqydFWr
Rd/qGHL+k6jbdncJEPMlhPMzo5sz2TEto28wbTAdBgNVHQ4EFgQUe7d3iI7310A/
SM/7JyNT5dd2+pIwHwYDVR0jBBgwFoAUe7d3iI7310A/SM/7JyNT5dd2+pIwGgYD
VR0RBBMwEYIJbG9jYWxob3N0hwR/AAABMA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZI
zj0EAwIDSQAwRgIhAP3LTtgPDnu8tic+rSXOPO3Jiijhiv5tgonaSb68yOd+AiEA
zwSL85BBE/TGkdR1qhlprTaWSgKfS/EYVXF1Dl1tHrU=
-----END CERTIFICATE-----
"""
    static let keyA = """
-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgPFnRIKkoouTG2YV/
mkaTHbVs9F93Of7DGa1Y632e3G+hRANCAAQ/ihnJNYya64Q1fIWqtRKGWxo4jzo1
vViJHx890gwaLVdk7CqydFWrRd/qGHL+k6jbdncJEPMlhPMzo5sz2TEt
-----END PRIVATE KEY-----
"""
    static let certificateB = """
-----BEGIN CERTIFICATE-----
MIIBmjCCAUGgAwIBAgIURI4IZS/GMq6qKO94s80M6PveinAwCgYIKoZIzj0EAwIw
FDESMBAGA1UEAwwJbG9jYWxob3N0MCAXDTI2MTIwMTEwMTI1NVoYDzIxMjYxMTA3
MTAxMjU1WjAUMRIwEAYDVQQDDAlsb2NhbGhvc3QwWTATBgcqhkjOPQIBBggqhkjO
PQMBBwNCAAT4tx0fRjCi6RZsXAHOi4UENrx9ZiaV/x2Vwm1EfPjkHfDU5zcBzhhl
JPidM1gNxl2wSFRJZtFlX3+6zgpy0C0mo28wbTAdBgNVHQ4EFgQUZG22bWgy8+Wd
kGnUxx5hqJNxc8cwHwYDVR0jBBgwFoAUZG22bWgy8+WdkGnUxx5hqJNxc8cwGgYD
VR0RBBMwEYIJbG9jYWxob3N0hwR/AAABMA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZI
zj0EAwIDRwAwRAIgHTOrXDkuUe6WC6rF0AbRSOkRbkz30hD/E7qmAxQTzUACIHor
Egthm046ShKXphewcjrv280JFaT3ED4GQEYyFXWu
-----END CERTIFICATE-----
"""
    static let keyB = """
-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgcYPMNVSrulhrpor7
iC/DUm3EqfuMs6GZwjDH+GkddOShRANCAAT4tx0fRjCi6RZsXAHOi4UENrx9ZiaV
/x2Vwm1EfPjkHfDU5zcBzhhlJPidM1gNxl2wSFRJZtFlX3+6zgpy0C0m
-----END PRIVATE KEY-----
"""
    static func certificate(_ pem: String) throws -> NIOSSLCertificate {
        try NIOSSLCertificate(bytes: Array(pem.utf8), format: .pem)
    }
    static func key(_ pem: String) throws -> NIOSSLPrivateKey {
        try NIOSSLPrivateKey(bytes: Array(pem.utf8), format: .pem)
    }
}

/// TLS from memory (issue 13, deliverable 6): certificates, keys, trust roots and whole
/// `TLSConfiguration`s as values, on both our server and our client. No file is read or written.
@Suite(.serialized, .timeLimit(.minutes(1)))
struct TLSInMemoryTests {
    typealias C = InMemoryCertificates
    static let get = HTTPRequest(method: .get, scheme: nil, authority: nil, path: "/tls")

    static func client(_ port: Int, _ tls: HTTP2ClientConfiguration.TLS) throws -> HTTP2Client {
        var config = HTTP2ClientConfiguration(tls: tls)
        config.pool.retry.maxAttempts = 1
        return try HTTP2Client(endpoints: ["https://localhost:\(port)"], configuration: config)
    }

    @Test func inMemoryServerCertificateAndClientTrustRoot() async throws {
        let server = HTTP2Server.TLS(certificateChain: [try C.certificate(C.certificateA)], privateKey: try C.key(C.keyA))
        #expect(server.certificateChainPath.isEmpty)
        try await withOwnServer(ServerConnectionPolicy(), tls: server) { port, _ in
            let client = try Self.client(port, .init(trustRoots: [try C.certificate(C.certificateA)]))
            let r = try await client.execute(Self.get, maxResponseBytes: 100)
            #expect(r.status == .ok)
            #expect(String(buffer: r.body).hasPrefix("ok /tls"))
            await client.shutdown()
        }
    }

    @Test func pemTextServerAndWrongTrustRootFailsUntrusted() async throws {
        let server = HTTP2Server.TLS(certificateChainPEM: C.certificateA, privateKeyPEM: C.keyA)
        try await withOwnServer(ServerConnectionPolicy(), tls: server) { port, _ in
            let client = try Self.client(port, .init(trustRoots: [try C.certificate(C.certificateB)]))
            var failure: HTTP2ClientError?
            do { _ = try await client.execute(Self.get) } catch let e as HTTP2ClientError { failure = e }
            #expect(failure?.code == .connectionFailed)
            #expect(failure?.connectFailure?.kind == .certificateNotTrusted)
            await client.shutdown()
        }
    }

    /// Whole `TLSConfiguration`s on both sides, with mutual TLS: the server requires a client
    /// certificate signed by B; the client presents B and trusts A. Neither sets ALPN: we force h2.
    @Test func fullTLSConfigurationBothSidesWithMutualTLS() async throws {
        var serverTLS = TLSConfiguration.makeServerConfiguration(
            certificateChain: [.certificate(try C.certificate(C.certificateA))], privateKey: .privateKey(try C.key(C.keyA)))
        serverTLS.certificateVerification = .noHostnameVerification
        serverTLS.trustRoots = .certificates([try C.certificate(C.certificateB)])
        var clientTLS = TLSConfiguration.makeClientConfiguration()
        clientTLS.trustRoots = .certificates([try C.certificate(C.certificateA)])
        clientTLS.certificateChain = [.certificate(try C.certificate(C.certificateB))]
        clientTLS.privateKey = .privateKey(try C.key(C.keyB))
        let server = HTTP2Server.TLS(tlsConfiguration: serverTLS)
        #expect(server.tlsConfiguration != nil)
        try await withOwnServer(ServerConnectionPolicy(), tls: server) { port, _ in
            let client = try Self.client(port, .init(tlsConfiguration: clientTLS))
            let r = try await client.execute(Self.get, maxResponseBytes: 100)
            #expect(r.status == .ok)
            await client.shutdown()
            // The same, with the client certificate as values instead: also accepted.
            let values = try Self.client(port, .init(
                trustRoots: [try C.certificate(C.certificateA)],
                certificateChain: [try C.certificate(C.certificateB)], privateKey: try C.key(C.keyB)))
            #expect(try await values.execute(Self.get, maxResponseBytes: 100).status == .ok)
            await values.shutdown()
            // Without a client certificate the server refuses the handshake.
            let anonymous = try Self.client(port, .init(trustRoots: [try C.certificate(C.certificateA)]))
            var failure: HTTP2ClientError?
            do { _ = try await anonymous.execute(Self.get) } catch let e as HTTP2ClientError { failure = e }
            #expect(failure?.code == .connectionFailed)
            await anonymous.shutdown()
        }
    }

    @Test func clientTLSStaysHashable() throws {
        var a = HTTP2ClientConfiguration.TLS(tlsConfiguration: .makeClientConfiguration())
        let b = a
        #expect(a == b)
        a.tlsConfiguration?.minimumTLSVersion = .tlsv13
        #expect(a != b)
        #expect(HTTP2ClientConfiguration.TLS(trustRoots: [try C.certificate(C.certificateA)]) != .defaults)
    }

    @Test func badServerValuesFailTyped() async throws {
        let mismatched = HTTP2Server.TLS(certificateChain: [try C.certificate(C.certificateA)], privateKey: try C.key(C.keyB))
        let empty = HTTP2Server.TLS(certificateChain: [], privateKey: try C.key(C.keyA))
        let badPEM = HTTP2Server.TLS(certificateChainPEM: "not a certificate", privateKeyPEM: C.keyA)
        let noCertificate = HTTP2Server.TLS(tlsConfiguration: .makeClientConfiguration())
        for tls in [mismatched, empty, badPEM, noCertificate] {
            let server = HTTP2Server(configuration: .init(port: 0, tls: tls), handler: { _, _, _ in ServerResponse(status: .ok, text: "") })
            var code: HTTP2ServerError.Code?
            do { try await server.run() } catch let e as HTTP2ServerError { code = e.code }
            #expect(code == .invalidCertificate)
        }
    }

    @Test func badClientValuesFailTyped() throws {
        let keyOnly = HTTP2ClientConfiguration.TLS(trustRoots: [], privateKey: try C.key(C.keyA))
        let chainOnly = HTTP2ClientConfiguration.TLS(trustRoots: [], certificateChain: [try C.certificate(C.certificateA)])
        let mismatched = HTTP2ClientConfiguration.TLS(
            trustRoots: [], certificateChain: [try C.certificate(C.certificateA)], privateKey: try C.key(C.keyB))
        for tls in [keyOnly, chainOnly, mismatched] {
            var code: HTTP2ClientError.Code?
            do { _ = try HTTP2Client(endpoints: ["https://localhost:1"], configuration: .init(tls: tls)) } catch let e as HTTP2ClientError { code = e.code }
            #expect(code == .invalidRequest)
        }
    }
}
