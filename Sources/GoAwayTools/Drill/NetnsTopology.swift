import GoAwayKit
import Foundation
import GoAwayCore
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Builds and removes the netns drill's hosts (`DrillNetwork` decides names, addresses and
/// commands; this runs them). Only namespaces, veths and the bridge it creates are touched; the
/// client's resolver is `/etc/netns/<ns>/resolv.conf`, seen only inside `ip netns exec`.
///
/// Every namespace this run created is removed by `teardown()`: on success, on error, on SIGINT
/// (`installInterruptTeardown`), and by the next run when this one crashed (`removeStale`).
final class NetnsTopology: Sendable {
    let network: DrillNetwork
    /// Configuration files, the HAProxy admin socket, dnsmasq's hosts file.
    let runDirectory: String
    private let created = Mutex<[String]>([])
    /// Set by teardown: no host is added after it (a step racing a SIGINT).
    private let closing = Mutex(false)
    private let children = Mutex<[NetnsProcess]>([])

    struct CommandFailed: Error, CustomStringConvertible {
        var description: String
    }

    init(network: DrillNetwork) {
        self.network = network
        runDirectory = "/run/goaway-drill/\(network.tag)"
    }

    /// The one-line reason the netns drill cannot run here, or nil.
    static func preflight(uid: uid_t = getuid(), find: (String) -> String? = executable) -> String? {
        if uid != 0 {
            return "--topology netns needs root (it creates network namespaces, veths and a bridge); run it as root or use --topology loopback"
        }
        if find("ip") == nil { return "--topology netns needs the ip command: install the iproute2 package" }
        if find("haproxy") == nil { return "--topology netns needs haproxy: install the haproxy package (apt-get install haproxy)" }
        if find("dnsmasq") == nil { return "--topology netns needs dnsmasq: install the dnsmasq package (apt-get install dnsmasq)" }
        return nil
    }

    static func executable(_ name: String) -> String? {
        for dir in ["/usr/sbin", "/usr/bin", "/sbin", "/bin", "/usr/local/sbin", "/usr/local/bin"] {
            let path = dir + "/" + name
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return nil
    }

    /// Runs a command to completion (bounded); throws with its stderr's last line on failure.
    @discardableResult
    static func run(_ arguments: [String], timeout: Duration = .seconds(20)) async throws -> String {
        var argv = arguments
        if !argv[0].hasPrefix("/"), let path = executable(argv[0]) { argv[0] = path }
        let p = try NetnsProcess(name: argv[0], argv)
        guard let code = await p.wait(timeout: timeout) else {
            p.signal(SIGKILL)
            throw CommandFailed(description: "\(arguments.joined(separator: " ")) did not finish within \(timeout)")
        }
        // Let the last output arrive.
        _ = await p.line(startingWith: "\u{0}never", timeout: .milliseconds(200))
        guard code == 0 else {
            throw CommandFailed(description: "\(arguments.joined(separator: " ")) failed: \(p.stderrLastLine)")
        }
        return p.lines.joined(separator: "\n")
    }

    /// Removes the namespaces (and run folders) of earlier runs whose process is gone.
    static func removeStale() async {
        guard let list = try? await run(["ip", "netns", "list"]) else { return }
        let stale = DrillNetwork.staleNamespaces(list) { pid in kill(pid, 0) == 0 || errno == EPERM }
        for ns in stale {
            await killProcesses(in: ns)
            _ = try? await run(["ip", "netns", "del", ns])
            try? FileManager.default.removeItem(atPath: "/etc/netns/\(ns)")
        }
        if let runs = try? FileManager.default.contentsOfDirectory(atPath: "/run/goaway-drill") {
            for tag in runs where DrillNetwork.staleNamespaces(tag + "-x", isAlive: { kill($0, 0) == 0 }).count == 1 {
                try? FileManager.default.removeItem(atPath: "/run/goaway-drill/\(tag)")
            }
        }
    }

    /// SIGKILL for every process in namespace `ns` (they are this drill's own children).
    static func killProcesses(in ns: String) async {
        guard let pids = try? await run(["ip", "netns", "pids", ns]) else { return }
        for pid in pids.split(separator: "\n").compactMap({ Int32($0.trimmingCharacters(in: .whitespaces)) }) {
            kill(pid, SIGKILL)
        }
    }

    /// The switch, the client (with its resolv.conf), the balancer and the DNS host.
    func setUp() async throws {
        try FileManager.default.createDirectory(atPath: runDirectory, withIntermediateDirectories: true)
        chmod(runDirectory, 0o755)
        for command in network.setupCommands() { try await run(command) }
        created.withLock { $0.append(network.switchNamespace) }
        for role in [DrillNetwork.Role.client, .balancer, .dns] { try await addHost(role) }
        let etc = "/etc/netns/\(network.namespace(.client))"
        try FileManager.default.createDirectory(atPath: etc, withIntermediateDirectories: true)
        try network.clientResolvConf.write(toFile: etc + "/resolv.conf", atomically: true, encoding: .utf8)
    }

    func addHost(_ role: DrillNetwork.Role) async throws {
        let ns = network.namespace(role)
        if closing.withLock({ $0 }) { throw CommandFailed(description: "the drill is shutting down") }
        created.withLock { $0.append(ns) }
        for command in network.addHostCommands(role) { try await run(command) }
    }

    func removeHost(_ role: DrillNetwork.Role) async {
        let ns = network.namespace(role)
        await Self.killProcesses(in: ns)
        for command in network.removeHostCommands(role) { _ = try? await run(command) }
        created.withLock { $0.removeAll { $0 == ns } }
    }

    func partition(_ role: DrillNetwork.Role) async throws {
        try await run(network.linkDownCommand(role))
    }

    /// Starts `arguments` inside `role`'s namespace.
    func spawn(_ role: DrillNetwork.Role, _ arguments: [String], onLine: (@Sendable (String) -> Void)? = nil) throws -> NetnsProcess {
        let ip = Self.executable("ip") ?? "/usr/sbin/ip"
        let p = try NetnsProcess(name: "\(network.namespace(role)) \(arguments[0])", [ip, "netns", "exec", network.namespace(role)] + arguments, onLine: onLine)
        children.withLock { $0.append(p) }
        return p
    }

    /// Kills every child, removes every namespace this run created, its resolv.conf and run folder.
    func teardown() async {
        closing.withLock { $0 = true }
        for child in children.withLock({ $0 }) { child.signal(SIGKILL) }
        var names = created.withLock { $0 }
        // Also any namespace of this run a racing step created after the list was taken.
        if let list = try? await Self.run(["ip", "netns", "list"]) {
            for ns in Self.ours(list, tag: network.tag) where !names.contains(ns) { names.insert(ns, at: 0) }
        }
        for ns in names.reversed() where ns != network.switchNamespace {
            await Self.killProcesses(in: ns)
            _ = try? await run(["ip", "netns", "del", ns])
        }
        if names.contains(network.switchNamespace) { _ = try? await run(["ip", "netns", "del", network.switchNamespace]) }
        created.withLock { $0 = [] }
        try? FileManager.default.removeItem(atPath: "/etc/netns/\(network.namespace(.client))")
        try? FileManager.default.removeItem(atPath: runDirectory)
    }

    /// The same, synchronously and without async machinery, for a signal handler about to exit.
    func teardownNow() {
        closing.withLock { $0 = true }
        for child in children.withLock({ $0 }) { child.signal(SIGKILL) }
        let ip = Self.executable("ip") ?? "/usr/sbin/ip"
        let names = created.withLock { $0 }
        func runSync(_ args: [String]) -> String {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: ip)
            p.arguments = args
            let out = Pipe()
            p.standardOutput = out
            p.standardError = FileHandle.nullDevice
            guard (try? p.run()) != nil else { return "" }
            let data = out.fileHandleForReading.readDataToEndOfFile()
            p.waitUntilExit()
            return String(decoding: data, as: UTF8.self)
        }
        // Twice: a step that raced the signal may have added one more in the meantime.
        for _ in 0..<2 {
            let all = Set(names + Self.ours(runSync(["netns", "list"]), tag: network.tag))
            for ns in all where ns != network.switchNamespace {
                for pid in runSync(["netns", "pids", ns]).split(separator: "\n").compactMap({ Int32($0) }) { kill(pid, SIGKILL) }
                _ = runSync(["netns", "del", ns])
            }
        }
        _ = runSync(["netns", "del", network.switchNamespace])
        try? FileManager.default.removeItem(atPath: "/etc/netns/\(network.namespace(.client))")
        try? FileManager.default.removeItem(atPath: runDirectory)
    }

