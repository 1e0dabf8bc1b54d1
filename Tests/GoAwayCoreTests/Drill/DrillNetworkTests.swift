import Testing

@testable import GoAwayCore

struct DrillNetworkTests {
    let net = DrillNetwork(tag: "gd42")

    @Test func namesAndAddressesStayInsideTheRunAndTheSubnet() {
        #expect(net.namespace(.client) == "gd42-client")
        #expect(net.namespace(.server(serial: 7)) == "gd42-h7")
        #expect(net.address(.server(serial: 0)) == "10.77.0.100")
        #expect(net.address(.server(serial: 151)) == "10.77.0.101")
        #expect(Set([DrillNetwork.Role.client, .balancer, .dns, .server(serial: 0)].map(net.address)).count == 4)
        // Interface names fit IFNAMSIZ.
        #expect(net.switchPort(.server(serial: 149)).utf8.count <= 15)
    }

    @Test func everyCommandTargetsOnlyTheRunsNamespaces() {
        let all = net.setupCommands() + net.addHostCommands(.server(serial: 3)) + net.removeHostCommands(.server(serial: 3))
            + [net.linkDownCommand(.server(serial: 3))]
        for command in all {
            #expect(command.first == "ip")
            // Either `ip netns add|del gd42-…` or `ip -n gd42-… …`: never the host's own namespace.
            let target = command[1] == "-n" ? command[2] : command[3]
            #expect(target.hasPrefix("gd42-"), "\(command)")
        }
        #expect(net.addHostCommands(.server(serial: 3)).contains(["ip", "-n", "gd42-h3", "addr", "add", "10.77.0.103/24", "dev", "eth0"]))
        #expect(net.linkDownCommand(.server(serial: 3)) == ["ip", "-n", "gd42-sw", "link", "set", "vh3", "down"])
    }

    @Test func staleNamespacesAreThoseOfDeadRunsSwitchLast() {
        let list = """
            gd100-h1 (id: 3)
            gd100-sw (id: 1)
            gd100-client
            gd200-h0
            other-ns
            gdx-h1
            gd-sw
            """
        let stale = DrillNetwork.staleNamespaces(list) { $0 == 200 }
        #expect(stale == ["gd100-client", "gd100-h1", "gd100-sw"])
        #expect(DrillNetwork.staleNamespaces(list) { _ in true } == [])
    }

    @Test func dnsmasqServesOnlyTheHostsFileAndHAProxySpeaksH2BothWays() {
        let dns = net.dnsmasqConfig(hostsFile: "/run/x/hosts")
        #expect(dns.contains("no-resolv"))
        #expect(dns.contains("addn-hosts=/run/x/hosts"))
        #expect(dns.contains("listen-address=10.77.0.53"))
        #expect(net.hostsFile(addresses: ["10.77.0.100", "10.77.0.101"]) == "10.77.0.100 fleet.test\n10.77.0.101 fleet.test\n")
        #expect(net.clientResolvConf.hasPrefix("nameserver 10.77.0.53\n"))
        let cfg = net.haproxyConfig(backends: ["10.77.0.100", "10.77.0.101"], adminSocket: "/run/x/sock")
        #expect(cfg.contains("bind 10.77.0.2:8080 proto h2"))
        #expect(cfg.contains("server s0 10.77.0.100:8080 proto h2"))
        #expect(cfg.contains("server s1 10.77.0.101:8080 proto h2"))
        #expect(cfg.contains("stats socket /run/x/sock mode 600 level admin"))
        #expect(DrillNetwork.backendStateCommand(server: 1, state: "drain") == "set server servers/s1 state drain\n")
    }

    @Test func firstTrafficCountsOnlyRequestsAfterTheRecord() {
        #expect(DrillNetworkPhase.firstTraffic(dnsAtMs: 100, processedAtMs: [90, 250, 130]) == 30)
        #expect(DrillNetworkPhase.firstTraffic(dnsAtMs: 100, processedAtMs: [50]) == nil)
        #expect(DrillNetworkPhase.firstTraffic(dnsAtMs: 100, processedAtMs: []) == nil)
    }

    @Test func detectionIsTheFirstCloseOfAConnectionToThePartitionedAddressAfterTheLinkWentDown() {
        var a = DrillTimeline.Lane(connection: 1, endpoint: "http://fleet.test:8080 (10.77.0.100)", openedMs: 0)
        a.closedMs = 2500
        var b = DrillTimeline.Lane(connection: 2, endpoint: "http://fleet.test:8080 (10.77.0.101)", openedMs: 0)
        b.closedMs = 800
        var old = DrillTimeline.Lane(connection: 0, endpoint: "http://fleet.test:8080 (10.77.0.100)", openedMs: 0)
        old.closedMs = 100
        #expect(DrillNetworkPhase.detection(linkDownMs: 500, address: "10.77.0.100", lanes: [old, a, b]) == 2000)
        #expect(DrillNetworkPhase.detection(linkDownMs: 500, address: "10.77.0.102", lanes: [old, a, b]) == nil)
    }

