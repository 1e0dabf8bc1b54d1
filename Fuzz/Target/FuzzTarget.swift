import GoAwayFuzzing

// libFuzzer entry point (built with `-sanitize=fuzzer -DFUZZING` by scripts/fuzz).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    do {
        try ServerConnectionFuzzer.run(bytes)
    } catch {
        fatalError("\(error)")
    }
    return 0
}

#if !FUZZING
import Foundation

/// Without libFuzzer (a plain `swift build`): replays the files or folders given as arguments.
@main
struct Replay {
    static func main() throws {
        var count = 0
        for path in CommandLine.arguments.dropFirst() {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else { continue }
            let files = isDir.boolValue
                ? try FileManager.default.contentsOfDirectory(atPath: path).sorted().map { path + "/" + $0 } : [path]
            for file in files {
                let data = try Data(contentsOf: URL(fileURLWithPath: file))
                try ServerConnectionFuzzer.run(Array(data))
                count += 1
            }
        }
        print("replayed \(count) inputs")
    }
}
#endif
