import GoAwayFuzzing

// libFuzzer entry point (built with `-sanitize=fuzzer -DFUZZING` by scripts/fuzz).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    do {
        try FuzzInput.run(bytes)
    } catch {
        fatalError("\(error)")
    }
    return 0
}

#if FUZZING
// SwiftPM links executables with `main` aliased to `goaway_fuzz_main`; define that and hand
// control to libFuzzer's driver (LLVM >= 12), which parses the usual libFuzzer flags.
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt
) -> CInt

@_cdecl("goaway_fuzz_main")
public func goawayFuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var argc = argc
    var argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv, fuzzOneInput)
}
#else
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
                try FuzzInput.run(Array(data))
                count += 1
            }
        }
        print("replayed \(count) inputs")
    }
}
#endif
