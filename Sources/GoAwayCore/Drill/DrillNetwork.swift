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
public struct DrillNetwork: Sendable, Hashable {
    /// Prefix of every namespace of this run: `gd<pid>`. Stale runs are found by it.
    public var tag: String
    /// The service name the client uses.
    public var serviceName = "fleet.test"
    /// Port of every server and of HAProxy's frontend.
    public var port = 8080
    /// First three octets of the bridge's /24.
    public var subnetPrefix = "10.77.0"

    public init(tag: String) {
        self.tag = tag
    }

    /// `gd<pid>`: the tag of the run with process id `pid`.
    public init(pid: Int32) {
        self.init(tag: "gd\(pid)")
    }

    public enum Role: Sendable, Hashable, Codable {
        case client, balancer, dns
        /// A server host; serials count up as hosts are replaced.
        case server(serial: Int)
    }

    public var switchNamespace: String { "\(tag)-sw" }

    public func namespace(_ role: Role) -> String {
        switch role {
        case .client: "\(tag)-client"
        case .balancer: "\(tag)-lb"
        case .dns: "\(tag)-dns"
        case .server(let serial): "\(tag)-h\(serial)"
        }
    }

    public func address(_ role: Role) -> String {
        switch role {
        case .client: "\(subnetPrefix).3"
        case .balancer: "\(subnetPrefix).2"
        case .dns: "\(subnetPrefix).53"
        // 100...249: 150 server hosts in flight at once is far beyond any drill.
        case .server(let serial): "\(subnetPrefix).\(100 + serial % 150)"
        }
    }

    /// The bridge-side end of a host's veth, in the switch namespace (at most 15 bytes).
    public func switchPort(_ role: Role) -> String {
        switch role {
        case .client: "vclient"
        case .balancer: "vlb"
        case .dns: "vdns"
        case .server(let serial): "vh\(serial)"
        }
    }

    /// The switch namespace with its bridge. Run first.
    public func setupCommands() -> [[String]] {
        [
            ["ip", "netns", "add", switchNamespace],
            ["ip", "-n", switchNamespace, "link", "add", "br0", "type", "bridge"],
            ["ip", "-n", switchNamespace, "link", "set", "br0", "up"],
            ["ip", "-n", switchNamespace, "link", "set", "lo", "up"],
        ]
    }