    /// Namespaces of run `tag` in `ip netns list` output.
    static func ours(_ list: String, tag: String) -> [String] {
        list.split(separator: "\n").compactMap { $0.split(separator: " ").first.map(String.init) }.filter { $0.hasPrefix(tag + "-") }
    }

    private func run(_ arguments: [String]) async throws {
        try await Self.run(arguments)
    }

    /// One command to HAProxy's runtime API (a UNIX socket); the answer, or nil.
    static func adminCommand(_ socketPath: String, _ command: String) -> String? {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var tv = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(socketPath.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: addr.sun_path) else { return nil }
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            for (i, b) in bytes.enumerated() { raw[i] = b }
            raw[bytes.count] = 0
        }
        let connected = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard connected == 0 else { return nil }
        let line = Array(command.utf8)
        guard write(fd, line, line.count) == line.count else { return nil }
        var answer: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = read(fd, &buffer, buffer.count)
            if n <= 0 { break }
            answer.append(contentsOf: buffer[..<n])
            if answer.count > 1 << 20 { break }
        }
        return String(decoding: answer, as: UTF8.self)
    }

    /// The first line of `tool -v` (`HAProxy version 2.6.12-1+deb12u4 …`).
    static func version(_ tool: String) async -> String {
        guard let out = try? await run([tool, "-v"]) else { return "\(tool) (version unknown)" }
        return out.split(separator: "\n").first.map { String($0.prefix(80)) } ?? tool
    }
}

/// The topology of the run in progress, for the SIGINT handler.
enum NetnsInterrupt {
    private static let active = Mutex<NetnsTopology?>(nil)
    private static let fired = Mutex(false)
    /// A signal arrived: the handler tears down and exits 130; nothing else should exit first.
    static var interrupted: Bool { fired.withLock { $0 } }
    private static let sources = Mutex<[any DispatchSourceSignal]>([])

    /// On SIGINT, SIGTERM or SIGHUP: tear the topology down, then exit 130.
    static func install(_ topology: NetnsTopology) {
        active.withLock { $0 = topology }
        sources.withLock { list in
            guard list.isEmpty else { return }
            for sig in [SIGINT, SIGTERM, SIGHUP] {
                signal(sig, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
                source.setEventHandler {
                    fired.withLock { $0 = true }
                    FileHandle.standardError.write(Data("\ngoaway: interrupted, removing the drill's namespaces\n".utf8))
                    active.withLock { $0 }?.teardownNow()
                    exit(130)
                }
                source.resume()
                list.append(source)
            }
        }
    }

    static func clear() {
        active.withLock { $0 = nil }
    }
}
