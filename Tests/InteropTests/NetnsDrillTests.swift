import Foundation
import GoAwayCore
import GoAwayTesting
import Testing

@testable import GoAwayKit
@testable import GoAwayTools

#if canImport(Glibc)
import Glibc
#endif

/// `goaway drill --topology netns` against the real peers: HAProxy 2.6 in front of our servers,
/// dnsmasq moving `fleet.test`, a link cut at the bridge. Every test builds its own namespaces
/// (`gd<pid>-…`, removed by the run) and checks none is left behind.
///
/// Needs root and the haproxy, dnsmasq and iproute2 packages (`.ci/run` installs them; CI runs as
/// root and never skips: with GOAWAY_REQUIRE_PEERS=1 a missing piece fails).
@Suite("goaway drill --topology netns", .serialized, .exclusive, .timeLimit(.minutes(4)))
struct NetnsDrillTests {
    static var available: Bool {
        if Peers.required { return true }
        if getuid() != 0 {
            print("skipping: the netns drill needs root (network namespaces); CI runs it as root")
            return false
        }
        return Peers.available("haproxy", "dnsmasq", "ip")
    }

    /// Runs one netns drill with `args` and returns its JSON report and the phase rows.
    static func drill(_ args: [String], timeout: Duration = .seconds(200)) async throws -> (json: [String: Any], rows: [[String: Any]], exit: Int32) {
        guard let binary = Peers.goawayBinary else { throw PeerError("goaway binary not built (swift build --build-tests)") }
        let drill = try PeerProcess(binary, ["drill", "--topology", "netns", "--mode", "goawaykit", "--json"] + args)
        let code = try await drill.wait(timeout: timeout)
        let json = try #require(
            try JSONSerialization.jsonObject(with: Data(drill.stdout.utf8)) as? [String: Any], "exit \(code)\n\(drill.stdout)\n\(drill.stderr)")
        // Nothing of this run stays behind.
        let list = try PeerProcess(Peers.path("ip") ?? "/usr/sbin/ip", ["netns", "list"])
        _ = try await list.wait(timeout: .seconds(10))
        #expect(!list.stdout.contains("gd\(drill.pid)-"), "namespaces left behind: \(list.stdout)")
        return (json, json["phases"] as? [[String: Any]] ?? [], code)
    }

    static func tally(_ row: [String: Any]) -> [String: Any] { row["tally"] as? [String: Any] ?? [:] }
    static func network(_ row: [String: Any]) -> [String: Any] { row["network"] as? [String: Any] ?? [:] }

    @Test(.enabled(if: available)) func haproxyReloadLoopInFrontOfOurServersLosesNothing() async throws {
        let (json, rows, code) = try await Self.drill(["--phases", "haproxy", "--duration", "4"])
        let row = try #require(rows.first)
        let tally = Self.tally(row)
        let net = Self.network(row)
        #expect(code == 0, "\(json["verdict"] ?? "")")
        #expect(tally["lost"] as? Int == 0)
        #expect((tally["requests"] as? Int ?? 0) > 0)
        // HAProxy was reloaded under load (master-worker) and drained each backend in turn...
        #expect(net["balancer_reloads"] as? Int == 4)
        #expect(net["backend_drains"] as? Int == 3)
        // ...and told the client with GOAWAY, which the client followed to the new worker.
        #expect((row["goaways_received"] as? Int ?? 0) > 0, "\(row)")
        #expect((row["connections_opened"] as? Int ?? 0) > 1)
        let topology = try #require(json["topology"] as? [String: Any])
        #expect((topology["haproxy_version"] as? String)?.contains("HAProxy version 2.") == true)
        #expect((row["stuck"] as? [Any])?.isEmpty == true, "\(row["stuck"] ?? "")")
    }

    @Test(.enabled(if: available)) func clientFollowsDNSWhenHostsComeBackWithNewAddresses() async throws {
        let (json, rows, code) = try await Self.drill(["--phases", "new-addresses", "--duration", "5"])
        let row = try #require(rows.first)
        let net = Self.network(row)
        #expect(code == 0, "\(json["verdict"] ?? "")")
        #expect(Self.tally(row)["lost"] as? Int == 0)
        // The first record set, then one change per replaced host.
        let changes = net["dns_changes"] as? [[String: Any]] ?? []
        #expect(changes.count == 4)
        #expect(changes.dropFirst().allSatisfy { ($0["removed"] as? [String])?.count == 1 && ($0["added"] as? [String])?.count == 1 })
        // The client moves to every new address: it re-resolves when a connection is replaced
        // after GOAWAY (client-pool's resolver, merged).
        let hosts = net["new_hosts"] as? [[String: Any]] ?? []
        #expect(hosts.count == 3)
        let reached = hosts.filter { $0["first_traffic_ms"] != nil }.count
        let retired = net["retired_address_connections"] as? Int ?? -1
        print("new hosts that got traffic: \(reached) of 3: \(hosts); connections to retired addresses: \(retired)")
        #expect(reached == 3, "the client did not follow the DNS record to every new host: \(hosts)")
        // No request is lost to a retired address (above), and at most one connection per drained
        // host reaches it (the tombstone closes it before SETTINGS).
        #expect((0...3).contains(retired))
        // The replacement the pool opens at the GOAWAY waits for the re-resolution (bounded), so
        // no connection goes to the drained address.
        #expect(retired == 0)
    }

    @Test(.enabled(if: available)) func partitionIsDetectedWithinBoundsAndNothingIsSilent() async throws {
        let (json, rows, _) = try await Self.drill(["--phases", "partition", "--duration", "3"])
        let row = try #require(rows.first)
        let tally = Self.tally(row)
        let partition = try #require(Self.network(row)["partition"] as? [String: Any], "\(row)")
        // Nothing is lost silently: every stranded request ends with a response or a typed error.
        #expect(tally["silent"] as? Int == 0, "\(json["verdict"] ?? "")")
        let detection = try #require(partition["detection_ms"] as? Double, "the dead connection was never closed: \(partition)")
        print("partition detected after \(Int(detection)) ms; \(tally)")
        // The client's dead-peer health check (a PING after 1 s without a frame, 1 s for its ack in
        // this phase) closes the connection before any request times out: idempotent requests are
        // re-sent, POSTs end possiblyProcessed, nothing is lost. (Without it: request_timeout after
        // 10 s, idempotent ones lost.)
        #expect(detection < 5_000)
        #expect(tally["lost"] as? Int == 0, "\(tally)")
        let errors = tally["errors"] as? [String: Int] ?? [:]
        #expect(Set(errors.keys).isSubset(of: ["possibly_processed", "response_incomplete"]), "\(errors)")
    }

    /// The plain tools, no drill accounting: `goaway serve` on three hosts behind HAProxy, `goaway
    /// load` from the client host, HAProxy reloaded every 300 ms while the load runs.
    @Test(.enabled(if: available)) func goawayServeBehindAReloadingHAProxyFailsNothing() async throws {
        guard let binary = Peers.goawayBinary else { throw PeerError("goaway binary not built (swift build --build-tests)") }
        await NetnsTopology.removeStale()
        let topology = NetnsTopology(network: DrillNetwork(tag: "gd\(getpid())"))
        let network = topology.network
        do {
            try await topology.setUp()
            var backends: [String] = []
            for serial in 0..<3 {
                let role = DrillNetwork.Role.server(serial: serial)
                try await topology.addHost(role)
                let serve = try topology.spawn(role, [binary, "serve", "--host", network.address(role), "--port", String(network.port)])
                let up = await serve.line(startingWith: "listening on", timeout: .seconds(20))
                #expect(up != nil, "goaway serve did not start: \(serve.stderrLastLine)")
                backends.append(network.address(role))
            }
            let lb = try BalancerHost(topology: topology, backends: backends)
            try await lb.waitReady()
            let load = try topology.spawn(.client, [
                binary, "load", "http://\(network.address(.balancer)):\(network.port)/", "-n", "1000000", "--duration", "4", "-c", "16", "--json",
            ])
            var reloads = 0
            while load.exitCode == nil && reloads < 12 {
                try await Task.sleep(for: .milliseconds(300))
                lb.reload()
                reloads += 1
            }
            let code = await load.wait(timeout: .seconds(60))
            _ = await load.line(startingWith: "\u{0}eof", timeout: .seconds(2))
            let line = try #require(load.lines.last { $0.hasPrefix("{") }, "no report from goaway load: \(load.stderrLastLine)")
            let report = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            print("goaway load through haproxy, \(reloads) reloads: \(line)")
            #expect(reloads >= 8)
            #expect(code == 0, "\(line)")
            #expect(report["failed"] as? Int == 0, "\(line)")
            #expect((report["succeeded"] as? Int ?? 0) > 100)
            // Every reload's old worker said GOAWAY to the client, which moved to the new one.
            #expect((report["goaways_received"] as? Int ?? 0) >= 4, "\(line)")
            #expect((report["connections_opened"] as? Int ?? 0) >= 4, "\(line)")
        } catch {
            await topology.teardown()
            throw error
        }
        await topology.teardown()
        let list = try PeerProcess(Peers.path("ip") ?? "/usr/sbin/ip", ["netns", "list"])
        _ = try await list.wait(timeout: .seconds(10))
        #expect(!list.stdout.contains(network.tag + "-"), "namespaces left behind: \(list.stdout)")
    }
}
