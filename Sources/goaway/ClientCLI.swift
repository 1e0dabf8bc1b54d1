import ArgumentParser
import Foundation
import GoAwayKit
#if canImport(Glibc)
import Glibc
#endif

/// What `get`, `load` and `probe` share: bad input is a usage error (exit 2) with one line naming
/// the flag or file and what is wrong; runtime failures are one line and exit 1.

/// A URL the client can use: http(s), a host, a port in 1–65535.
func validateURL(_ url: String) throws {
    do {
        _ = try HTTP2Endpoint(url: url)
    } catch let e as HTTP2ClientError {
        throw ValidationError(e.detail)
    }
}

/// Every `--cacert` file exists and holds a PEM certificate.
func validateTrustRoots(_ files: [String]) throws {
    do {
        try HTTP2ClientConfiguration.TLS(trustRootFiles: files).validate()
    } catch let e as HTTP2ClientError {
        throw ValidationError("--cacert: " + e.detail)
    }
}

/// The bytes of a file named by `flag`, or a usage error naming the file and the problem.
func readFileArgument(_ path: String, flag: String) throws -> [UInt8] {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
        throw ValidationError("\(flag) \(path): no such file")
    }
    if isDirectory.boolValue { throw ValidationError("\(flag) \(path): is a directory") }
    guard let handle = FileHandle(forReadingAtPath: path) else { throw ValidationError("\(flag) \(path): permission denied") }
    defer { try? handle.close() }
    do {
        return Array(try handle.readToEnd() ?? Data())
    } catch {
        throw ValidationError("\(flag) \(path): cannot be read")
    }
}

/// An `HTTP2Client`, or exit 2 with the configuration problem in one line.
func makeClient(command: String, urls: [String], configuration: HTTP2ClientConfiguration) throws -> HTTP2Client {
    do {
        return try HTTP2Client(endpoints: urls, configuration: configuration)
    } catch let e as HTTP2ClientError {
        CLI.fail("\(command): \(e.detail)", exitCode: 2)
    }
}

extension CLI {
    /// One line for people: the cause in its own words, never a type dump or a source location.
    static func describe(_ error: any Error) -> String {
        if let e = error as? HTTP2ClientError { return e.message }
        if let e = error as? ConnectFailure { return e.message }
        return String(String(describing: error).split(separator: "\n").first ?? "")
    }
}

/// Writes to fd 1 without Foundation's `try!`: false once the reader is gone (EPIPE) or on any
/// other write error, so `goaway get … | head -c 1` ends quietly instead of crashing.
enum StandardOutput {
    static func write<Bytes: Sequence>(_ bytes: Bytes) -> Bool where Bytes.Element == UInt8 {
        let array = Array(bytes)
        return array.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = Glibc.write(1, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    return false
                }
                offset += n
            }
            return true
        }
    }
}
