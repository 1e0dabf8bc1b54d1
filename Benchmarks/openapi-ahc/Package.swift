// swift-tools-version:6.1
// The same generated OpenAPI client (Examples/GreetingAPI, linked here as GreetingAPIClient) over
// GoAwayClientTransport and over swift-openapi-async-http-client, under the same storm, for
// scripts/openapi-storm. A separate package so the main package never depends on AsyncHTTPClient.
import PackageDescription

let package = Package(
    name: "openapi-ahc",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "GoAwayKit", path: "../.."),
        .package(url: "https://github.com/apple/swift-openapi-runtime.git", exact: "1.13.4"),
        .package(url: "https://github.com/swift-server/swift-openapi-async-http-client.git", exact: "1.5.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", exact: "1.37.0"),
    ],
    targets: [
        .target(
            name: "GreetingAPIClient",
            dependencies: [.product(name: "OpenAPIRuntime", package: "swift-openapi-runtime")],
            exclude: ["openapi.yaml", "openapi-generator-config.yaml", "README.md"]
        ),
        .executableTarget(
            name: "openapi-storm",
            dependencies: [
                "GreetingAPIClient",
                .product(name: "GoAwayKit", package: "GoAwayKit"),
                .product(name: "GoAwayOpenAPI", package: "GoAwayKit"),
                .product(name: "OpenAPIRuntime", package: "swift-openapi-runtime"),
                .product(name: "OpenAPIAsyncHTTPClient", package: "swift-openapi-async-http-client"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
