// swift-tools-version: 6.2
import PackageDescription

/// Language settings shared by every target: Swift 6 mode with strict concurrency (the default in 6),
/// explicit `any`, imports that must be declared where used, and internal imports unless marked public.
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

// Linux only: the daemon is a systemd service (libsystemd, Glibc); no Apple platform is claimed.
let package = Package(
    name: "vigil",
    products: [
        .executable(name: "vigild", targets: ["vigild"]),
        .executable(name: "vigilctl", targets: ["vigilctl"]),
        .executable(name: "vigil-bench", targets: ["vigil-bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-configuration", from: "1.4.0", traits: ["YAML"]),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.4.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
        .package(url: "https://github.com/x-sheep/swift-property-based", from: "2.0.1"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.1"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
    ],
    targets: [
        // What this build is: the release version and the git commit (recorded by the BuildCommit plugin).
        .target(
            name: "VigilBuild",
            swiftSettings: swiftSettings,
            plugins: ["BuildCommit"]
        ),
        .plugin(name: "BuildCommit", capability: .buildTool()),
        // Pure values: JSON, envelopes, signatures, the event catalogue, validation, the key registry. No I/O.
        .target(
            name: "VigilModel",
            dependencies: [.product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: swiftSettings
        ),
        // The append-only, hash-chained log on SQLite, its group-commit writer, reads and the offline verifier.
        .target(
            name: "VigilStore",
            dependencies: [
                "VigilModel",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: swiftSettings
        ),
        // Decoding, parallel signature verification and validation in front of the store's writer.
        .target(
            name: "VigilIngest",
            dependencies: [
                "VigilModel", "VigilStore",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: swiftSettings
        ),
        // Read models that follow the log (checkpoints and digests), their queries, rebuild and the ledger export.
        .target(
            name: "VigilProjections",
            dependencies: [
                "VigilModel", "VigilStore",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // The safety rules, the time-driven scheduler, and delivery (journald, live stream, webhook and its outbox).
        .target(
            name: "VigilAlerts",
            dependencies: [
                "VigilModel", "VigilStore", "VigilProjections",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // Records for regulators and partners from the signed log: FHIR R4 with provenance.
        .target(
            name: "VigilExports",
            dependencies: [
                "VigilModel", "VigilStore", "VigilProjections",
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        // The daemon's configuration: file, embedded default and VIGIL_* environment overrides.
        .target(
            name: "VigilConfig",
            dependencies: [
                "VigilModel",
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: swiftSettings
        ),
        // HTTP routes, authentication, request and response types, error-to-status mapping.
        .target(
            name: "VigilHTTP",
            dependencies: [
                "VigilModel", "VigilStore", "VigilIngest", "VigilProjections", "VigilAlerts", "VigilExports",
                "VigilConfig", "VigilBuild",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: swiftSettings
        ),
        // The officers' web console: server-rendered pages from the read models, sign-in sessions, the vitals chart.
        .target(
            name: "VigilConsole",
            dependencies: [
                "VigilModel", "VigilStore", "VigilProjections", "VigilAlerts", "VigilConfig", "VigilHTTP",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            exclude: ["Assets"],
            swiftSettings: swiftSettings,
            plugins: ["EmbedAssets"]
        ),
        .plugin(name: "EmbedAssets", capability: .buildTool()),
        // libsystemd: sd_notify, sd_watchdog_enabled, sd_listen_fds, sd_journal_sendv.
        .systemLibrary(
            name: "CSystemd",
            pkgConfig: "libsystemd",
            providers: [.apt(["libsystemd-dev"])]
        ),
        // systemd-native operation: readiness and watchdog (sd_notify), the journal log handler, socket activation.
        .target(
            name: "VigilSystemd",
            dependencies: [
                "CSystemd",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // Wiring of the daemon: configuration to services, one ServiceGroup.
        .target(
            name: "VigilDaemon",
            dependencies: [
                "VigilModel", "VigilStore", "VigilIngest", "VigilConfig", "VigilHTTP", "VigilConsole", "VigilSystemd",
                "VigilProjections", "VigilAlerts", "VigilBuild", "VigilPostgres",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOExtras", package: "swift-nio-extras"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // A C2SP tlog-witness that cosigns a log's checkpoints while each extends the last (vigilctl witness).
        .target(
            name: "VigilWitness",
            dependencies: [
                "VigilModel",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // The store on PostgreSQL: its schema (append-only in the database too) and copies to and from SQLite.
        .target(
            name: "VigilPostgres",
            dependencies: [
                "VigilModel", "VigilStore",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // The operator and pharmacy command line.
        .target(
            name: "VigilCLI",
            dependencies: [
                "VigilModel", "VigilStore", "VigilConfig", "VigilProjections", "VigilAlerts", "VigilWitness",
                "VigilExports", "VigilBuild", "VigilPostgres",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "vigild",
            dependencies: [
                "VigilDaemon", "VigilSystemd", "VigilBuild",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "vigilctl",
            dependencies: ["VigilCLI", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: swiftSettings
        ),

        // The end-to-end load generator and baselines (docs/benchmarks.md). Apart from the tests.
        .executableTarget(
            name: "vigil-bench",
            dependencies: [
                "VigilModel", "VigilStore", "VigilProjections", "VigilAlerts", "VigilTestSupport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            path: "Benchmarks/VigilBench",
            swiftSettings: swiftSettings
        ),

        // The libFuzzer target over envelope and event decoding (scripts/fuzz).
        .executableTarget(
            name: "vigil-fuzz",
            dependencies: ["VigilModel"],
            path: "Fuzz/VigilFuzz",
            swiftSettings: swiftSettings
        ),

        .target(
            name: "VigilTestSupport",
            dependencies: [
                "VigilModel", "VigilStore", "VigilPostgres",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            path: "Tests/VigilTestSupport",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "VigilModelTests",
            dependencies: [
                "VigilModel", "VigilTestSupport",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ],
            exclude: ["Vectors", "JSONTestSuite"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "VigilConfigTests",
            dependencies: ["VigilConfig", "VigilModel", "VigilTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "VigilIngestTests",
            dependencies: [
                "VigilIngest", "VigilModel", "VigilStore", "VigilTestSupport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
                .product(name: "PropertyBased", package: "swift-property-based"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "VigilProjectionsTests",
            dependencies: [
                "VigilProjections", "VigilModel", "VigilStore", "VigilTestSupport",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "VigilAlertsTests",
            dependencies: [
                "VigilAlerts", "VigilModel", "VigilProjections", "VigilStore", "VigilTestSupport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "VigilExportsTests",
            dependencies: [
                "VigilExports", "VigilModel", "VigilStore", "VigilProjections", "VigilTestSupport",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "VigilStoreTests",
            dependencies: [
                "VigilModel", "VigilStore", "VigilTestSupport",
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "VigilPostgresTests",
            dependencies: [
                "VigilPostgres", "VigilModel", "VigilStore", "VigilTestSupport",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "VigilSystemdTests",
            dependencies: ["VigilSystemd", .product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "VigilHTTPTests",
            dependencies: [
                "VigilModel", "VigilStore", "VigilIngest", "VigilConfig", "VigilHTTP", "VigilConsole", "VigilDaemon",
                "VigilWitness", "VigilTestSupport",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "VigilEndToEndTests",
            dependencies: [
                "VigilModel", "VigilStore", "VigilConfig", "VigilCLI", "VigilPostgres", "VigilTestSupport",
                "vigild", "vigilctl",
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            exclude: ["Fixtures"],
            swiftSettings: swiftSettings
        ),
    ]
)
