/// The hosts of `goaway drill --topology netns`, as pure values: namespace names, addresses, the
/// `ip` commands that build and remove them, and the HAProxy and dnsmasq configuration. The shell
/// (`NetnsTopology`) only runs these commands.
///
/// ```
///   netns <tag>-client 10.77.0.3 ─┐
///   netns <tag>-lb     10.77.0.2 ─┤        netns <tag>-sw
///   netns <tag>-dns    10.77.0.53 ┼── veth ── bridge br0 (no address; the host's own
///   netns <tag>-h0     10.77.0.100┤                       interfaces, routes and resolv.conf
///   netns <tag>-h1     10.77.0.101┤                       are never touched)
///   netns <tag>-h2 …   10.77.0.102┘
/// ```
/// Each namespace has `lo` and `eth0` (its end of the veth); the other end is `v<name>` in the
/// switch namespace, enslaved to the bridge. A partition sets that end down. A server host that is
/// replaced gets the next serial, so the next address: `fleet.test` is served by dnsmasq in the DNS
/// host, and the client namespace's `/etc/netns/<ns>/resolv.conf` points at it.
package struct DrillNetwork: Sendable, Hashable {
    /// Prefix of every namespace of this run: `gd<pid>`. Stale runs are found by it.
    package var tag: String
    /// The service name the client uses.
    package var serviceName = "fleet.test"
    /// Port of every server and of HAProxy's frontend.
    package var port = 8080
    /// First three octets of the bridge's /24.
    package var subnetPrefix = "10.77.0"

    package init(tag: String) {
        self.tag = tag
    }

    /// `gd<pid>`: the tag of the run with process id `pid`.
    package init(pid: Int32) {
        self.init(tag: "gd\(pid)")
    }

    package enum Role: Sendable, Hashable, Codable {
        case client, balancer, dns
        /// A server host; serials count up as hosts are replaced.
        case server(serial: Int)
    }

    package var switchNamespace: String { "\(tag)-sw" }

    package func namespace(_ role: Role) -> String {
        switch role {
        case .client: "\(tag)-client"
        case .balancer: "\(tag)-lb"
        case .dns: "\(tag)-dns"
        case .server(let serial): "\(tag)-h\(serial)"
        }
    }

    package func address(_ role: Role) -> String {
        switch role {
        case .client: "\(subnetPrefix).3"
        case .balancer: "\(subnetPrefix).2"
        case .dns: "\(subnetPrefix).53"
        // 100...249: 150 server hosts in flight at once is far beyond any drill.
        case .server(let serial): "\(subnetPrefix).\(100 + serial % 150)"
        }
    }

    /// The bridge-side end of a host's veth, in the switch namespace (at most 15 bytes).
    package func switchPort(_ role: Role) -> String {
        switch role {
        case .client: "vclient"
        case .balancer: "vlb"
        case .dns: "vdns"
        case .server(let serial): "vh\(serial)"
        }
    }

    /// The switch namespace with its bridge. Run first.
    package func setupCommands() -> [[String]] {
        [
            ["ip", "netns", "add", switchNamespace],
            ["ip", "-n", switchNamespace, "link", "add", "br0", "type", "bridge"],
            ["ip", "-n", switchNamespace, "link", "set", "br0", "up"],
            ["ip", "-n", switchNamespace, "link", "set", "lo", "up"],
        ]
    }

    /// A host namespace joined to the bridge with its address.
    package func addHostCommands(_ role: Role) -> [[String]] {
        let ns = namespace(role)
        let port = switchPort(role)
        return [
            ["ip", "netns", "add", ns],
            ["ip", "-n", switchNamespace, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", ns],
            ["ip", "-n", switchNamespace, "link", "set", port, "master", "br0", "up"],
            ["ip", "-n", ns, "addr", "add", "\(address(role))/24", "dev", "eth0"],
            ["ip", "-n", ns, "link", "set", "eth0", "up"],
            ["ip", "-n", ns, "link", "set", "lo", "up"],
        ]
    }

    /// Removes a host (its veth goes with the namespace). Kill its processes first.
    package func removeHostCommands(_ role: Role) -> [[String]] {
        [["ip", "netns", "del", namespace(role)]]
    }

    /// The partition: the host's link goes down at the bridge. Nothing is sent to either side.
    package func linkDownCommand(_ role: Role) -> [String] {
        ["ip", "-n", switchNamespace, "link", "set", switchPort(role), "down"]
    }

    /// The namespaces of runs whose process is gone, from `ip netns list` output (first word per
    /// line): `gd<pid>-…` where `pid` is not alive. A live run's namespaces are left alone.
    package static func staleNamespaces(_ listOutput: String, isAlive: (Int32) -> Bool) -> [String] {
        var stale: [String] = []
        for line in listOutput.split(separator: "\n") {
            guard let name = line.split(separator: " ").first.map(String.init) else { continue }
            guard name.hasPrefix("gd"), let dash = name.firstIndex(of: "-") else { continue }
            let digits = name[name.index(name.startIndex, offsetBy: 2)..<dash]
            guard !digits.isEmpty, digits.allSatisfy(\.isNumber), let pid = Int32(digits) else { continue }
            if !isAlive(pid) { stale.append(name) }
        }
        // The switch last: hosts' veths go with their namespaces.
        return stale.sorted { a, b in a.hasSuffix("-sw") == b.hasSuffix("-sw") ? a < b : !a.hasSuffix("-sw") }
    }

    /// `/etc/netns/<client ns>/resolv.conf`: only our dnsmasq.
    package var clientResolvConf: String {
        "nameserver \(address(.dns))\noptions timeout:1 attempts:2\n"
    }

    /// dnsmasq's configuration: authoritative for the service name from `hostsFile`, never forwards.
    package func dnsmasqConfig(hostsFile: String) -> String {
        """
        # goaway drill: answers only from the hosts file, forwards nothing
        no-resolv
        no-hosts
        no-poll
        addn-hosts=\(hostsFile)
        listen-address=\(address(.dns))
        bind-interfaces
        local=/test/
        local-ttl=0
        user=root
        pid-file=

        """
    }

    /// The hosts file dnsmasq serves: one A record per live address.
    package func hostsFile(addresses: [String]) -> String {
        addresses.map { "\($0) \(serviceName)\n" }.joined()
    }

    /// HAProxy 2.6: an h2 (prior knowledge) frontend, h2 backends, an admin socket for drains.
    package func haproxyConfig(backends: [String], adminSocket: String) -> String {
        var lines = [
            "# goaway drill: client -> HAProxy (h2) -> servers (h2)",
            "global",
            "    stats socket \(adminSocket) mode 600 level admin",
            "    hard-stop-after 20s",
            "defaults",
            "    mode http",
            "    timeout connect 2s",
            "    timeout client 30s",
            "    timeout server 30s",
            "    timeout http-request 10s",
            "frontend fleet",
            "    bind \(address(.balancer)):\(port) proto h2",
            "    default_backend servers",
            "backend servers",
            "    balance roundrobin",
        ]
        for (i, address) in backends.enumerated() {
            lines.append("    server s\(i) \(address):\(port) proto h2")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Runtime API commands for a backend drain (`set server servers/sN state …`).
    package static func backendStateCommand(server: Int, state: String) -> String {
        "set server servers/s\(server) state \(state)\n"
    }
}

/// One change of the DNS record: what the client's resolver answered before and after.
package struct DrillDNSChange: Sendable, Hashable, Codable {
    package var atMs: Double
    package var removed: [String]
    package var added: [String]
    package init(atMs: Double, removed: [String], added: [String]) {
        self.atMs = atMs
        self.removed = removed
        self.added = added
    }
}

/// What the network side of a netns phase measured.
package struct DrillNetworkPhase: Sendable, Hashable, Codable {
    package var dnsChanges: [DrillDNSChange] = []
    /// Per new host of an address change: milliseconds from its DNS record to its first request
    /// (nil: it never got one in the phase).
    package var newHosts: [NewHost] = []
    /// TCP connections that reached an address after its server drained (counted by a tombstone
    /// listener left on the retired address).
    package var retiredAddressConnections = 0
    package var balancerReloads = 0
    package var backendDrains = 0
    /// GOAWAYs the client received (in the haproxy phase: from HAProxy), by error code.
    package var goawaysReceivedByCode: [String: Int] = [:]
    /// What the client did about them: its re-sends by reason.
    package var resentByReason: [String: Int] = [:]
    package var partition: Partition?

    package struct NewHost: Sendable, Hashable, Codable {
        package var address: String
        package var replaced: String
        package var firstTrafficMs: Double?
        /// When its DNS record was first served (ms from the phase start).
        package var dnsAtMs: Double
        package init(address: String, replaced: String, firstTrafficMs: Double?, dnsAtMs: Double = 0) {
            self.address = address
            self.replaced = replaced
            self.firstTrafficMs = firstTrafficMs
            self.dnsAtMs = dnsAtMs
        }
    }

    package struct Partition: Sendable, Hashable, Codable {
        package var address: String
        package var linkDownMs: Double
        /// Link down to the client closing its connection to that address (nil: never in the phase).
        package var detectionMs: Double?
        /// Requests the partitioned server had taken but whose response never arrived.
        package var strandedRequests: Int
        package init(address: String, linkDownMs: Double, detectionMs: Double?, strandedRequests: Int) {
            self.address = address
            self.linkDownMs = linkDownMs
            self.detectionMs = detectionMs
            self.strandedRequests = strandedRequests
        }
    }

    package init() {}

    /// Milliseconds from a new host's DNS record (`dnsAtMs`) to the first request it processed
    /// (`processedAtMs`, any order), nil when none came after the record.
    package static func firstTraffic(dnsAtMs: Double, processedAtMs: [Double]) -> Double? {
        processedAtMs.filter { $0 >= dnsAtMs }.min().map { $0 - dnsAtMs }
    }

    /// Link down to the first close, after it, of a client connection whose endpoint names
    /// `address` (lanes of the client's timeline).
    package static func detection(linkDownMs: Double, address: String, lanes: [DrillTimeline.Lane]) -> Double? {
        lanes.filter { $0.endpoint.contains(address) }
            .compactMap(\.closedMs)
            .filter { $0 >= linkDownMs }
            .min()
            .map { $0 - linkDownMs }
    }
}

/// The hosts of a netns run, for the report.
package struct DrillTopologyInfo: Sendable, Hashable, Codable {
    package var serviceName: String
    package var port: Int
    package var hosts: [Host] = []
    /// `haproxy -v`'s first line.
    package var haproxyVersion: String
    /// `dnsmasq -v`'s first line.
    package var dnsmasqVersion: String

    package struct Host: Sendable, Hashable, Codable {
        package var namespace: String
        package var role: String
        package var address: String
        package init(namespace: String, role: String, address: String) {
            self.namespace = namespace
            self.role = role
            self.address = address
        }
    }

    package init(serviceName: String, port: Int, haproxyVersion: String, dnsmasqVersion: String) {
        self.serviceName = serviceName
        self.port = port
        self.haproxyVersion = haproxyVersion
        self.dnsmasqVersion = dnsmasqVersion
    }
}
