import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Helpers to start the scripted and real servers the client tests talk to.
public enum ClientPeers {
    /// A free loopback TCP port (bind to 0, read it back, close). Racy by nature: callers retry.
    public static func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = 0
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    /// Waits until something accepts TCP connections on 127.0.0.1:port.
    public static func waitForPort(_ port: Int, timeout: Duration = .seconds(10)) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var addr = sockaddr_in()
            addr.sin_family = sa_family_t(AF_INET)
            addr.sin_port = UInt16(port).bigEndian
            addr.sin_addr.s_addr = inet_addr("127.0.0.1")
            let rc = withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            close(fd)
            if rc == 0 { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw PeerError("nothing listens on 127.0.0.1:\(port) after \(timeout)")
    }

    /// Waits for a complete `LISTENING <port>` line (a partial read must not be taken for a port).
    public static func listeningPort(of process: PeerProcess, timeout: Duration = .seconds(15)) async throws -> Int {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let out = process.stdout
            for line in out.split(separator: "\n", omittingEmptySubsequences: false).dropLast() where line.hasPrefix("LISTENING ") {
                if let port = Int(line.dropFirst("LISTENING ".count).trimmingCharacters(in: .whitespaces)) { return port }
            }
            if process.exitCode != nil { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw PeerError("\(process.commandLine): no LISTENING line within \(timeout)\nstdout: \(process.stdout)\nstderr: \(process.stderr)")
    }

    /// The built `goaway` executable, or a thrown `PeerError` saying how to build it.
    public static func goaway() throws -> String {
        guard let path = Peers.goawayBinary else { throw PeerError("goaway binary not built (swift build --build-tests)") }
        return path
    }

    /// `goaway serve --port 0` with `arguments`; returns the process and its port.
    public static func goawayServe(_ arguments: [String]) async throws -> (PeerProcess, Int) {
        let p = try PeerProcess(try goaway(), ["serve", "--port", "0"] + arguments)
        let first = try await p.waitForLine(containing: "listening on", timeout: .seconds(20))
        guard let port = first.split(separator: ":").last.flatMap({ Int($0) }) else {
            p.kill()
            throw PeerError("goaway serve: no port in '\(first)'")
        }
        return (p, port)
    }

    /// `scripts/peers/hostile_server.py --mode <mode>` (plain python3 is enough: no h2 needed).
    public static func hostileServer(_ mode: String, _ arguments: [String] = []) async throws -> (PeerProcess, Int) {
        guard let python = Peers.python ?? Peers.path("python3") else { throw PeerError("no python3") }
        let p = try PeerProcess(python, ["-u", Peers.script("hostile_server.py"), "--port", "0", "--mode", mode] + arguments)
        return (p, try await listeningPort(of: p))
    }

    /// `scripts/peers/goaway_every_n_server.py` with `arguments`; returns the process and its port.
    public static func pythonServer(_ arguments: [String]) async throws -> (PeerProcess, Int) {
        guard let python = Peers.python else { throw PeerError("no python with h2 (GOAWAY_PYTHON or .venv)") }
        let p = try PeerProcess(python, ["-u", Peers.script("goaway_every_n_server.py"), "--port", "0"] + arguments)
        return (p, try await listeningPort(of: p))
    }

    /// `nghttpd` serving a temporary folder with `index.html`: h2c (`--no-tls`), or TLS with ALPN h2
    /// when `tls` is given.
    public static func nghttpd(body: String = "hello from nghttpd\n", extra: [String] = [], tls: TestCertificates.Files? = nil) async throws -> (PeerProcess, Int, String) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("goaway-nghttpd-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try body.write(toFile: dir + "/index.html", atomically: true, encoding: .utf8)
        var lastError: (any Error)?
        for _ in 0..<5 {
            let port = freePort()
            let args: [String]
            if let tls {
                args = ["-d", dir] + extra + [String(port), tls.privateKey, tls.certificate]
            } else {
                args = ["--no-tls", "-d", dir] + extra + [String(port)]
            }
            let p = try PeerProcess("nghttpd", args)
            do {
                try await waitForPort(port, timeout: .seconds(5))
                return (p, port, dir)
            } catch {
                p.kill()
                lastError = error
            }
        }
        throw lastError ?? PeerError("nghttpd did not start")
    }

    /// nginx (non-daemon, private prefix) speaking h2c on a free port, with `keepalive_requests`.
    public struct Nginx: Sendable {
        /// The nginx master.
        public let process: PeerProcess
        /// The h2c port it listens on.
        public let port: Int
        /// Its private prefix folder (config, logs, html).
        public let prefix: String
        /// Its nginx.conf.
        public let config: String
        /// `nginx -s reload`: the master starts new workers; old ones GOAWAY their connections.
        public func reload() throws {
            let p = try PeerProcess("nginx", ["-c", config, "-p", prefix, "-g", "daemon off;", "-s", "reload"])
            _ = p
        }
        /// Graceful stop (SIGQUIT): workers finish their connections.
        public func stop() { process.signal(SIGQUIT) }
    }

    /// Starts nginx serving `body` at `/` over h2c, with `keepalive_requests` (a GOAWAY after that
    /// many requests per connection); retries on a port race.
    public static func nginx(keepaliveRequests: Int, body: String = "hello from nginx\n") async throws -> Nginx {
        var lastError: (any Error)?
        for _ in 0..<5 {
            let prefix = FileManager.default.temporaryDirectory.appendingPathComponent("goaway-nginx-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: prefix + "/html", withIntermediateDirectories: true)
            try FileManager.default.createDirectory(atPath: prefix + "/logs", withIntermediateDirectories: true)
            try body.write(toFile: prefix + "/html/index.html", atomically: true, encoding: .utf8)
            let port = freePort()
            let user = getuid() == 0 ? "user root;\n" : ""
            let conf = """
                \(user)worker_processes 1;
                pid \(prefix)/nginx.pid;
                error_log \(prefix)/logs/error.log warn;
                events { worker_connections 1024; }
                http {
                  access_log off;
                  client_body_temp_path \(prefix)/body;
                  proxy_temp_path \(prefix)/proxy;
                  fastcgi_temp_path \(prefix)/fastcgi;
                  uwsgi_temp_path \(prefix)/uwsgi;
                  scgi_temp_path \(prefix)/scgi;
                  keepalive_requests \(keepaliveRequests);
                  server {
                    listen 127.0.0.1:\(port) http2;
                    root \(prefix)/html;
                    location / { }
                  }
                }
                """
            let confPath = prefix + "/nginx.conf"
            try conf.write(toFile: confPath, atomically: true, encoding: .utf8)
            let p = try PeerProcess("nginx", ["-c", confPath, "-p", prefix, "-g", "daemon off;"])
            do {
                try await waitForPort(port, timeout: .seconds(5))
                return Nginx(process: p, port: port, prefix: prefix, config: confPath)
            } catch {
                p.kill()
                lastError = PeerError("\(error)\n\((try? String(contentsOfFile: prefix + "/logs/error.log", encoding: .utf8)) ?? "")\n\(p.stderr)")
            }
        }
        throw lastError ?? PeerError("nginx did not start")
    }

    /// `scripts/peers/node_graceful_server.js`: closes each session gracefully after `every` requests.
    public static func nodeServer(every: Int) async throws -> (PeerProcess, Int) {
        let p = try PeerProcess("node", [Peers.script("node_graceful_server.js"), "0", String(every)])
        return (p, try await listeningPort(of: p))
    }
}
