// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "swiftdeploy",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "swiftdeploy", targets: ["swiftdeploy"]),
        .executable(name: "swiftdeploy-demo", targets: ["swiftdeploy-demo"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-certificates", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-asn1", from: "1.7.4"),
    ],
    targets: [
        .target(name: "Vocabulary", dependencies: [.product(name: "Crypto", package: "swift-crypto")]),
        .target(name: "Spawn", dependencies: ["CSpawn"]),
        .target(
            name: "Web",
            dependencies: [
                "Vocabulary",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        .target(name: "EdgeRules", dependencies: ["Vocabulary"]),
        .target(name: "Manifest", dependencies: ["Vocabulary", "EdgeRules", .product(name: "Yams", package: "Yams")]),
        .target(
            name: "Render", dependencies: ["Manifest", "Vocabulary", .product(name: "Yams", package: "Yams")],
            resources: [.embedInCode("OPA/authz.rego")]
        ),
        .target(name: "CRego", linkerSettings: [.linkedLibrary("dl")]),
        .target(name: "CSpawn"),
        .target(name: "CPrefetch"),
        .target(
            name: "Policy",
            dependencies: [
                "Manifest", "EdgeRules", "Telemetry", "Vocabulary", "Web", "CRego",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            resources: [
                .embedInCode("DefaultPolicies/infrastructure.rego"), .embedInCode("DefaultPolicies/infrastructure_test.rego"),
                .embedInCode("DefaultPolicies/canary_safety.rego"), .embedInCode("DefaultPolicies/canary_safety_test.rego"),
            ]
        ),
        .target(
            name: "Runtime",
            dependencies: [
                "Manifest", "Render", "Telemetry", "Vocabulary", "Spawn", "Web", "EdgeTLS",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ],
            resources: [.embedInCode("Images/demo.Dockerfile"), .embedInCode("Images/nginx.Dockerfile")]
        ),
        .target(name: "Telemetry", dependencies: ["Vocabulary", "EdgeRules"]),
        .target(
            name: "Detection",
            dependencies: ["Telemetry", "EdgeRules", "Vocabulary", "CPrefetch", .product(name: "Prometheus", package: "swift-prometheus")]
        ),
        .target(name: "Firewall", dependencies: ["Vocabulary", "Spawn"]),
        .target(name: "GuardStorage", dependencies: ["Detection", "Telemetry", "Vocabulary", .product(name: "GRDB", package: "GRDB.swift")]),
        .target(
            name: "TrafficScenarios",
            dependencies: ["Telemetry", "Manifest", "Vocabulary", .product(name: "Yams", package: "Yams")]
        ),
        .target(
            name: "GuardEvaluation",
            dependencies: ["Detection", "TrafficScenarios", "EdgeRules", "Telemetry", "Vocabulary", .product(name: "Yams", package: "Yams")]
        ),
        .target(
            name: "Dashboard",
            dependencies: [
                "Detection", "GuardStorage", "Telemetry", "Vocabulary",
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
            ],
            resources: [
                .embedInCode("Assets/index.html"), .embedInCode("Assets/app.js"), .embedInCode("Assets/app.css"),
                .embedInCode("Assets/login.html"),
            ]
        ),
        .target(
            name: "EdgeTLS",
            dependencies: [
                "Spawn",
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
            ]
        ),
        .target(
            name: "SharedDecisions",
            dependencies: [
                "Vocabulary",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "GuardService",
            dependencies: [
                "Detection", "Firewall", "GuardStorage", "Telemetry", "Manifest", "Vocabulary", "Spawn", "Web", "TrafficScenarios", "SharedDecisions",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            resources: [.embedInCode("Units/swiftdeploy-guard.service")]
        ),
        .target(
            name: "Deploy",
            dependencies: [
                "Manifest", "Render", "Policy", "Runtime", "Telemetry", "Vocabulary", "Spawn", "Web", "TrafficScenarios", "EdgeTLS",
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ],
            resources: [.embedInCode("Units/swiftdeploy-tls.path"), .embedInCode("Units/swiftdeploy-tls.service")]
        ),
        .target(
            name: "DemoService",
            dependencies: [
                "Telemetry", "Vocabulary",
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "swiftdeploy",
            dependencies: [
                "Manifest", "Render", "Policy", "Runtime", "Telemetry", "Vocabulary", "Spawn", "Detection", "Firewall", "GuardStorage", "GuardService", "Dashboard",
                "Deploy", "GuardEvaluation", "TrafficScenarios", "EdgeTLS",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(name: "FuzzDriver"),
        .executableTarget(name: "swiftdeploy-fuzz", dependencies: ["FuzzDriver", "EdgeRules", "Telemetry", "Manifest", "Vocabulary", "ReferenceParsers"]),
        // The plain, slow twins of the byte-level parsers, for the differential tests and fuzzers only.
        .target(name: "ReferenceParsers", dependencies: ["EdgeRules", "Telemetry", "Vocabulary"]),
        .executableTarget(
            name: "swiftdeploy-fuzz-dashboard",
            dependencies: [
                "FuzzDriver", "Vocabulary", "Detection", "Dashboard",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ]
        ),
        .executableTarget(
            name: "swiftdeploy-demo",
            dependencies: [
                "DemoService",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "TestSupport",
            dependencies: [
                "Spawn", "Runtime", "Policy", "Manifest", "Render", "Vocabulary",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            path: "Tests/TestSupport"
        ),
        .testTarget(name: "ManifestTests", dependencies: ["Manifest", "EdgeRules", "Telemetry"]),
        .testTarget(name: "EdgeTLSTests", dependencies: ["EdgeTLS", "Spawn", "TestSupport", "Web"]),
        .testTarget(name: "RenderTests", dependencies: ["Render", "Manifest", "Runtime", "Spawn", "TestSupport"], exclude: ["Golden", "compose-spec.json"]),
        .testTarget(
            name: "PolicyTests",
            dependencies: [
                "Policy", "Manifest", "Render", "Vocabulary", "Web", "TestSupport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ]
        ),
        .testTarget(name: "RuntimeTests", dependencies: ["Runtime", "Manifest", "Spawn", "TestSupport"]),
        .testTarget(name: "SpawnTests", dependencies: ["Spawn", "TestSupport"]),
        .testTarget(name: "SharedDecisionsTests", dependencies: ["SharedDecisions", "Vocabulary"]),
        .testTarget(
            name: "WebTests",
            dependencies: [
                "Web", "Vocabulary", "TestSupport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ]
        ),
        .testTarget(name: "VocabularyTests", dependencies: ["Vocabulary"]),
        .testTarget(name: "TelemetryTests", dependencies: ["Telemetry", "EdgeRules", "Vocabulary", "ReferenceParsers"]),
        .testTarget(name: "GuardTests", dependencies: ["Detection", "Firewall", "GuardStorage", "Telemetry", "Vocabulary"], exclude: ["Scenarios"]),
        .testTarget(
            name: "GuardServiceTests",
            dependencies: ["GuardService", "Detection", "Firewall", "GuardStorage", "Manifest", "SharedDecisions", "Vocabulary", "Spawn", "TestSupport", .product(name: "Logging", package: "swift-log")]
        ),
        .testTarget(name: "GuardEvaluationTests", dependencies: ["GuardEvaluation", "TrafficScenarios", "Detection", "Telemetry", "Vocabulary"]),
        .testTarget(
            name: "DashboardTests",
            dependencies: [
                "Dashboard", "Detection", "Telemetry", "Vocabulary", "TestSupport",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ]
        ),
        .testTarget(name: "DeployTests", dependencies: ["Deploy", "Policy", "Runtime", "Manifest", "Render", "Telemetry", "Vocabulary", "TestSupport", "Spawn"]),
        .testTarget(
            name: "DemoServiceTests",
            dependencies: [
                "DemoService", "Telemetry", "Vocabulary", "TestSupport",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ]
        ),
        .testTarget(
            name: "EndToEndTests",
            dependencies: [
                "TestSupport", "Detection", "Firewall", "GuardStorage", "GuardService", "Telemetry", "Vocabulary", "Spawn", "Deploy", "Manifest", "Runtime",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ],
            exclude: ["Browser"]
        ),
    ]
)
