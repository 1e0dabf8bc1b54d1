import GoAwayCore
import Logging
import ServiceLifecycle
import ServiceLifecycleTestKit
import Testing

@testable import GoAwayKit

@Suite("HTTP2Server configuration and lifecycle")
struct HTTP2ServerConfigurationTests {
    /// Hummingbird's HTTP/2 configuration once dropped `maxAgeTimeout` in its init: check every field.
    @Test func everyParameterSurvivesInit() {
        let policy = ServerConnectionPolicy(
            idleTimeout: .seconds(11), maxAge: .seconds(12), maxAgeGrace: .seconds(13), maxRequestsPerConnection: 14,
            pingAckTimeout: .seconds(15), drainGrace: .seconds(16), keepaliveInterval: .seconds(17),
            keepaliveTimeout: .seconds(18), minimumPeerPingInterval: .seconds(19), maxPingStrikes: 20
        )
        #expect(policy.idleTimeout == .seconds(11))
        #expect(policy.maxAge == .seconds(12))
        #expect(policy.maxAgeGrace == .seconds(13))
        #expect(policy.maxRequestsPerConnection == 14)
        #expect(policy.pingAckTimeout == .seconds(15))
        #expect(policy.drainGrace == .seconds(16))
        #expect(policy.keepaliveInterval == .seconds(17))
        #expect(policy.keepaliveTimeout == .seconds(18))
        #expect(policy.minimumPeerPingInterval == .seconds(19))
        #expect(policy.maxPingStrikes == 20)

        let tls = HTTP2Server.TLS(certificateChainPath: "c.pem", privateKeyPath: "k.pem")
        let config = HTTP2Server.Configuration(
            host: "::1", port: 8443, tls: tls, maxConcurrentStreams: 7, initialWindowSize: 70000,
            maxFrameSize: 20000, maxHeaderListSize: 4096, connection: policy,
            logger: Logger(label: "x"), showDebugData: true, backlog: 9
        )
        #expect(config.host == "::1")
        #expect(config.port == 8443)
        #expect(config.tls?.certificateChainPath == "c.pem")
        #expect(config.tls?.privateKeyPath == "k.pem")
        #expect(config.maxConcurrentStreams == 7)
        #expect(config.initialWindowSize == 70000)
        #expect(config.maxFrameSize == 20000)
        #expect(config.maxHeaderListSize == 4096)
        #expect(config.connection == policy)
        #expect(config.logger.label == "x")
        #expect(config.showDebugData)
        #expect(config.backlog == 9)
    }

    @Test func documentedDefaults() {
        let d = HTTP2Server.Configuration()
        #expect(d.host == "127.0.0.1" && d.port == 0 && d.tls == nil)
        #expect(d.maxConcurrentStreams == 100 && d.initialWindowSize == 1 << 20)
        #expect(d.maxFrameSize == 16384 && d.maxHeaderListSize == 16384)
        #expect(d.connection.idleTimeout == .seconds(300) && d.connection.maxAge == nil)
        #expect(d.connection.pingAckTimeout == .seconds(5) && d.connection.drainGrace == .seconds(30))
        #expect(d.connection.maxRequestsPerConnection == nil && d.connection.keepaliveInterval == nil)
        #expect(!d.showDebugData)
    }

    @Test(arguments: ["port", "maxConcurrentStreams", "initialWindowSize", "maxFrameSize", "maxHeaderListSize", "maxRequestsPerConnection"])
    func invalidValuesAreRejectedWithTheirName(name: String) {
        var config = HTTP2Server.Configuration()
        switch name {
        case "port": config.port = -1
        case "maxConcurrentStreams": config.maxConcurrentStreams = 0
        case "initialWindowSize": config.initialWindowSize = 100
        case "maxFrameSize": config.maxFrameSize = 1000
        case "maxHeaderListSize": config.maxHeaderListSize = 10
        default: config.connection.maxRequestsPerConnection = 0
        }
        #expect {
            try config.validate()
        } throws: { error in
            guard let e = error as? HTTP2ServerError else { return false }
            return e.code == .invalidConfiguration && e.message.contains(name)
        }
    }

    @Test func gracefulShutdownEndsRunAndTheEventSequence() async throws {
        let server = HTTP2Server(configuration: .init()) { _, _, _ in ServerResponse(status: .ok, text: "x") }
        let events = Task {
            var all: [ServerEvent] = []
            for await e in server.events { all.append(e) }
            return all
        }
        try await testGracefulShutdown { trigger in
            let run = Task { try await server.run() }
            let port = try await server.port
            #expect(port > 0)
            trigger.triggerGracefulShutdown()
            try await run.value
        }
        let port = try await server.port
        let seen = await events.value
        #expect(seen == [.listening(host: "127.0.0.1", port: port), .shutdownStarted, .stopped], "\(seen)")
    }

    @Test func runningTwiceIsATypedError() async throws {
        let server = HTTP2Server(configuration: .init()) { _, _, _ in ServerResponse(status: .ok, text: "x") }
        let run = Task { try await server.run() }
        _ = try await server.port
        await #expect(throws: HTTP2ServerError.self) { try await server.run() }
        server.shutdownGracefully()
        try await run.value
    }
}
