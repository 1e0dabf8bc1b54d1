import Foundation

/// Finds the real peers (nghttp, h2load, nghttpd, nginx, curl, node, the venv's python) that
/// interop tests drive, and decides whether a test may skip when one is missing.
public enum Peers {
    /// Absolute path of `name` on PATH (or in /usr/sbin), or nil.
    public static func path(_ name: String) -> String? {
        if name == "python-h2" { return python }
        if name.hasPrefix("/") { return FileManager.default.isExecutableFile(atPath: name) ? name : nil }
        let dirs = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":").map(String.init)
            + ["/usr/sbin", "/sbin", "/usr/local/bin"]
        for dir in dirs {
            let candidate = dir + "/" + name
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    /// The Python interpreter with the `h2` package: `$GOAWAY_PYTHON`, else `.venv/bin/python` at the
    /// package root, else nil.
    public static var python: String? {
        if let env = ProcessInfo.processInfo.environment["GOAWAY_PYTHON"],
            FileManager.default.isExecutableFile(atPath: env)
        {
            return env
        }
        let venv = packageRoot + "/.venv/bin/python"
        return FileManager.default.isExecutableFile(atPath: venv) ? venv : nil
    }

    /// In CI (`GOAWAY_REQUIRE_PEERS=1`) tests never skip: a missing peer must fail loudly.
    public static var required: Bool { ProcessInfo.processInfo.environment["GOAWAY_REQUIRE_PEERS"] == "1" }

    /// Whether a test needing `names` should run: all present, or CI demands them.
    /// Prints the reason when it skips, so a skip is never silent.
    public static func available(_ names: String...) -> Bool {
        let missing = names.filter { path($0) == nil }
        if missing.isEmpty || required { return true }
        print("skipping: peer(s) not installed: \(missing.joined(separator: ", ")) (bash .ci/run installs them)")
        return false
    }

    /// The package root (the folder holding Package.swift), found from this source file.
    public static let packageRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    /// A script under `scripts/peers/`.
    public static func script(_ name: String) -> String { packageRoot + "/scripts/peers/" + name }
}

/// A peer that is missing, failed to start, or did not exit in time; the message says which.
public struct PeerError: Error, CustomStringConvertible {
    /// What happened, with the command line and its output where useful.
    public var description: String
    /// An error saying `description`.
    public init(_ description: String) { self.description = description }
}

/// A peer process (nghttp, h2load, a Python h2 script...) with captured output and hard time limits.
/// Every wait is bounded; `deinit` never leaves a process behind.
public final class PeerProcess: @unchecked Sendable {
    // @unchecked: `process` is only mutated in init; output is guarded by `lock`.
    private let process = Process()
    private let lock = NSLock()
    private var stdoutData = Data()
    private var stderrData = Data()
    private let outPipe = Pipe()
    private let errPipe = Pipe()
    /// The command as started, for messages.
    public let commandLine: String

    /// Starts `executable` (looked up like `Peers.path`) with `arguments`, `environment` added to ours,
    /// stdin empty; throws `PeerError` when it is not installed.
    public init(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) throws {
        guard let path = Peers.path(executable) else { throw PeerError("\(executable) is not installed") }
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        for (k, v) in environment { env[k] = v }
        process.environment = env
        process.standardOutput = outPipe
        process.standardError = errPipe
        process.standardInput = FileHandle.nullDevice
        commandLine = ([executable] + arguments).joined(separator: " ")
        outPipe.fileHandleForReading.readabilityHandler = { [weak self] h in
            let d = h.availableData
            guard let self else { return }
            self.lock.lock(); self.stdoutData.append(d); self.lock.unlock()
        }
        errPipe.fileHandleForReading.readabilityHandler = { [weak self] h in
            let d = h.availableData
            guard let self else { return }
            self.lock.lock(); self.stderrData.append(d); self.lock.unlock()
        }
        try process.run()
    }

