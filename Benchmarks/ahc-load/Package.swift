// swift-tools-version:6.1
// AsyncHTTPClient as a load client for scripts/bench-client and scripts/bench-storm. A separate
// package so the main package never depends on AsyncHTTPClient.
import PackageDescription

let package = Package(
    name: "ahc-load",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(url: "https://github.com/swift-server/async-http-client.git", exact: "1.37.0"),
    ],
    targets: [
        .executableTarget(
            name: "ahc-load",
            dependencies: [.product(name: "AsyncHTTPClient", package: "async-http-client")]
        ),
    ],
    swiftLanguageModes: [.v6]
)
