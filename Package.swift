// swift-tools-version:6.2
import PackageDescription

let package = Package(
    name: "GoAwayKit",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "GoAwayCore", targets: ["GoAwayCore"]),
        .library(name: "GoAwayKit", targets: ["GoAwayKit"]),
        .library(name: "GoAwayTesting", targets: ["GoAwayTesting"]),
        .executable(name: "goaway", targets: ["goaway"]),
        // Adoption (issue 13): a generated OpenAPI client and a Hummingbird router over GoAwayKit.
        .library(name: "GoAwayOpenAPI", targets: ["GoAwayOpenAPI"]),
        .library(name: "GoAwayHummingbird", targets: ["GoAwayHummingbird"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-http2.git", from: "1.46.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        // Adoption (issue 13).
        .package(url: "https://github.com/apple/swift-openapi-runtime.git", from: "1.13.4"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-docc-plugin.git", from: "1.5.0"),
    ],
    targets: [
        // Pure decisions: GOAWAY, drain, retry, pool. Imports no NIO.
        .target(name: "GoAwayCore"),
        .target(
            name: "GoAwayKit",
            dependencies: [
                "GoAwayCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "NIOHPACK", package: "swift-nio-http2"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // The CLI's machinery (demo routes, load runner, drill, probe): not part of the GoAwayKit
        // product; the executable, the test support and the tests use it.
        .target(
            name: "GoAwayTools",
            dependencies: [
                "GoAwayKit",
                "GoAwayCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "NIOHPACK", package: "swift-nio-http2"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "GoAwayTesting",
            dependencies: [
                "GoAwayKit", "GoAwayTools",
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .executableTarget(
            name: "goaway",
            dependencies: [
                "GoAwayKit", "GoAwayTools",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        // Fuzzing: the harness (a library), the libFuzzer target (scripts/fuzz builds it with
        // -sanitize=fuzzer; a plain build makes a corpus replayer), and a test replaying Fuzz/corpus.
        .target(
            name: "GoAwayFuzzing",
            dependencies: [
                "GoAwayKit",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ],
            path: "Fuzz/Harness"
        ),
        .executableTarget(name: "goaway-fuzz", dependencies: ["GoAwayFuzzing"], path: "Fuzz/Target"),
        .testTarget(name: "FuzzCorpusTests", dependencies: ["GoAwayFuzzing"]),
        .testTarget(name: "GoAwayCoreTests", dependencies: ["GoAwayCore"], exclude: ["Explain/Golden"]),
        .testTarget(
            name: "GoAwayKitTests",
            dependencies: [
                "GoAwayKit", "GoAwayTools", "GoAwayTesting",
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
                .product(name: "ServiceLifecycleTestKit", package: "swift-service-lifecycle"),
            ]
        ),
        .testTarget(
            name: "InteropTests",
            dependencies: [
                "GoAwayKit", "GoAwayTools", "GoAwayTesting",
                .product(name: "MetricsTestKit", package: "swift-metrics"),
            ]
        ),
        // Adoption (issue 13): the OpenAPI transport, the Hummingbird adapter, and the README's
        // examples (Examples/; ReadmeExamplesTests checks every README Swift block is in one).
        .target(
            name: "GoAwayOpenAPI",
            dependencies: [
                "GoAwayKit",
                .product(name: "OpenAPIRuntime", package: "swift-openapi-runtime"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .target(
            name: "GoAwayHummingbird",
            dependencies: [
                "GoAwayKit",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Code generated once by swift-openapi-generator 1.14.3 from Examples/GreetingAPI/openapi.yaml
        // (committed: CI never builds the generator; see Examples/GreetingAPI/README.md).
        .target(
            name: "GreetingAPI",
            dependencies: [.product(name: "OpenAPIRuntime", package: "swift-openapi-runtime")],
            path: "Examples/GreetingAPI",
            exclude: ["openapi.yaml", "openapi-generator-config.yaml", "README.md"]
        ),
        .executableTarget(
            name: "example-server",
            dependencies: [
                "GoAwayKit",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Examples/example-server"
        ),
        .executableTarget(name: "example-client", dependencies: ["GoAwayKit"], path: "Examples/example-client"),
        .executableTarget(
            name: "example-openapi",
            dependencies: [
                "GoAwayKit", "GoAwayOpenAPI", "GreetingAPI",
                .product(name: "OpenAPIRuntime", package: "swift-openapi-runtime"),
            ],
            path: "Examples/example-openapi"
        ),
        .executableTarget(
            name: "example-hummingbird",
            dependencies: [
                "GoAwayKit", "GoAwayHummingbird",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Examples/example-hummingbird"
        ),
        .testTarget(
            name: "GoAwayOpenAPITests",
            dependencies: [
                "GoAwayKit", "GoAwayTesting", "GoAwayOpenAPI", "GreetingAPI",
                .product(name: "OpenAPIRuntime", package: "swift-openapi-runtime"),
            ]
        ),
        .testTarget(
            name: "GoAwayHummingbirdTests",
            dependencies: [
                "GoAwayKit", "GoAwayTesting", "GoAwayHummingbird",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdHTTP2", package: "hummingbird"),   // docs/hummingbird.md's facts
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