    /// A host namespace joined to the bridge with its address.
    public func addHostCommands(_ role: Role) -> [[String]] {
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
    public func removeHostCommands(_ role: Role) -> [[String]] {
        [["ip", "netns", "del", namespace(role)]]
    }

    /// The partition: the host's link goes down at the bridge. Nothing is sent to either side.
    public func linkDownCommand(_ role: Role) -> [String] {
        ["ip", "-n", switchNamespace, "link", "set", switchPort(role), "down"]
    }

    /// The namespaces of runs whose process is gone, from `ip netns list` output (first word per
    /// line): `gd<pid>-…` where `pid` is not alive. A live run's namespaces are left alone.
    public static func staleNamespaces(_ listOutput: String, isAlive: (Int32) -> Bool) -> [String] {
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
    public var clientResolvConf: String {
        "nameserver \(address(.dns))\noptions timeout:1 attempts:2\n"
    }

    /// dnsmasq's configuration: authoritative for the service name from `hostsFile`, never forwards.
    public func dnsmasqConfig(hostsFile: String) -> String {
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
    public func hostsFile(addresses: [String]) -> String {
        addresses.map { "\($0) \(serviceName)\n" }.joined()
    }

    /// HAProxy 2.6: an h2 (prior knowledge) frontend, h2 backends, an admin socket for drains.
    public func haproxyConfig(backends: [String], adminSocket: String) -> String {
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
    public static func backendStateCommand(server: Int, state: String) -> String {
        "set server servers/s\(server) state \(state)\n"
    }
}

/// One change of the DNS record: what the client's resolver answered before and after.
public struct DrillDNSChange: Sendable, Hashable, Codable {
    public var atMs: Double
    public var removed: [String]
    public var added: [String]
    public init(atMs: Double, removed: [String], added: [String]) {
        self.atMs = atMs
        self.removed = removed
        self.added = added
    }
}

/// What the network side of a netns phase measured.
public struct DrillNetworkPhase: Sendable, Hashable, Codable {
    public var dnsChanges: [DrillDNSChange] = []
    /// Per new host of an address change: milliseconds from its DNS record to its first request
    /// (nil: it never got one in the phase).
    public var newHosts: [NewHost] = []
    /// TCP connections that reached an address after its server drained (counted by a tombstone
    /// listener left on the retired address).
    public var retiredAddressConnections = 0
    public var balancerReloads = 0
    public var backendDrains = 0
    /// GOAWAYs the client received (in the haproxy phase: from HAProxy), by error code.
    public var goawaysReceivedByCode: [String: Int] = [:]
    /// What the client did about them: its re-sends by reason.
    public var resentByReason: [String: Int] = [:]
    public var partition: Partition?

    public struct NewHost: Sendable, Hashable, Codable {
        public var address: String
        public var replaced: String
        public var firstTrafficMs: Double?
        /// When its DNS record was first served (ms from the phase start).
        public var dnsAtMs: Double
        public init(address: String, replaced: String, firstTrafficMs: Double?, dnsAtMs: Double = 0) {
            self.address = address
            self.replaced = replaced
            self.firstTrafficMs = firstTrafficMs
            self.dnsAtMs = dnsAtMs
        }
    }

    public struct Partition: Sendable, Hashable, Codable {
        public var address: String
        public var linkDownMs: Double
        /// Link down to the client closing its connection to that address (nil: never in the phase).
        public var detectionMs: Double?
        /// Requests the partitioned server had taken but whose response never arrived.
        public var strandedRequests: Int
        public init(address: String, linkDownMs: Double, detectionMs: Double?, strandedRequests: Int) {
            self.address = address
            self.linkDownMs = linkDownMs
            self.detectionMs = detectionMs
            self.strandedRequests = strandedRequests
        }
    }

    public init() {}

    /// Milliseconds from a new host's DNS record (`dnsAtMs`) to the first request it processed
    /// (`processedAtMs`, any order), nil when none came after the record.
    public static func firstTraffic(dnsAtMs: Double, processedAtMs: [Double]) -> Double? {
        processedAtMs.filter { $0 >= dnsAtMs }.min().map { $0 - dnsAtMs }
    }

    /// Link down to the first close, after it, of a client connection whose endpoint names
    /// `address` (lanes of the client's timeline).
    public static func detection(linkDownMs: Double, address: String, lanes: [DrillTimeline.Lane]) -> Double? {
        lanes.filter { $0.endpoint.contains(address) }
            .compactMap(\.closedMs)
            .filter { $0 >= linkDownMs }
            .min()
            .map { $0 - linkDownMs }
    }
}

/// The hosts of a netns run, for the report.
public struct DrillTopologyInfo: Sendable, Hashable, Codable {
    public var serviceName: String
    public var port: Int
    public var hosts: [Host] = []
    /// `haproxy -v`'s first line.
    public var haproxyVersion: String
    /// `dnsmasq -v`'s first line.
    public var dnsmasqVersion: String

    public struct Host: Sendable, Hashable, Codable {
        public var namespace: String
        public var role: String
        public var address: String
        public init(namespace: String, role: String, address: String) {
            self.namespace = namespace
            self.role = role
            self.address = address
        }
    }

    public init(serviceName: String, port: Int, haproxyVersion: String, dnsmasqVersion: String) {
        self.serviceName = serviceName
        self.port = port
        self.haproxyVersion = haproxyVersion
        self.dnsmasqVersion = dnsmasqVersion
    }
}