    /// The process id.
    public var pid: Int32 { process.processIdentifier }
    /// Whether it still runs.
    public var isRunning: Bool { process.isRunning }
    /// Standard output so far.
    public var stdout: String { lock.lock(); defer { lock.unlock() }; return String(decoding: stdoutData, as: UTF8.self) }
    /// Standard error so far.
    public var stderr: String { lock.lock(); defer { lock.unlock() }; return String(decoding: stderrData, as: UTF8.self) }
    /// The exit status once it exited, else `nil`.
    public var exitCode: Int32? { process.isRunning ? nil : process.terminationStatus }

    /// Waits until the process exits; on timeout kills it and throws.
    @discardableResult
    public func wait(timeout: Duration) async throws -> Int32 {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            if ContinuousClock.now > deadline {
                kill()
                throw PeerError("\(commandLine) did not exit within \(timeout)\nstdout: \(stdout)\nstderr: \(stderr)")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        // Let the readability handlers drain what is left in the pipes.
        try await Task.sleep(for: .milliseconds(30))
        return process.terminationStatus
    }

    /// Waits until stdout (or stderr) holds a line containing `needle`; returns that line.
    public func waitForLine(containing needle: String, timeout: Duration, stream: KeyPath<PeerProcess, String> = \.stdout) async throws -> String {
        let deadline = ContinuousClock.now + timeout
        while true {
            let text = self[keyPath: stream]
            if let line = text.split(separator: "\n").first(where: { $0.contains(needle) }) { return String(line) }
            if !process.isRunning && text.isEmpty == false && !text.contains(needle) && exitCode != nil {
                throw PeerError("\(commandLine) exited (\(process.terminationStatus)) before printing '\(needle)'\nstdout: \(stdout)\nstderr: \(stderr)")
            }
            if ContinuousClock.now > deadline {
                throw PeerError("\(commandLine): no '\(needle)' within \(timeout)\nstdout: \(stdout)\nstderr: \(stderr)")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// Sends `sig` if it still runs.
    public func signal(_ sig: Int32) { if process.isRunning { Foundation.kill(process.processIdentifier, sig) } }
    /// SIGTERM.
    public func terminate() { signal(SIGTERM) }
    /// SIGKILL.
    public func kill() { signal(SIGKILL) }

    deinit {
        if process.isRunning { Foundation.kill(process.processIdentifier, SIGKILL) }
        outPipe.fileHandleForReading.readabilityHandler = nil
        errPipe.fileHandleForReading.readabilityHandler = nil
    }
}

/// Self-signed certificates for TLS tests, made with the openssl CLI into a temporary folder.
public enum TestCertificates {
    /// Where the PEM files are.
    public struct Files: Sendable {
        /// The self-signed certificate (PEM).
        public var certificate: String
        /// Its private key (PEM).
        public var privateKey: String
        /// The temporary folder holding both.
        public var directory: String
    }

    /// A new key and self-signed certificate with CN `commonName` (SANs localhost, 127.0.0.1, ::1).
    public static func make(commonName: String = "localhost") throws -> Files {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("goaway-tls-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let cert = dir + "/cert.pem", key = dir + "/key.pem"
        let p = Process()
        guard let openssl = Peers.path("openssl") else { throw PeerError("openssl is not installed") }
        p.executableURL = URL(fileURLWithPath: openssl)
        p.arguments = [
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=\(commonName)",
            "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1",
        ]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw PeerError("openssl req failed with \(p.terminationStatus)") }
        return Files(certificate: cert, privateKey: key, directory: dir)
    }
}

extension Peers {
    /// The `goaway` executable built beside the tests (`swift build --build-tests` builds it).
    public static var goawayBinary: String? {
        let fm = FileManager.default
        var candidates: [String] = []
        // Next to the test bundle: .build/<triple>/debug/GoAwayKitPackageTests.xctest
        let exe = URL(fileURLWithPath: CommandLine.arguments.first ?? "").deletingLastPathComponent()
        candidates.append(exe.appendingPathComponent("goaway").path)
        candidates.append(exe.deletingLastPathComponent().appendingPathComponent("goaway").path)
        for config in ["debug", "release"] {
            candidates.append(packageRoot + "/.build/\(config)/goaway")
        }
        return candidates.first { fm.isExecutableFile(atPath: $0) }
    }
}