    @Test func netnsPhasesAreScheduledAndLoopbackRejectsThem() throws {
        let plan = DrillPlan(duration: .seconds(16), topology: .netns)
        try plan.validate()
        #expect(plan.phases == [.newAddresses, .balancer, .partition, .hardKill])
        #expect(plan.steps(for: .newAddresses) == [
            DrillStep(at: .milliseconds(800), action: .replace(server: 0)),
            DrillStep(at: .milliseconds(1600), action: .replace(server: 1)),
            DrillStep(at: .milliseconds(2400), action: .replace(server: 2)),
        ])
        #expect(plan.steps(for: .balancer).map(\.action) == [
            .reloadBalancer, .drainBackend(server: 0), .reloadBalancer, .drainBackend(server: 1), .reloadBalancer, .drainBackend(server: 2), .reloadBalancer,
        ])
        #expect(plan.steps(for: .partition) == [DrillStep(at: .milliseconds(1200), action: .partition(server: 0))])
        let times = plan.steps(for: .balancer).map(\.at)
        #expect(times == times.sorted() && times.last! < plan.phaseDuration)
        #expect(throws: DrillPlan.Invalid.unsupportedPhase(.balancer, .loopback)) {
            try DrillPlan(phases: [.balancer]).validate()
        }
        #expect(DrillPlan().phases == [.rollingRestart, .goAwayStorm, .maxAgeRotation, .hardKill])
        #expect(DrillPhase(flag: "lb") == .balancer)
        #expect(DrillPhase(flag: "dns") == .newAddresses)
        #expect(!DrillPhase.partition.onlyGoAway && DrillPhase.balancer.onlyGoAway)
    }

    @Test func verdictWarnsWhenANewHostGotNothingOrTheLinkLossWentUnseen() {
        var report = DrillReport(settings: .init(DrillPlan(phases: [.newAddresses, .partition], topology: .netns)))
        var ledger = DrillLedger()
        ledger.record(id: 0, idempotent: true, outcome: .response(matched: true))
        let tally = ledger.tally(processed: [0: 1], resent: 0, elapsed: .seconds(1))
        var a = DrillReport.PhaseResult(mode: .goAwayKit, phase: .newAddresses, tally: tally, elapsedSeconds: 1)
        var n = DrillNetworkPhase()
        n.newHosts = [.init(address: "10.77.0.103", replaced: "10.77.0.100", firstTrafficMs: nil), .init(address: "10.77.0.104", replaced: "10.77.0.101", firstTrafficMs: 12)]
        n.retiredAddressConnections = 2
        a.network = n
        var b = DrillReport.PhaseResult(mode: .goAwayKit, phase: .partition, tally: tally, elapsedSeconds: 1)
        var p = DrillNetworkPhase()
        p.partition = .init(address: "10.77.0.100", linkDownMs: 300, detectionMs: nil, strandedRequests: 3)
        b.network = p
        report.phases = [a, b]
        report.conclude()
        let verdict = try! #require(report.verdict)
        #expect(verdict.passed)
        #expect(verdict.warnings.count == 3, "\(verdict.warnings)")
        #expect(verdict.warnings.contains { $0.contains("10.77.0.103") && $0.contains("did not re-resolve") })
        #expect(verdict.warnings.contains { $0.contains("2 connections went to a retired address") })
        #expect(verdict.warnings.contains { $0.contains("partition of 10.77.0.100 was not detected") })
    }

    @Test func textReportNamesTheTopologyHAProxyAndTheDNSChanges() {
        var report = DrillReport(settings: .init(DrillPlan(phases: [.newAddresses, .balancer], modes: [.goAwayKit], topology: .netns)))
        var info = DrillTopologyInfo(serviceName: "fleet.test", port: 8080, haproxyVersion: "HAProxy version 2.6.12", dnsmasqVersion: "Dnsmasq version 2.90")
        info.hosts = [
            .init(namespace: "gd1-lb", role: "HAProxy (h2 → h2)", address: "10.77.0.2"),
            .init(namespace: "gd1-h0", role: "server s0 (goawaykit new-addresses)", address: "10.77.0.100"),
            .init(namespace: "gd1-h1", role: "server s0 (goawaykit new-addresses)", address: "10.77.0.101"),
        ]
        report.topology = info
        var a = DrillReport.PhaseResult(mode: .goAwayKit, phase: .newAddresses, tally: DrillTally(), elapsedSeconds: 1)
        var n = DrillNetworkPhase()
        n.dnsChanges = [.init(atMs: 0, removed: [], added: ["10.77.0.100"]), .init(atMs: 500, removed: ["10.77.0.100"], added: ["10.77.0.101"])]
        n.newHosts = [.init(address: "10.77.0.101", replaced: "10.77.0.100", firstTrafficMs: 42)]
        a.network = n
        var b = DrillReport.PhaseResult(mode: .goAwayKit, phase: .balancer, tally: DrillTally(), elapsedSeconds: 1)
        var lb = DrillNetworkPhase()
        lb.balancerReloads = 4
        lb.backendDrains = 3
        lb.goawaysReceivedByCode = ["NO_ERROR": 4]
        b.network = lb
        report.phases = [a, b]
        let text = report.renderText()
        #expect(text.contains("servers in network namespaces"))
        #expect(text.contains("HAProxy version 2.6.12"))
        #expect(text.contains("server hosts, goawaykit new-addresses: 10.77.0.100 10.77.0.101"))
        #expect(text.contains("DNS fleet.test at 500 ms: -10.77.0.100 +10.77.0.101"))
        #expect(text.contains("new host 10.77.0.101 (replaced 10.77.0.100): first request 42 ms after its DNS record"))
        #expect(text.contains("haproxy reloaded 4x, backends drained 3x; GOAWAYs haproxy sent the client: NO_ERROR=4"))
        // Loopback reports have no network section.
        #expect(!DrillReport(settings: .init(DrillPlan())).renderText().contains("topology:"))
    }
}
