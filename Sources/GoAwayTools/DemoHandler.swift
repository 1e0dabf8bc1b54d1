import GoAwayKit
import HTTPTypes
import NIOCore
import NIOPosix
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The routes of `goaway serve` (and of the drill's fleet): small, predictable endpoints for
/// testing clients, proxies and load tools.
///
/// - `/`              a short text
/// - `/echo`          any method; streams the request body back
/// - `/delay/<ms>`    answers after that many milliseconds (at most 600000)
/// - `/bytes/<n>`     n bytes (at most 1 GiB), streamed in 16 KiB chunks
/// - `/status/<code>` an empty response with that status (100...599 are not allowed below 200)
/// - with `root`, any other GET path is a file under it (no `..`, no symlink escapes)
public struct DemoHandler: Sendable {
    public var root: String?
    public var serverName: String {
        didSet { serverField = HTTPField(name: .server, value: serverName) }
    }
    /// `server: serverName`, validated once (building an `HTTPField` checks its value).
    private var serverField: HTTPField

    public init(root: String? = nil, serverName: String = "goaway") {
        self.root = root
        self.serverName = serverName
        self.serverField = HTTPField(name: .server, value: serverName)
    }

    private static let hello = ByteBuffer(string: "Hello from GoAwayKit over HTTP/2\n")
    private static let chunk = ByteBuffer(repeating: UInt8(ascii: "x"), count: 16384)
    private static let octetStream = HTTPField(name: .contentType, value: "application/octet-stream")

    public func handle(_ request: HTTPRequest, _ body: RequestBody, _ context: RequestContext) async throws -> ServerResponse {
        // On UTF-8 bytes: `String.firstIndex(of: Character)` walks grapheme clusters.
        let path = request.path.map { p in p.utf8.firstIndex(of: UInt8(ascii: "?")).map { String(p[..<$0]) } ?? p } ?? "/"
        if let n = Self.number(after: "/bytes/", in: path), n <= 16384 {
            // The benchmark route: three prepared fields, appended (a subscript set searches).
            return ServerResponse(
                status: .ok,
                headerFields: HTTPFields([serverField, Self.octetStream, HTTPField(name: .contentLength, value: String(n))]),
                body: Self.chunk.getSlice(at: 0, length: n)!
            )
        }
        var fields = HTTPFields()
        fields.append(serverField)
        if path == "/" {
            fields[.contentType] = "text/plain; charset=utf-8"
            return ServerResponse(status: .ok, headerFields: fields, body: Self.hello)
        }
        if path == "/echo" {
            if let type = request.headerFields[.contentType] { fields[.contentType] = type }
            return ServerResponse(HTTPResponse(status: .ok, headerFields: fields), body: .stream { writer in
                for try await chunk in body where chunk.readableBytes > 0 { try await writer.write(chunk) }
            })
        }
        if let ms = Self.number(after: "/delay/", in: path) {
            guard ms <= 600_000 else { return Self.error(.badRequest, "delay is at most 600000 ms\n", fields) }
            try await Task.sleep(for: .milliseconds(ms))
            fields[.contentType] = "text/plain; charset=utf-8"
            return ServerResponse(status: .ok, headerFields: fields, body: ByteBuffer(string: "delayed \(ms) ms\n"))
        }
        if let n = Self.number(after: "/bytes/", in: path) {
            guard n <= 1 << 30 else { return Self.error(.badRequest, "at most 1073741824 bytes\n", fields) }
            fields.append(Self.octetStream)
            fields[.contentLength] = String(n)
            return ServerResponse(HTTPResponse(status: .ok, headerFields: fields), body: .stream { writer in
                var left = n
                while left > 0 {
                    let size = min(left, 16384)
                    try await writer.write(Self.chunk.getSlice(at: 0, length: size)!)
                    left -= size
                }
            })
        }
        if let code = Self.number(after: "/status/", in: path) {
            guard (200...599).contains(code) else { return Self.error(.badRequest, "status must be 200...599\n", fields) }
            return ServerResponse(HTTPResponse(status: .init(code: code), headerFields: fields))
        }
        if let root, request.method == .get || request.method == .head {
            return try await file(path, root: root, fields: fields, head: request.method == .head)
        }
        return Self.error(.notFound, "not found: \(path)\n", fields)
    }

    private static func error(_ status: HTTPResponse.Status, _ text: String, _ fields: HTTPFields) -> ServerResponse {
        ServerResponse(status: status, headerFields: fields, text: text)
    }

    private static func number(after prefix: String, in path: String) -> Int? {
        guard path.utf8.starts(with: prefix.utf8) else { return nil }
        return Int(Substring(path.utf8.dropFirst(prefix.utf8.count))).flatMap { $0 >= 0 ? $0 : nil }
    }

    private func file(_ path: String, root: String, fields: HTTPFields, head: Bool) async throws -> ServerResponse {
        let components = path.split(separator: "/", omittingEmptySubsequences: true)
        guard !components.contains(where: { $0 == ".." || $0 == "." }) else {
            return Self.error(.badRequest, "bad path\n", fields)
        }
        let relative = components.isEmpty ? "index.html" : components.joined(separator: "/")
        let full = root + "/" + relative
        let rootReal = Self.realPath(root)
        guard let rootReal, let real = Self.realPath(full), real == rootReal || real.hasPrefix(rootReal + "/") else {
            return Self.error(.notFound, "not found: \(path)\n", fields)
        }
        // Blocking file reads belong on the thread pool, never on the event loop.
        guard let contents = try await NIOThreadPool.singleton.runIfActive({ Self.readFile(real, limit: 64 << 20) }) else {
            return Self.error(.notFound, "not found: \(path)\n", fields)
        }
        var fields = fields
        fields[.contentType] = Self.contentType(for: relative)
        return ServerResponse(status: .ok, headerFields: fields, body: head ? ByteBuffer() : contents)
    }

    private static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// A regular file's bytes, or nil (missing, a directory, unreadable, over `limit`).
    private static func readFile(_ path: String, limit: Int) -> ByteBuffer? {
        var info = stat()
        guard stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG, Int(info.st_size) <= limit else { return nil }
        guard let file = fopen(path, "rb") else { return nil }
        defer { fclose(file) }
        var buffer = ByteBuffer()
        buffer.reserveCapacity(Int(info.st_size))
        let read = buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: Int(info.st_size)) { ptr in
            fread(ptr.baseAddress, 1, Int(info.st_size), file)
        }
        return read == Int(info.st_size) ? buffer : nil
    }

    private static func contentType(for name: String) -> String {
        switch name.split(separator: ".").last.map({ $0.lowercased() }) {
        case "html", "htm": "text/html; charset=utf-8"
        case "txt": "text/plain; charset=utf-8"
        case "json": "application/json"
        case "css": "text/css"
        case "js": "text/javascript"
        case "png": "image/png"
        case "jpg", "jpeg": "image/jpeg"
        case "svg": "image/svg+xml"
        default: "application/octet-stream"
        }
    }
}
