import ArgumentParser
import Foundation
import Detection
import GuardService
import TrafficScenarios
import Vocabulary

extension GuardCommand {
    /// `guard bench [MODE]`: the guard's benchmarks, one subcommand each; plain `guard bench` is the ingest one.
    struct Bench: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "bench", abstract: "The guard's benchmarks (default: ingest).",
            subcommands: [Ingest.self, Latency.self, Flood.self, Apply.self, WriteLog.self, Shared.self], defaultSubcommand: Ingest.self)
    }
}

/// Generated lines: how many, from how many addresses.
struct GeneratedLines: ParsableArguments {
    @Option(help: "Lines to generate.") var lines: Int = 1_000_000
    @Option(help: "Distinct client addresses.") var ips: Int = 50_000
}

extension GuardCommand.Bench {
    struct Ingest: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Parse + windows + detection over generated JSON lines, in process on one core; prints lines/s and peak RSS.")
        @OptionGroup var generated: GeneratedLines
        @Flag(help: "Without the cohort watch (what cohorts cost).") var noCohorts = false

        func run() async throws {
            var config = GuardConfig()
            if noCohorts { config.cohorts = nil }
            let figures = IngestBenchmark.run(lines: max(1, generated.lines), ips: max(1, generated.ips), config: config)
            print(String(format: "guard bench: %d lines from %d IPs in %.3f s = %.0f lines/s on one core; peak RSS %.1f MB; %d clients tracked, %d bans",
                         figures.lines, generated.ips, figures.seconds, figures.linesPerSecond, figures.peakRSSMB, figures.trackedClients, figures.bans))
        }
    }

    struct Latency: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "A line appended to a real file → its decision, at 2,000 lines/s for 5 s.")

        func run() async throws {
            let figures = try await IngestBenchmark.latency(rate: 2000, seconds: 5)
            print(String(format: "guard bench latency: %d lines appended at 2000/s, line written → decision: p50 %.1f ms, p99 %.1f ms, max %.1f ms",
                         figures.lines, figures.p50MS, figures.p99MS, figures.maxMS))
        }
    }

    struct Flood: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The live daemon under a flood (--rate lines/s in one write a second for --seconds, a 2,000 req/s flooder among them), then reading --lines waiting lines after a restart.")
        @OptionGroup var generated: GeneratedLines
        @Option(help: "Lines per second.") var rate: Int = 150_000
        @Option(help: "Seconds of flood.") var seconds: Int = 10

        func run() async throws {
            try await Failure.reporting {
                let figures = try await FloodBenchmark.run(rate: max(1, rate), seconds: seconds, backlog: max(1, generated.lines), ips: max(1, generated.ips))
                print(String(format: "guard bench flood: %d bursts of %d lines, one write a second: each read within p50 %.2f s, max %.2f s of its write; "
                             + "2,000 req/s flooder banned %@ after its first line; peak RSS %.1f MB",
                             figures.bursts, figures.linesPerBurst, figures.readP50, figures.readMax,
                             figures.timeToBan.map { String(format: "%.2f s", $0) } ?? "never", figures.peakRSSMB))
                print(String(format: "guard bench flood: restart with %d lines waiting: all read in %.2f s = %.0f lines/s on the daemon's one thread",
                             figures.backlogLines, figures.backlogSeconds, Double(figures.backlogLines) / figures.backlogSeconds))
            }
        }
    }

    struct Apply: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Apply this many bans to nftables in one transaction (root; run it in a network namespace of its own).")
        @Argument(help: "Bans to apply.") var bans: Int

        func run() async throws {
            try await Failure.reporting {
                let figures = try FirewallBenchmark.apply(max(1, bans))
                print(String(format: "guard bench apply: %d bans into nftables in one transaction in %.3f s; %d in the kernel set",
                             figures.bans, figures.seconds, figures.inKernel))
            }
        }
    }

    struct WriteLog: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "write-log", abstract: "Write the generated lines to a file (for timing `guard replay` as a whole process, and the fuzzers' seeds).")
        @Argument(help: "The file to write.") var file: String
        @OptionGroup var generated: GeneratedLines
        @Option(help: "json, combined, combined_xff, common or vhost_combined.") var format: String = "json"

        func validate() throws {
            guard AccessLogFormat(rawValue: format) != nil else {
                throw ValidationError("--format must be one of \(AccessLogFormat.allCases.map(\.rawValue).joined(separator: ", "))")
            }
        }

        func run() async throws {
            try await Failure.reporting {
                let chosen = AccessLogFormat(rawValue: format) ?? .json
                var writer = try LineWriter(path: file)
                for chunk in stride(from: 0, to: generated.lines, by: 100_000) {
                    writer.append(IngestBenchmark.generate(lines: chunk..<min(generated.lines, chunk + 100_000), ips: max(1, generated.ips), format: chosen))
                }
                try writer.close()
                print("guard bench: wrote \(generated.lines) \(chosen.rawValue) lines from \(generated.ips) IPs to \(file)")
            }
        }
    }

    struct Shared: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write --lines decisions from --edges concurrent edges to a guard.shared database (password from SWIFTDEPLOY_GUARD_DB_PASSWORD).")
        @Argument(help: "The database URL (postgres://…).") var url: String
        @Option(help: "Decisions to write.") var lines: Int = 60_000
        @Option(help: "Concurrent edges.") var edges: Int = 3

        func run() async throws {
            try await Failure.reporting {
                let figures = try await SharedBenchmark.publish(url: url, decisions: max(1, lines), edges: max(1, edges))
                print(String(format: "guard bench shared: %d decisions from %d edges in %.3f s: %.0f decisions/s",
                             figures.decisions, figures.edges, figures.seconds, figures.perSecond))
            }
        }
    }
}
